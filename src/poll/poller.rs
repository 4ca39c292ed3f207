//! The SIR poller: the safety net under native events, and the only source where they are not
//! routed. One run pages through ListCases (25 a page), compares each case's
//! `lastUpdatedDate` with its watermark ([`super::watermark`]) and publishes a
//! `sir.case.changed` event (origin `sir_poller`) only for the cases that differ: N cases with
//! k changes cost ⌈N/25⌉ ListCases calls, ⌈N/25⌉ batched store reads and k events, and no
//! GetCase at all (the consumer fetches the changed cases). A case that closes changes its
//! `lastUpdatedDate` once, so it is reported once, then never again.
//!
//! The first run on a store without a baseline is a backfill: every case is unseen and its
//! event says `backfill`. Runs hold a store lease so one replica polls at a time; the replica
//! that holds it keeps it (renewed every page and run) and another takes over only when it
//! stops renewing. Each run records `poller.last_run` for the admin status.
//!
//! Deployments: the embedded and container ones run [`Poller::run`] in-process; a scheduled
//! Lambda calls [`poll_once`].

use std::{collections::HashSet, sync::Arc, time::Duration};

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::watermark;
use crate::{
    bus::{BusError, EventBus, Outgoing},
    event::{
        Event, EventEnvelope, Origin,
        sir::{CaseChange, CaseChanged},
    },
    metrics::{Metrics, PollLabels},
    schedule::{ReplicaLease, run_every},
    sir::{CaseSummary, SirApi, SirError},
    store::{StateStore, StoreError},
};

/// The store lease one polling replica holds.
pub const LEASE: &str = "sir.poller";
/// The last run's outcome (JSON `{"at": …, "result": …}`), for `/v1/status`.
pub const LAST_RUN: &str = "poller.last_run";
/// Set when a run first completes: runs before it are the initial backfill.
pub const BASELINE: &str = "sir.poller.baseline";

