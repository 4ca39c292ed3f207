//! `POST /webhooks/jira`: admin webhooks and Automation web requests.

use axum::{
    Json,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState, Counters};
use crate::{
    bus::Outgoing,
    event::{EventEnvelope, Origin, jira},
    intake::Accepted,
    verify::jira::JiraAuth,
};

const DELIVERY_ID_HEADER: &str = "x-atlassian-webhook-identifier";

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let limit = state.jira.config.max_body_bytes;
    let body = read_limited(&headers, body, limit).await?;

    let auth = state.jira.verifier.verify(&headers, &body).map_err(|e| {
        Counters::bump(&state.counters.verification_failures);
        tracing::warn!(reason = e.reason(), "jira delivery failed verification");
        ApiError::Unauthorized(e)
    })?;

    let (event, origin) = match auth {
        JiraAuth::AdminWebhook => (jira::from_webhook(&body), Origin::JiraWebhook),
        JiraAuth::Automation => (jira::from_automation(&body), Origin::JiraAutomation),
    };
    let event = event.map_err(|e| ApiError::BadRequest(e.to_string()))?;

    let delivery_id = headers
        .get(DELIVERY_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("body-sha256:{}", hex::encode(Sha256::digest(&body))));

    let project = event.jira_project().unwrap_or("");
    let allowed = &state.jira.config.project_keys;
    if !allowed.is_empty() && !allowed.iter().any(|k| k.as_str() == project) {
        Counters::bump(&state.counters.ignored_project);
        tracing::info!(
            delivery_id,
            project,
            issue_key = event.jira_issue_key(),
            reason = "project not configured",
            "jira delivery ignored"
        );
        return Ok((
            StatusCode::OK,
            Json(json!({"status": "ignored", "reason": "project not configured"})),
        ));
    }

    let envelope = EventEnvelope::new(origin, delivery_id.clone(), event);
    let (event_id, event_type) = (envelope.id, envelope.event.type_name());
    let outgoing = vec![Outgoing {
        envelope,
        raw: Some(body),
    }];
    match state
        .intake
        .accept(&format!("jira:{delivery_id}"), outgoing)
        .await?
    {
        Accepted::Published(ids) => {
            Counters::bump(&state.counters.accepted);
            tracing::info!(delivery_id, %event_id, event_type, "jira delivery accepted and queued");
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"status": "accepted", "event_ids": ids})),
            ))
        }
        Accepted::Duplicate => {
            Counters::bump(&state.counters.duplicates);
            tracing::info!(delivery_id, "duplicate jira delivery acknowledged");
            Ok((StatusCode::OK, Json(json!({"status": "duplicate"}))))
        }
    }
}

/// Reads the body, refusing with 413 as soon as it is known to exceed `limit`: from
/// `Content-Length` before reading anything, otherwise while streaming.
async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
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
