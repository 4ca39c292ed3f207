//! `POST /webhooks/sns`: an SNS HTTP/S subscription, typically carrying the messages of Jira
//! Automation's "Send message to Amazon SNS topic" action.
//!
//! Order matters: everything that needs no network (body, shape, signature version,
//! certificate URL, topic allow-list) is checked before the certificate is fetched, so a
//! forged or unwanted message never makes the gateway reach out.

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde_json::json;

use super::{
    ApiError, AppState, Counters,
    delivery::{self, Source, read_limited},
};
use crate::{
    bus::Outgoing,
    event::{EventEnvelope, Origin, jira},
    verify::sns::{MessageType, SnsMessage, SnsVerifyError},
};

const MESSAGE_TYPE_HEADER: &str = "x-amz-sns-message-type";
const TOPIC_ARN_HEADER: &str = "x-amz-sns-topic-arn";
const RAW_DELIVERY_HEADER: &str = "x-amz-sns-rawdelivery";

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // A raw delivery is the bare message without SNS's envelope or signature: nothing about
    // it can be verified, so it is refused before reading it.
    if headers
        .get(RAW_DELIVERY_HEADER)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
    {
        return Err(ApiError::BadRequest(
            "raw message delivery (x-amz-sns-rawdelivery: true) carries no SNS signature and is \
             refused: turn off RawMessageDelivery on the subscription"
                .into(),
        ));
    }
    let body = read_limited(&headers, body, state.jira.config.max_body_bytes).await?;
    let msg = SnsMessage::parse(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    check_headers_agree(&headers, &msg)?;

    let sns = &state.sns;
    sns.verifier
        .precheck(&msg)
        .map_err(|e| verification_failed(&state, &msg, e))?;

    if !sns.topic_arns.iter().any(|t| t.as_str() == msg.topic_arn) {
        Counters::bump(&state.counters.sns_topic_refused);
        tracing::warn!(
            topic_arn = msg.topic_arn,
            message_type = msg.kind.as_str(),
            message_id = msg.message_id,
            "sns message from a topic not in sns_topic_arns refused"
        );
        return Err(ApiError::Forbidden(if sns.topic_arns.is_empty() {
            "no SNS topic is allowed: set sns_topic_arns".into()
        } else {
            format!("topic {} is not in sns_topic_arns", msg.topic_arn)
        }));
    }

    sns.verifier
        .verify(&msg)
        .await
        .map_err(|e| verification_failed(&state, &msg, e))?;

    match msg.kind {
        MessageType::Notification => notification(&state, msg, body).await,
        MessageType::SubscriptionConfirmation => confirm_subscription(&state, &msg).await,
        MessageType::UnsubscribeConfirmation => {
            // Someone unsubscribed the gateway (or asked SNS to). Visiting the SubscribeURL
            // would resubscribe it: that is an operator's decision, so it is only reported.
            Counters::bump(&state.counters.sns_unsubscribe_confirmations);
            tracing::warn!(
                topic_arn = msg.topic_arn,
                message_id = msg.message_id,
                "sns UnsubscribeConfirmation received: this gateway no longer receives the \
                 topic's messages; resubscribe it if that was not intended"
            );
            Ok((StatusCode::OK, Json(json!({"status": "acknowledged"}))).into_response())
        }
    }
}

/// Real SNS always sends these headers; when present they must describe the same message as
/// the (signed) body, or something between SNS and the gateway is confused or malicious.
fn check_headers_agree(headers: &HeaderMap, msg: &SnsMessage) -> Result<(), ApiError> {
    let disagrees = |name: &str, value: &str| {
        headers
            .get(name)
            .is_some_and(|h| h.as_bytes() != value.as_bytes())
    };
    if disagrees(MESSAGE_TYPE_HEADER, msg.kind.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "header {MESSAGE_TYPE_HEADER} does not match the message Type `{}`",
            msg.kind.as_str()
        )));
    }
    if disagrees(TOPIC_ARN_HEADER, &msg.topic_arn) {
        return Err(ApiError::BadRequest(format!(
            "header {TOPIC_ARN_HEADER} does not match the message TopicArn"
        )));
    }
    Ok(())
}

fn verification_failed(state: &AppState, msg: &SnsMessage, e: SnsVerifyError) -> ApiError {
    Counters::bump(&state.counters.verification_failures);
    state.counters.sns_verification_failures.bump(e.reason());
    tracing::warn!(
        reason = e.reason(),
        error = %e,
        topic_arn = msg.topic_arn,
        message_id = msg.message_id,
        "sns message failed verification"
    );
    if e.is_transient() {
        // The certificate host did not answer: the message may be genuine, so SNS must retry.
        ApiError::Unavailable(e.to_string())
    } else {
        ApiError::Unauthorized(e.to_string())
    }
}

async fn notification(
    state: &AppState,
    msg: SnsMessage,
    body: Bytes,
) -> Result<Response, ApiError> {
    let event = jira::from_automation(msg.message.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("SNS Message: {e}")))?;
    let delivery_id = msg.message_id;
    if let Some(ignored) = delivery::ignore_other_projects(state, &event, Source::Sns, &delivery_id)
    {
        return Ok(ignored);
    }
    let envelope = EventEnvelope::new(Origin::JiraAutomationSns, delivery_id.clone(), event);
    // The whole SNS delivery is kept: replaying it can be verified again.
    let outgoing = vec![Outgoing {
        envelope,
        raw: Some(body),
    }];
    let key = format!("sns:{delivery_id}");
    delivery::accept(state, Source::Sns, &key, &delivery_id, outgoing).await
}

async fn confirm_subscription(state: &AppState, msg: &SnsMessage) -> Result<Response, ApiError> {
    let verifier = &state.sns.verifier;
    let url = verifier.subscribe_url(msg).map_err(|e| {
        state
            .counters
            .sns_verification_failures
            .bump("subscribe_url_refused");
        tracing::warn!(topic_arn = msg.topic_arn, reason = %e, "sns SubscribeURL refused");
        ApiError::Unauthorized(format!("SubscribeURL refused: {e}"))
    })?;
    verifier.confirm(&url).await.map_err(|e| {
        // SNS resends the confirmation on a 5xx; a lost confirmation would leave the topic
        // silently unsubscribed.
        tracing::error!(topic_arn = msg.topic_arn, error = %e, "cannot confirm sns subscription");
        ApiError::Unavailable(format!("cannot confirm the subscription: {e}"))
    })?;
    Counters::bump(&state.counters.sns_confirmations);
    tracing::info!(
        topic_arn = msg.topic_arn,
        message_id = msg.message_id,
        "sns subscription confirmed"
    );
    Ok((StatusCode::OK, Json(json!({"status": "confirmed"}))).into_response())
}
