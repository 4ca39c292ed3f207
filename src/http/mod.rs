//! The HTTP gateway: one route table, one state, one error type.

mod error;
mod health;
mod jira;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    Router,
    routing::{get, post},
};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

pub use error::ApiError;

use crate::{config::IntakeConfig, intake::Intake, store::StateStore, verify::jira::JiraVerifier};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub intake: Intake,
    pub store: Arc<dyn StateStore>,
    pub jira: Arc<JiraIntake>,
    pub counters: Arc<Counters>,
}

/// Settings of the Jira route, fixed at start-up.
pub struct JiraIntake {
    pub verifier: JiraVerifier,
    pub config: IntakeConfig,
}

/// Counters of what the gateway refused or dropped (exported by the metrics endpoint later).
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub ignored_project: AtomicU64,
    pub verification_failures: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/webhooks/jira", post(jira::receive))
        .with_state(state)
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
}
