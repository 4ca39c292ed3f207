use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use super::{case_id, issue_key};
use crate::{
    bus::Outgoing,
    event::{Event, EventEnvelope, Origin, SyncCaseRequest, SyncIssueRequest},
    http::{ApiError, AppState, ErrorBody, extract::Path},
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ResyncQueued {
    pub event_id: String,
}

/// Queues a full sync of one SIR case to its Jira issue.
#[utoipa::path(operation_id = "resync_case", post, path = "/resync/cases/{case_id}", tag = "admin", security(("admin_token" = [])),
    params(("case_id" = String, Path, pattern = r"^[0-9]{10,32}$")),
    responses(
        (status = 202, description = "Accepted", body = ResyncQueued),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn case(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ResyncQueued>), ApiError> {
    let id = case_id(&id)?.to_owned();
    queue(
        &state,
        Event::SyncCaseRequested(SyncCaseRequest { case_id: id }),
    )
    .await
}

/// Queues a full sync of one Jira issue to its SIR case.
#[utoipa::path(operation_id = "resync_issue", post, path = "/resync/issues/{issue_key}", tag = "admin", security(("admin_token" = [])),
    params(("issue_key" = String, Path, pattern = r"^[A-Z][A-Z0-9_]*-[0-9]+$")),
    responses(
        (status = 202, description = "Accepted", body = ResyncQueued),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<(StatusCode, Json<ResyncQueued>), ApiError> {
    let key = issue_key(&key)?.to_owned();
    queue(
        &state,
        Event::SyncIssueRequested(SyncIssueRequest { issue_key: key }),
    )
    .await
}

async fn queue(
    state: &AppState,
    event: Event,
) -> Result<(StatusCode, Json<ResyncQueued>), ApiError> {
    let envelope = EventEnvelope::new(Origin::AdminApi, "admin".into(), event);
    let event_id = envelope.id.to_string();
    state
        .bus
        .publish(&[Outgoing {
            envelope,
            raw: None,
        }])
        .await?;
    tracing::info!(%event_id, "resync requested");
    Ok((StatusCode::ACCEPTED, Json(ResyncQueued { event_id })))
}
