//! `POST /webhooks/jira`: admin webhooks and Automation web requests.

use axum::{body::Body, extract::State, http::HeaderMap, response::Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{
    ApiError, AppState, ErrorBody,
    delivery::{self, Source, read_limited},
};
use crate::{
    bus::Outgoing,
    event::{EventEnvelope, Origin, jira},
    metrics::ReasonLabels,
    verify::jira::DeliveryProof,
};

const DELIVERY_ID_HEADER: &str = "x-atlassian-webhook-identifier";

/// What the gateway answers a delivery it did not refuse.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// `accepted`, `duplicate` or `ignored`; on the SNS route also `confirmed` (subscription)
    /// and `acknowledged` (UnsubscribeConfirmation).
    pub status: &'static str,
    /// Ids of the events put on the bus (`accepted` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub event_ids: Vec<String>,
    /// Why the delivery was dropped (`ignored` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Receives a Jira admin webhook (signed with `X-Hub-Signature`) or a Jira Automation "Send web
/// request" (authenticated by the shared-secret header), and queues it as a normalized event.
#[utoipa::path(operation_id = "receive_jira_webhook", post, path = "/webhooks/jira", tag = "webhooks",
    params(
        ("X-Hub-Signature" = Option<String>, Header,
            description = "`sha256=<hex HMAC-SHA256 of the raw body>` with the webhook secret (admin webhooks)"),
        ("X-Automation-Secret" = Option<String>, Header,
            description = "The Automation shared secret (header name configurable with `automation_header`)"),
        ("X-Atlassian-Webhook-Identifier" = Option<String>, Header,
            description = "Delivery id, the same across Jira's retries: the dedupe key (the body hash when absent)"),
    ),
    request_body(content = std::collections::HashMap<String, serde_json::Value>, content_type = "application/json",
        description = "A Jira webhook payload (`webhookEvent` …), or for Automation: the webhook shape, `{\"issue\": …}`, a bare issue, or `{\"automationData\": {\"IssueId\": \"SEC-1\"}}`"),
    responses(
        (status = 202, description = "Accepted and durably queued", body = WebhookAck),
        (status = 200, description = "Duplicate of an accepted delivery, or ignored (project not configured)", body = WebhookAck),
        (status = 400, description = "Malformed JSON or an unknown payload shape", body = ErrorBody),
        (status = 401, description = "Missing or wrong signature or secret, or an unsupported signature method", body = ErrorBody),
        (status = 409, description = "A copy of this delivery is still being accepted; retry", body = ErrorBody),
        (status = 413, description = "Body over the configured limit", body = ErrorBody),
        (status = 503, description = "Queue or state store unavailable; retry", body = ErrorBody),
    ))]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limit = state.webhook_body_limit;
    let body = read_limited(&headers, body, limit).await?;

    let auth = state.jira.verifier.verify(&headers, &body).map_err(|e| {
        state
            .metrics
            .verification_failures
            .get_or_create(&ReasonLabels {
                source: "jira",
                reason: e.reason(),
            })
            .inc();
        tracing::warn!(reason = e.reason(), "jira delivery failed verification");
        ApiError::Unauthorized(e.to_string())
    })?;

    let (event, origin) = match auth {
        DeliveryProof::AdminWebhook => (jira::from_webhook(&body), Origin::JiraWebhook),
        DeliveryProof::Automation => (jira::from_automation(&body), Origin::JiraAutomation),
    };
    let event = event.map_err(|e| ApiError::BadRequest(e.to_string()))?;

    let delivery_id = headers
        .get(DELIVERY_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("body-sha256:{}", hex::encode(Sha256::digest(&body))));

    if let Some(ignored) =
        delivery::ignore_other_projects(&state, &event, Source::Jira, &delivery_id)
    {
        return Ok(ignored);
    }

    let key = event
        .change_key()
        .unwrap_or_else(|| format!("jira:{delivery_id}"));
    let envelope = EventEnvelope::new(origin, delivery_id.clone(), event);
    let outgoing = vec![Outgoing {
        envelope,
        raw: Some(body),
    }];
    delivery::accept(&state, Source::Jira, &key, &delivery_id, outgoing).await
}
