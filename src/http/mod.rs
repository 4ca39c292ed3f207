//! The HTTP gateway: one route table, one state, one error type.

mod delivery;
mod error;
mod health;
mod jira;
mod sns;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    routing::{get, post},
};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

pub use error::ApiError;

use crate::{
    config::{IntakeConfig, SnsConfig},
    domain::TopicArn,
    intake::Intake,
    store::StateStore,
    verify::{
        jira::JiraVerifier,
        sns::{Fetcher, SnsVerifier, UrlRules},
    },
};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub intake: Intake,
    pub store: Arc<dyn StateStore>,
    pub jira: Arc<JiraIntake>,
    pub sns: Arc<SnsIntake>,
    pub counters: Arc<Counters>,
}

/// Settings of the Jira route, fixed at start-up.
pub struct JiraIntake {
    pub verifier: JiraVerifier,
    pub config: IntakeConfig,
}

/// Settings of the SNS route, fixed at start-up. Body limit and project filter are the Jira
/// route's (`jira.config`): the same deliveries, by another path.
pub struct SnsIntake {
    pub verifier: SnsVerifier,
    /// Topics whose messages are accepted; empty refuses all.
    pub topic_arns: Vec<TopicArn>,
}

impl SnsIntake {
    /// `fetcher` is how certificates and SubscribeURLs are fetched: HTTP in the service.
    pub fn new(config: &SnsConfig, fetcher: Arc<dyn Fetcher>) -> SnsIntake {
        SnsIntake {
            verifier: SnsVerifier::new(
                UrlRules::new(config.extra_cert_hosts.clone()),
                fetcher,
                config.cert_cache_size,
                config.cert_cache_ttl,
            ),
            topic_arns: config.topic_arns.clone(),
        }
    }
}

/// Counters of what the gateway refused or dropped (exported by the metrics endpoint later).
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub ignored_project: AtomicU64,
    pub verification_failures: AtomicU64,
    /// SNS subscriptions confirmed by visiting their SubscribeURL.
    pub sns_confirmations: AtomicU64,
    /// SNS UnsubscribeConfirmation messages seen (logged, never acted on).
    pub sns_unsubscribe_confirmations: AtomicU64,
    /// SNS messages from topics outside the allow-list.
    pub sns_topic_refused: AtomicU64,
    /// SNS messages refused by verification, by reason (`bad_signature`, `cert_url_refused`, …).
    pub sns_verification_failures: ReasonCounts,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts by a short static reason label.
#[derive(Debug, Default)]
pub struct ReasonCounts(Mutex<BTreeMap<&'static str, u64>>);

impl ReasonCounts {
    pub fn bump(&self, reason: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    pub fn get(&self, reason: &str) -> u64 {
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(reason).copied().unwrap_or(0)
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/webhooks/jira", post(jira::receive))
        .route("/webhooks/sns", post(sns::receive))
        .with_state(state)
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
}
