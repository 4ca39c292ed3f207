//! `POST /webhooks/jira`: admin webhooks and Automation web requests.

use axum::{body::Body, extract::State, http::HeaderMap, response::Response};
use sha2::{Digest, Sha256};

use super::{
    ApiError, AppState, Counters,
    delivery::{self, Source, read_limited},
};
use crate::{
    bus::Outgoing,
    event::{EventEnvelope, Origin, jira},
    verify::jira::JiraAuth,
};

const DELIVERY_ID_HEADER: &str = "x-atlassian-webhook-identifier";

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limit = state.jira.config.max_body_bytes;
    let body = read_limited(&headers, body, limit).await?;

    let auth = state.jira.verifier.verify(&headers, &body).map_err(|e| {
        Counters::bump(&state.counters.verification_failures);
        tracing::warn!(reason = e.reason(), "jira delivery failed verification");
        ApiError::Unauthorized(e.to_string())
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

    if let Some(ignored) =
        delivery::ignore_other_projects(&state, &event, Source::Jira, &delivery_id)
    {
        return Ok(ignored);
    }

    let envelope = EventEnvelope::new(origin, delivery_id.clone(), event);
    let outgoing = vec![Outgoing {
        envelope,
        raw: Some(body),
    }];
    let key = format!("jira:{delivery_id}");
    delivery::accept(&state, Source::Jira, &key, &delivery_id, outgoing).await
}
