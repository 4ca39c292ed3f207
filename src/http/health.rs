use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::peers::Peer;

fn credentials_reason(state: &AppState) -> Option<&'static str> {
    if state.peers.get(Peer::Jira).credentials_refused {
        Some("jira refuses the integration's credentials (401/403): events wait; see /v1/status")
    } else if state.peers.get(Peer::Sir).credentials_refused {
        Some("sir refuses the integration's credentials: events wait; see /v1/status")
    } else {
        None
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `unavailable`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The process is alive and serving HTTP.
#[utoipa::path(operation_id = "healthz", get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        reason: None,
    })
}

/// The process can accept work: the state store answers.
///
/// Still ready, with a reason, while a peer refuses the integration's credentials: webhooks are still accepted and queued, and the
/// events wait for the token to be fixed.
#[utoipa::path(operation_id = "readyz", get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The state store is unreachable", body = Health),
    ))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ready",
                reason: credentials_reason(&state),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    reason: Some("state store unreachable"),
                }),
            )
        }
    }
}
