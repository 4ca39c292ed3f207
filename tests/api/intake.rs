//! Acceptance when the bus or the store fails: the sender gets a 5xx and its retry succeeds.
//! Driven through the router with `oneshot`, with the failing part swapped in at the seam.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_trait::async_trait;
use axum::{body::Body, http::Request};
use sir_jira_bridge::{
    bus::{BusError, EmbeddedQueue, EventBus, Outgoing},
    config::{Config, IntakeConfig, Settings},
    db::Db,
    http::{AppState, JiraIntake, Services, SnsIntake, router},
    intake::Intake,
    metrics::Metrics,
    peers::PeerHealth,
    secret::Secret,
    store::{SqliteStore, StateStore},
    verify::{
        jira::{JiraVerifier, sign},
        sns::{Fetcher, HttpFetcher},
    },
};
use std::time::Duration;

use sir_jira_bridge::store::{
    Claim, DeadLetter, InsertOutcome, LedgerEntry, Link, Mapping, Side, StoreError,
};
use tower::ServiceExt;

use crate::helpers::*;

/// A bus that is down until switched on, then hands events to a real embedded queue.
pub struct FlakyBus {
    pub up: AtomicBool,
    inner: Arc<EmbeddedQueue>,
}

#[async_trait]
impl EventBus for FlakyBus {
    async fn publish(&self, events: &[Outgoing]) -> Result<(), BusError> {
        if self.up.load(Ordering::SeqCst) {
            self.inner.publish(events).await
        } else {
            Err(BusError::Unavailable("connection refused".into()))
        }
    }
}

pub struct Parts {
    pub state: AppState,
    pub bus: Arc<FlakyBus>,
    pub queue: Arc<EmbeddedQueue>,
    _dir: tempfile::TempDir,
}

pub fn parts() -> Parts {
    parts_with(|_| {}, Arc::new(HttpFetcher::new(None)))
}

/// The app's state over a bus that is down until `bus.up` is set; SNS fetches go to `fetcher`.
pub fn parts_with(customize: impl FnOnce(&mut Settings), fetcher: Arc<dyn Fetcher>) -> Parts {
    build_parts(customize, fetcher, None)
}

/// [`parts`] with `store` as the state store (the queue keeps its own file).
fn parts_with_store(store: Arc<dyn StateStore>) -> Parts {
    build_parts(|_| {}, Arc::new(HttpFetcher::new(None)), Some(store))
}

fn build_parts(
    customize: impl FnOnce(&mut Settings),
    fetcher: Arc<dyn Fetcher>,
    store: Option<Arc<dyn StateStore>>,
) -> Parts {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    customize(&mut settings);
    let config = Config::from_settings(settings).unwrap();
    let db = Db::open(&config.database_path()).unwrap();
    let store: Arc<dyn StateStore> =
        store.unwrap_or_else(|| Arc::new(SqliteStore::new(db.clone())));
    let queue = Arc::new(EmbeddedQueue::new(db, config.queue.clone()));
    let bus = Arc::new(FlakyBus {
        up: AtomicBool::new(false),
        inner: queue.clone(),
    });
    let metrics = Arc::new(Metrics::new());
    let state = AppState::new(Services {
        intake: Intake::new(store.clone(), bus.clone(), config.intake.dedupe_ttl),
        store,
        bus: bus.clone(),
        event_log: Some(queue.clone()),
        jira: Arc::new(jira_intake(config.intake)),
        sns: Arc::new(SnsIntake::new(&config.sns, fetcher, &metrics)),
        webhook_body_limit: config.server.webhook_body_limit,
        metrics,
        peers: Arc::new(PeerHealth::default()),
        admin_token: None,
        metrics_require_token: false,
        doctor: None,
        console: Default::default(),
    });
    Parts {
        state,
        bus,
        queue,
        _dir: dir,
    }
}

