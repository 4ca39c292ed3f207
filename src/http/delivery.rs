//! Steps every webhook route shares: reading a bounded body, the project filter, and handing
//! the events to the intake with the same answers and metrics.

use axum::{
    Json,
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use bytes::BytesMut;
use http_body_util::BodyExt;

use super::{ApiError, AppState, WebhookAck};
use crate::{
    bus::Outgoing,
    event::Event,
    intake::Accepted,
    metrics::{EventLabels, ReasonLabels, SourceLabels},
};

/// How much of an oversized body is read and thrown away before the 413. A client that writes
/// its whole body before reading (Python's urllib and http.client, many others) would otherwise
/// meet a reset connection instead of the answer, and a sender retries a connection error,
/// where it gives up on a 413.
const DRAIN_LIMIT: u64 = 4 * 1024 * 1024;

/// Reads the body, refusing with 413 once it is known to exceed `limit` (from `Content-Length`,
/// or while reading). Before refusing, it drains what is left of the body, up to
/// [`DRAIN_LIMIT`] in all, so the client reads the answer.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    if let Some(declared) = declared.filter(|&n| n > limit as u64) {
        // Past the drain limit the connection closes anyway: reading would only cost.
        if declared <= DRAIN_LIMIT {
            drain(&mut body, 0).await;
        }
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // Most bodies arrive in one frame: kept as is, copied only when a second one comes.
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::BadRequest(format!("cannot read request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read += data.len();
        if read > limit {
            drain(&mut body, read as u64).await;
            return Err(ApiError::PayloadTooLarge { limit });
        }
        match first.take() {
            None if rest.is_empty() => first = Some(data),
            None => rest.extend_from_slice(&data),
            Some(head) => {
                rest.extend_from_slice(&head);
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

/// Reads and discards the rest of `body` until it ends, fails, or [`DRAIN_LIMIT`] bytes (with
/// the `read` already) have gone; past that the connection is closed after the answer.
async fn drain(body: &mut Body, mut read: u64) {
    while read < DRAIN_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            Some(Err(_)) | None => return,
        }
    }
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