#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    #[error(transparent)]
    Sir(#[from] SirError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot publish case events: {0}")]
    Bus(#[from] BusError),
    #[error("the poller lease was taken over during the run")]
    LeaseLost,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    /// The initial backfill (the store had no baseline).
    pub backfill: bool,
    /// ListCases calls made.
    pub pages: u64,
    /// Cases listed.
    pub cases: u64,
    /// Cases whose event was published.
    pub changed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    Polled(PollReport),
    /// Another replica holds the lease.
    Skipped,
}

pub struct Poller {
    sir: Arc<dyn SirApi>,
    store: Arc<dyn StateStore>,
    bus: Arc<dyn EventBus>,
    metrics: Arc<Metrics>,
    lease: ReplicaLease,
}

impl Poller {
    pub fn new(
        sir: Arc<dyn SirApi>,
        store: Arc<dyn StateStore>,
        bus: Arc<dyn EventBus>,
        metrics: Arc<Metrics>,
        lease_ttl: Duration,
    ) -> Self {
        Self {
            lease: ReplicaLease::new(store.clone(), LEASE, lease_ttl),
            sir,
            store,
            bus,
            metrics,
        }
    }

    /// Who holds the lease when this poller does.
    pub fn owner(&self) -> &str {
        self.lease.owner()
    }

    /// One run if this replica holds (or can take) the lease, which it keeps afterwards.
    pub async fn run_once(&self) -> Result<PollOutcome, PollerError> {
        if !self.lease.hold().await? {
            tracing::debug!(owner = %self.lease.owner(), "another replica holds the poller lease");
            self.count("skipped");
            return Ok(PollOutcome::Skipped);
        }
        let started = std::time::Instant::now();
        let mut report = PollReport::default();
        let result = self.scan(&mut report).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let record = match &result {
            Ok(()) => json!({
                "at": now(), "result": "ok", "backfill": report.backfill, "pages": report.pages,
                "cases": report.cases, "changed": report.changed, "duration_ms": elapsed_ms,
            }),
            Err(e) => json!({
                "at": now(), "result": "failed", "error": e.to_string(), "backfill": report.backfill,
                "pages": report.pages, "cases": report.cases, "changed": report.changed,
                "duration_ms": elapsed_ms,
            }),
        };
        if let Err(e) = self
            .store
            .put_checkpoint(LAST_RUN, &record.to_string())
            .await
        {
            tracing::warn!(error = %e, "cannot record the poller's last run");
        }
        match result {
            Ok(()) => {
                tracing::info!(
                    backfill = report.backfill,
                    pages = report.pages,
                    cases = report.cases,
                    changed = report.changed,
                    duration_ms = elapsed_ms,
                    "SIR poll done"
                );
                self.count("ok");
                Ok(PollOutcome::Polled(report))
            }
            Err(e) => {
                // Watermarks only move after publishing: the next run picks up where this
                // one stopped, and nothing is lost.
                tracing::warn!(error = %e, pages = report.pages, changed = report.changed, "SIR poll failed; the next run catches up");
                self.count("failed");
                Err(e)
            }
        }
    }

    /// Gives the lease up (shutdown), so another replica polls without waiting for it to
    /// expire.
    pub async fn release(&self) {
        self.lease.release().await;
    }

    /// Runs every `interval` until `stop`; a run in progress when `stop` fires is abandoned
    /// (safe: what it published is watermarked, the rest is found again).
    pub async fn run(self, interval: Duration, stop: CancellationToken) {
        tracing::info!(interval_secs = interval.as_secs(), owner = %self.lease.owner(), "SIR poller started");
        // Outcomes are logged and recorded by `run_once`.
        run_every(interval, &stop, || self.run_once()).await;
        self.release().await;
        tracing::info!("SIR poller stopped");
    }

    async fn scan(&self, report: &mut PollReport) -> Result<(), PollerError> {
        report.backfill = self.store.checkpoint(BASELINE).await?.is_none();
        let change = match report.backfill {
            true => CaseChange::Backfill,
            false => CaseChange::Polled,
        };
        let mut token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        loop {
            let page = self.sir.list_cases(token.take()).await?;
            report.pages += 1;
            report.cases += page.cases.len() as u64;
            let published = publish_changed(
                self.bus.as_ref(),
                self.store.as_ref(),
                &page.cases,
                change,
                false,
            )
            .await?;
            report.changed += published;
            self.metrics.sir_poll_changed_cases.inc_by(published);
            // Renewed every page: a long run keeps the lease, and a replica that lost it
            // (stalled past the TTL) stops rather than poll alongside the new holder.
            if !self.lease.hold().await? {
                return Err(PollerError::LeaseLost);
            }
            match page.next_token {
                // A repeated token would page forever.
                Some(next) if seen_tokens.insert(next.clone()) => token = Some(next),
                _ => break,
            }
        }
        if report.backfill {
            self.store.put_checkpoint(BASELINE, &now()).await?;
        }
        Ok(())
    }

    fn count(&self, result: &'static str) {
        self.metrics
            .sir_poll_runs
            .get_or_create(&PollLabels { result })
            .inc();
    }
}

/// One run for a scheduled invocation (the poller Lambda): takes the lease, polls, and gives
/// the lease back, since the next invocation may run elsewhere.
pub async fn poll_once(poller: &Poller) -> Result<PollOutcome, PollerError> {
    let outcome = poller.run_once().await;
    if matches!(outcome, Ok(PollOutcome::Polled(_)) | Err(_)) {
        poller.release().await;
    }
    outcome
}

/// Publishes a `sir.case.changed` event for each listed case that changed since its
/// watermark (every case with `all`), then moves their watermarks. Returns how many.
pub(crate) async fn publish_changed(
    bus: &dyn EventBus,
    store: &dyn StateStore,
    cases: &[CaseSummary],
    change: CaseChange,
    all: bool,
) -> Result<u64, PollerError> {
    let marks = match all {
        true => Default::default(),
        false => watermark::load(store, cases).await?,
    };
    let changed: Vec<&CaseSummary> = cases
        .iter()
        .filter(|c| all || watermark::changed(c, &marks))
        .collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let events: Vec<Outgoing> = changed.iter().map(|c| case_event(c, change)).collect();
    bus.publish(&events).await?;
    watermark::record(store, &changed).await?;
    for c in &changed {
        tracing::debug!(case_id = %c.id, change = ?change, last_updated = %watermark::format(c.last_updated), "case change published");
    }
    Ok(changed.len() as u64)
}

/// The event for a case as listed. The delivery id names the case and the state seen, so the
/// same state reported twice is recognisably the same delivery.
pub(crate) fn case_event(case: &CaseSummary, change: CaseChange) -> Outgoing {
    let last_updated = watermark::format(case.last_updated);
    let prefix = match change {
        CaseChange::Backfill => "sir-backfill",
        _ => "sir-poll",
    };
    Outgoing {
        envelope: EventEnvelope::new(
            Origin::SirPoller,
            format!("{prefix}:{}:{last_updated}", case.id),
            Event::SirCaseChanged(CaseChanged {
                case_id: case.id.to_string(),
                change,
                actor: None,
                last_updated: Some(last_updated),
            }),
        ),
        raw: None,
    }
}

fn now() -> String {
    watermark::format(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::{
        db::Db,
        sir::{Case, CaseComment, CaseId, CasePage, CaseStatus, CaseUpdate, NewCase},
        store::SqliteStore,
    };

    /// A SIR whose ListCases always hands back the same token, as a buggy paginator might.
    struct RepeatingToken {
        calls: Mutex<u32>,
    }

    #[async_trait]
    impl SirApi for RepeatingToken {
        async fn list_cases(&self, _: Option<String>) -> Result<CasePage, SirError> {
            *self.calls.lock().unwrap() += 1;
            Ok(CasePage {
                cases: vec![CaseSummary {
                    id: CaseId::parse("1234567890").unwrap(),
                    title: None,
                    status: None,
                    last_updated: OffsetDateTime::UNIX_EPOCH,
                    closed: None,
                }],
                next_token: Some("same".into()),
                total: None,
            })
        }
        async fn get_case(&self, _: &CaseId) -> Result<Case, SirError> {
            unimplemented!("the poller never calls GetCase")
        }
        async fn create_case(&self, _: &NewCase, _: &str) -> Result<CaseId, SirError> {
            unimplemented!()
        }
        async fn list_comments(&self, _: &CaseId) -> Result<Vec<CaseComment>, SirError> {
            unimplemented!()
        }
        async fn update_case(&self, _: &CaseId, _: &CaseUpdate) -> Result<(), SirError> {
            unimplemented!()
        }
        async fn update_case_status(&self, _: &CaseId, _: CaseStatus) -> Result<(), SirError> {
            unimplemented!()
        }
        async fn close_case(&self, _: &CaseId) -> Result<(), SirError> {
            unimplemented!()
        }
        async fn create_comment(&self, _: &CaseId, _: &str, _: &str) -> Result<String, SirError> {
            unimplemented!()
        }
        async fn update_comment(&self, _: &CaseId, _: &str, _: &str) -> Result<(), SirError> {
            unimplemented!()
        }
        async fn attachment_download_url(&self, _: &CaseId, _: &str) -> Result<String, SirError> {
            unimplemented!()
        }
        async fn attachment_upload_url(
            &self,
            _: &CaseId,
            _: &str,
            _: u64,
            _: &str,
        ) -> Result<String, SirError> {
            unimplemented!()
        }
    }

    struct NullBus;

    #[async_trait]
    impl EventBus for NullBus {
        async fn publish(&self, _: &[Outgoing]) -> Result<(), BusError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_repeated_token_ends_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::new(Db::open(&dir.path().join("s")).unwrap()));
        let sir = Arc::new(RepeatingToken {
            calls: Mutex::new(0),
        });
        let poller = Poller::new(
            sir.clone(),
            store,
            Arc::new(NullBus),
            Arc::new(Metrics::new()),
            Duration::from_secs(60),
        );
        let PollOutcome::Polled(report) = poller.run_once().await.unwrap() else {
            panic!("skipped");
        };
        assert_eq!(report.pages, 2, "the first page, then the repeat");
        assert_eq!(report.changed, 1);
        assert_eq!(*sir.calls.lock().unwrap(), 2);
    }
}
