//! Steps every webhook route shares: reading a bounded body, the project filter, and handing
//! the events to the intake with the same answers and metrics.

use axum::{
    Json,
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{ApiError, AppState, WebhookAck};
use crate::{
    bus::Outgoing,
    event::Event,
    intake::Accepted,
    metrics::{EventLabels, ReasonLabels, SourceLabels},
};

/// Reads the body, refusing with 413 as soon as it is known to exceed `limit`: from
/// `Content-Length` before reading anything, otherwise while streaming.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadRequest(format!("cannot read request body: {e}"))
        }
    })
}

/// Which route a delivery came in by: the `source` label of the metrics. Log lines keep their
/// per-route wording (operators and the process tests look for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Jira,
    Sns,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Jira => "jira",
            Source::Sns => "sns",
        }
    }
}

/// `Some(answer)` when the event's project is not configured: the delivery is acknowledged
/// (so the sender does not retry) and dropped.
pub fn ignore_other_projects(
    state: &AppState,
    event: &Event,
    source: Source,
    delivery_id: &str,
) -> Option<Response> {
    let project = event.jira_project().unwrap_or("");
    let allowed = &state.jira.config.project_keys;
    if allowed.is_empty() || allowed.iter().any(|k| k.as_str() == project) {
        return None;
    }
    state
        .metrics
        .ignored
        .get_or_create(&ReasonLabels {
            source: source.label(),
            reason: "project_not_configured",
        })
        .inc();
    let issue_key = event.jira_issue_key();
    let reason = "project not configured";
    match source {
        Source::Jira => {
            tracing::info!(
                delivery_id,
                project,
                issue_key,
                reason,
                "jira delivery ignored"
            )
        }
        Source::Sns => {
            tracing::info!(
                delivery_id,
                project,
                issue_key,
                reason,
                "sns delivery ignored"
            )
        }
    }
    Some(ack(StatusCode::OK, "ignored", Vec::new(), Some(reason)))
}

/// Dedupes on `key` and queues the events: 202 once they are durably queued, 200 for a
/// delivery already accepted.
pub async fn accept(
    state: &AppState,
    source: Source,
    key: &str,
    delivery_id: &str,
    outgoing: Vec<Outgoing>,
) -> Result<Response, ApiError> {
    let summary: Vec<(String, &'static str)> = outgoing
        .iter()
        .map(|o| (o.envelope.id.to_string(), o.envelope.event.type_name()))
        .collect();
    match state.intake.accept(key, outgoing).await? {
        Accepted::Published(ids) => {
            for (event_id, event_type) in &summary {
                state
                    .metrics
                    .accepted
                    .get_or_create(&EventLabels { event_type })
                    .inc();
                match source {
                    Source::Jira => tracing::info!(
                        delivery_id,
                        event_id,
                        event_type,
                        "jira delivery accepted and queued"
                    ),
                    Source::Sns => tracing::info!(
                        delivery_id,
                        event_id,
                        event_type,
                        "sns delivery accepted and queued"
                    ),
                }
            }
            Ok(ack(StatusCode::ACCEPTED, "accepted", ids, None))
        }
        Accepted::Duplicate => {
            state
                .metrics
                .duplicates
                .get_or_create(&SourceLabels {
                    source: source.label(),
                })
                .inc();
            match source {
                Source::Jira => tracing::info!(delivery_id, "duplicate jira delivery acknowledged"),
                Source::Sns => tracing::info!(delivery_id, "duplicate sns delivery acknowledged"),
            }
            Ok(ack(StatusCode::OK, "duplicate", Vec::new(), None))
        }
    }
}

fn ack(
    status: StatusCode,
    outcome: &'static str,
    event_ids: Vec<String>,
    reason: Option<&'static str>,
) -> Response {
    let body = WebhookAck {
        status: outcome,
        event_ids,
        reason,
    };
    (status, Json(body)).into_response()
}