fn jira_intake(config: IntakeConfig) -> JiraIntake {
    JiraIntake {
        verifier: JiraVerifier::new(
            vec![Secret::new(SECRET_NEW)],
            config.automation_header.clone(),
            None,
        ),
        config,
    }
}

fn signed(body: &[u8], delivery: &str) -> Request<Body> {
    Request::post("/webhooks/jira")
        .header("x-atlassian-webhook-identifier", delivery)
        .header("x-hub-signature", sign(SECRET_NEW, body))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

#[tokio::test]
async fn bus_down_gives_503_and_the_retry_is_accepted_not_deduped() {
    let p = parts();
    let body = fixture("issue_created.json");
    let r = router(p.state.clone())
        .oneshot(signed(&body, "flaky-1"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(p.queue.stats().await.unwrap().ready, 0);

    p.bus.up.store(true, Ordering::SeqCst);
    let r = router(p.state.clone())
        .oneshot(signed(&body, "flaky-1"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(p.queue.stats().await.unwrap().ready, 1);
}

/// A store whose every call fails, as when DynamoDB or the disk is gone.
struct DeadStore;

#[async_trait]
impl StateStore for DeadStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Err(down())
    }
    async fn claim_delivery(&self, _: &str, _: Duration) -> Result<Claim, StoreError> {
        Err(down())
    }
    async fn confirm_delivery(&self, _: &str, _: Duration) -> Result<(), StoreError> {
        Err(down())
    }
    async fn release_delivery(&self, _: &str) -> Result<(), StoreError> {
        Err(down())
    }
    async fn insert_mapping(&self, _: &Mapping) -> Result<InsertOutcome, StoreError> {
        Err(down())
    }
    async fn mapping_by_case(&self, _: &str) -> Result<Option<Mapping>, StoreError> {
        Err(down())
    }
    async fn mapping_by_issue(&self, _: &str) -> Result<Option<Mapping>, StoreError> {
        Err(down())
    }
    async fn list_mappings(&self, _: Option<&str>, _: usize) -> Result<Vec<Mapping>, StoreError> {
        Err(down())
    }
    async fn ledger(&self, _: Side, _: &str) -> Result<Option<LedgerEntry>, StoreError> {
        Err(down())
    }
    async fn put_ledger(&self, _: &LedgerEntry) -> Result<(), StoreError> {
        Err(down())
    }
    async fn link(&self, _: &str, _: &str, _: &str) -> Result<Option<Link>, StoreError> {
        Err(down())
    }
    async fn put_link(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &serde_json::Value,
        _: Option<u64>,
    ) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn links(&self, _: &str, _: &str) -> Result<Vec<Link>, StoreError> {
        Err(down())
    }
    async fn checkpoint(&self, _: &str) -> Result<Option<String>, StoreError> {
        Err(down())
    }
    async fn put_checkpoint(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(down())
    }
    async fn acquire_lease(&self, _: &str, _: &str, _: Duration) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn release_lease(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(down())
    }
    async fn put_dead_letter(&self, _: &DeadLetter) -> Result<(), StoreError> {
        Err(down())
    }
    async fn list_dead_letters(
        &self,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        Err(down())
    }
    async fn dead_letter(&self, _: &str) -> Result<Option<DeadLetter>, StoreError> {
        Err(down())
    }
    async fn delete_dead_letter(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn put_blob(&self, _: &str, _: &[u8], _: Duration) -> Result<(), StoreError> {
        Err(down())
    }
    async fn blob(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Err(down())
    }
}

fn down() -> StoreError {
    StoreError::Unavailable("disk gone".into())
}

#[tokio::test]
async fn store_down_gives_503_on_webhooks_and_readyz_but_healthz_stays_up() {
    let p = parts_with_store(Arc::new(DeadStore));
    let state = p.state.clone();
    p.bus.up.store(true, Ordering::SeqCst);

    let r = router(state.clone())
        .oneshot(signed(&fixture("issue_created.json"), "dead-1"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let ready = router(state.clone())
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let health = router(state)
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(p.queue.stats().await.unwrap().ready, 0);
}
