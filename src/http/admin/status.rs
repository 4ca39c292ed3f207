use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    http::{ApiError, AppState, ErrorBody},
    peers::{Peer, PeerState},
    sync::reconciler,
};

// Named `Status` in the API document (a doc comment here would change its description).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Status)]
pub struct ServiceStatus {
    pub version: &'static str,
    /// The embedded queue; absent when the bus keeps no queue here (EventBridge).
    pub queue: Option<QueueStatus>,
    pub poller: PollerStatus,
    pub reconciler: ReconcilerStatus,
    pub peers: Peers,
    pub sync: SyncStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStatus {
    /// Jira changes (comments, edits, status moves) made after their SIR case was closed, since
    /// this process started: SIR cannot take them, so they stay in Jira only (not retried, never
    /// dead letters).
    pub not_applicable: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStatus {
    /// Events waiting or being processed.
    pub depth: u64,
    pub ready: u64,
    pub leased: u64,
    pub done: u64,
    pub dead: u64,
    /// Age of the oldest event not yet processed, in seconds.
    pub oldest_pending_age_secs: Option<f64>,
    /// Events accepted in each of the last 60 minutes, oldest first; the last entry is the
    /// minute in progress.
    pub events_per_minute: Vec<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PollerStatus {
    /// The poller's last run and its result, as it recorded them; absent until it has run.
    pub last_run: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconcilerStatus {
    /// The Jira reconciler's last run as it recorded it (pages, issues found, compared,
    /// deferred to their webhooks, recovered); absent until it has run.
    pub last_run: Option<serde_json::Value>,
    /// Changes it recovered over the last day that no webhook had delivered: more than zero
    /// means webhooks are being lost (see `doctor`).
    pub recovered_last_day: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Peers {
    pub jira: PeerState,
    pub sir: PeerState,
}

/// Queue depth, oldest pending age, the poller's last run, peers' health and the version.
#[utoipa::path(operation_id = "get_status", get, path = "/status", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 200, description = "OK", body = ServiceStatus),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody), (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn status(State(state): State<AppState>) -> Result<Json<ServiceStatus>, ApiError> {
    let queue = match &state.event_log {
        Some(log) => {
            let s = log.stats().await?;
            let events_per_minute = log.per_minute(60).await?;
            Some(QueueStatus {
                depth: s.ready + s.leased,
                ready: s.ready,
                leased: s.leased,
                done: s.done,
                dead: s.dead,
                oldest_pending_age_secs: s.oldest_pending_ms.map(|ms| ms as f64 / 1000.0),
                events_per_minute,
            })
        }
        None => None,
    };
    let record = |v: String| serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
    let last_run = state
        .store
        .checkpoint(crate::poll::poller::LAST_RUN)
        .await?
        .map(record);
    let reconciler = ReconcilerStatus {
        last_run: state
            .store
            .checkpoint(reconciler::LAST_RUN)
            .await?
            .map(record),
        recovered_last_day: reconciler::recovered_last_day(state.store.as_ref()).await?,
    };
    Ok(Json(ServiceStatus {
        version: env!("CARGO_PKG_VERSION"),
        queue,
        poller: PollerStatus { last_run },
        reconciler,
        peers: Peers {
            jira: state.peers.get(Peer::Jira),
            sir: state.peers.get(Peer::Sir),
        },
        sync: SyncStatus {
            not_applicable: state.metrics.not_applicable.get(),
        },
    }))
}
