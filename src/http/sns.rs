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
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    ApiError, AppState, ErrorBody, WebhookAck,
    delivery::{self, Source, read_limited},
};
use crate::{
    bus::Outgoing,
    event::{EventEnvelope, Origin, jira},
    metrics::ReasonLabels,
    verify::sns::{MessageType, SnsMessage, SnsVerifyError},
};

const MESSAGE_TYPE_HEADER: &str = "x-amz-sns-message-type";
const TOPIC_ARN_HEADER: &str = "x-amz-sns-topic-arn";
const RAW_DELIVERY_HEADER: &str = "x-amz-sns-rawdelivery";

/// An SNS message as SNS POSTs it to an HTTP/S subscription (SNS labels it `text/plain`; the
/// gateway reads the body whatever the content type). Documentation only: the handler parses
/// the raw body itself, keeping every signed string exactly as received.
#[derive(Serialize, ToSchema)]
#[serde(tag = "Type")]
#[allow(dead_code)]
enum SnsDelivery {
    Notification(SnsNotification),
    SubscriptionConfirmation(SnsConfirmation),
    UnsubscribeConfirmation(SnsConfirmation),
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct SnsNotification {
    /// Unique per message and the same across SNS's retries: the dedupe key.
    #[schema(min_length = 1, max_length = 256)]
    message_id: String,
    /// Must be in `sns_topic_arns`.
    topic_arn: String,
    subject: Option<String>,
    /// The published message: Jira Automation's `{"automationData": {"IssueId": "SEC-1"}}`,
    /// its "Issue data (Jira format)", or a Jira webhook body.
    message: String,
    timestamp: String,
    /// `1` (SHA1withRSA) or `2` (SHA256withRSA).
    signature_version: String,
    /// Base64 RSA signature over the string to sign.
    signature: String,
    /// https, `sns.<region>.amazonaws.com[.cn]`, path ending `.pem`.
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    #[serde(rename = "UnsubscribeURL")]
    unsubscribe_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct SnsConfirmation {
    #[schema(min_length = 1, max_length = 256)]
    message_id: String,
    token: String,
    /// Must be in `sns_topic_arns`.
    topic_arn: String,
    message: String,
    /// Visited to confirm a subscription (same host rules as the certificate URL).
    #[serde(rename = "SubscribeURL")]
    subscribe_url: String,
    timestamp: String,
    /// `1` (SHA1withRSA) or `2` (SHA256withRSA).
    signature_version: String,
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
}

/// Receives a message from an SNS HTTP/S subscription (typically Jira Automation's "Send
/// message to Amazon SNS topic"): verifies SNS's signature, confirms subscriptions to allowed
/// topics, and queues a Notification as a normalized event. Real SNS also sends
/// `x-amz-sns-message-type` (which must agree with `Type`); raw message delivery
/// (`x-amz-sns-rawdelivery: true`) is refused.
#[utoipa::path(operation_id = "receive_sns_message", post, path = "/webhooks/sns", tag = "webhooks",
    request_body(content = SnsDelivery, content_type = "application/json",
        description = "The SNS message envelope (SNS sends it as `text/plain; charset=UTF-8`)"),
    responses(
        (status = 202, description = "Notification verified and durably queued", body = WebhookAck),
        (status = 200, description = "Duplicate MessageId, project not configured, subscription confirmed, or unsubscribe acknowledged", body = WebhookAck),
        (status = 400, description = "Not an SNS message, x-amz-sns-message-type disagrees with Type, raw delivery, or an unknown Message shape", body = ErrorBody),
        (status = 401, description = "Bad signature, unsupported SignatureVersion, refused SigningCertURL or SubscribeURL, or an unusable certificate", body = ErrorBody),
        (status = 403, description = "Topic not in sns_topic_arns", body = ErrorBody),
        (status = 409, description = "A copy of this message is still being accepted; retry", body = ErrorBody),
        (status = 413, description = "Body over the configured limit", body = ErrorBody),
        (status = 503, description = "Certificate host, SubscribeURL, queue or state store unavailable; retry", body = ErrorBody),
    ))]
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
    let body = read_limited(&headers, body, state.webhook_body_limit).await?;
    let msg = SnsMessage::parse(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    check_headers_agree(&headers, &msg)?;

    let sns = &state.sns;
    sns.verifier
        .precheck(&msg)
        .map_err(|e| verification_failed(&state, &msg, e))?;

    if !sns.topic_arns.iter().any(|t| t.as_str() == msg.topic_arn) {
        state.metrics.sns_topic_refused.inc();
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
            state.metrics.sns_unsubscribe_confirmations.inc();
            tracing::warn!(
                topic_arn = msg.topic_arn,
                message_id = msg.message_id,
                "sns UnsubscribeConfirmation received: this gateway no longer receives the \
                 topic's messages; resubscribe it if that was not intended"
            );
            Ok(ack("acknowledged"))
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

fn ack(status: &'static str) -> Response {
    let body = WebhookAck {
        status,
        event_ids: Vec::new(),
        reason: None,
    };
    (StatusCode::OK, Json(body)).into_response()
}

fn count_failure(state: &AppState, reason: &'static str) {
    state
        .metrics
        .verification_failures
        .get_or_create(&ReasonLabels {
            source: "sns",
            reason,
        })
        .inc();
}

fn verification_failed(state: &AppState, msg: &SnsMessage, e: SnsVerifyError) -> ApiError {
    count_failure(state, e.reason());
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
        count_failure(state, "subscribe_url_refused");
        tracing::warn!(topic_arn = msg.topic_arn, reason = %e, "sns SubscribeURL refused");
        ApiError::Unauthorized(format!("SubscribeURL refused: {e}"))
    })?;
    verifier.confirm(&url).await.map_err(|e| {
        // SNS resends the confirmation on a 5xx; a lost confirmation would leave the topic
        // silently unsubscribed.
        tracing::error!(topic_arn = msg.topic_arn, error = %e, "cannot confirm sns subscription");
        ApiError::Unavailable(format!("cannot confirm the subscription: {e}"))
    })?;
    state.metrics.sns_confirmations.inc();
    tracing::info!(
        topic_arn = msg.topic_arn,
        message_id = msg.message_id,
        "sns subscription confirmed"
    );
    Ok(ack("confirmed"))
}
