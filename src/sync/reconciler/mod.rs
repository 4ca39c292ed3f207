//! The Jira reconciler: the Jira side's safety net, as the SIR poller is SIR's. Jira retries a
//! failed webhook delivery for a limited time only, and a disabled or edited webhook delivers
//! nothing; the reconciler finds what they lost.
//!
//! Every interval one search asks for the configured project's issues updated since the last
//! run began, less an overlap (Jira documents that its search may miss recent updates; JQL's
//! relative dates count whole minutes; the clocks differ), oldest first, with the fields the
//! issue → case sync applies, comments and attachments. An issue already reconciled at its
//! current `updated` (a per-issue mark in the store) costs nothing more; any other is compared
//! with the ledgers ([`diff`]) and each difference is published as the event its lost webhook
//! would have carried, so the issue → case sync applies it once and idempotently. A change
//! younger than the grace period is left to its webhook for one more run, and the watermark
//! stays before it. With nothing changed a run costs one search call for the whole site.
//!
//! Runs hold a store lease, so one replica reconciles at a time. Each run records
//! [`LAST_RUN`] for `/v1/status`, and the changes it recovered over the last day in
//! [`RECOVERED`], which `doctor` reads: recovered changes mean webhooks are being lost.

mod diff;

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{
    bus::{BusError, EventBus},
    db::now_ms,
    domain::ProjectKey,
    jira::{
        JiraError, OwnAccount,
        api::{JiraApi, SearchCursor},
    },
    metrics::{Metrics, PollLabels},
    schedule::{ReplicaLease, run_every},
    store::{StateStore, StoreError},
};

/// The store lease one reconciling replica holds.
pub const LEASE: &str = "jira.reconciler";
/// Milliseconds since the epoch: where the last complete run's search began.
pub const WATERMARK: &str = "jira.reconciler.watermark";
/// The last run's outcome (JSON), for `/v1/status`.
pub const LAST_RUN: &str = "jira.reconciler.last_run";
/// `[[run_at_ms, recovered], …]` of the last day's runs that recovered something.
pub const RECOVERED: &str = "jira.reconciler.recovered";

/// How far back the first run ever searches (there is no watermark yet).
const FIRST_LOOKBACK: Duration = Duration::from_secs(86_400);
/// Pages one run reads at most (100 issues each); the rest waits for the next run.
const MAX_PAGES: u32 = 50;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("Jira search: {0}")]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot publish recovered events: {0}")]
    Bus(#[from] BusError),
    #[error("the reconciler lease was taken over during the run")]
    LeaseLost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilerSettings {
    pub interval: Duration,
    pub overlap: Duration,
    pub grace: Duration,
    /// Longer than the interval: the replica that reconciles keeps the lease between runs.
    pub lease_ttl: Duration,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// Search calls made.
    pub pages: u64,
    /// Issues the search returned.
    pub issues: u64,
    /// Issues changed since their last reconcile that were compared with the ledgers.
    pub compared: u64,
    /// Issues changed too recently: left to their webhooks until the next run.
    pub deferred: u64,
    /// Events published for changes the case had not received (no webhook brought them).
    pub recovered: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconcileOutcome {
    Reconciled(ReconcileReport),
    /// Another replica holds the lease, or (scheduled runs) the interval has not passed.
    Skipped,
}

pub struct JiraReconciler {
    jira: Arc<dyn JiraApi>,
    account: Arc<OwnAccount>,
    store: Arc<dyn StateStore>,
    bus: Arc<dyn EventBus>,
    metrics: Arc<Metrics>,
    project: ProjectKey,
    settings: ReconcilerSettings,
    lease: ReplicaLease,
}

impl JiraReconciler {
    pub fn new(
        jira: Arc<dyn JiraApi>,
        account: Arc<OwnAccount>,
        store: Arc<dyn StateStore>,
        bus: Arc<dyn EventBus>,
        metrics: Arc<Metrics>,
        project: ProjectKey,
        settings: ReconcilerSettings,
    ) -> Self {
        Self {
            lease: ReplicaLease::new(store.clone(), LEASE, settings.lease_ttl),
            jira,
            account,
            store,
            bus,
            metrics,
            project,
            settings,
        }
    }

    /// One run if this replica holds (or can take) the lease, which it keeps afterwards.
    pub async fn run_once(&self) -> Result<ReconcileOutcome, ReconcileError> {
        if !self.lease.hold().await? {
            tracing::debug!(owner = %self.lease.owner(), "another replica holds the reconciler lease");
            self.count("skipped");
            return Ok(ReconcileOutcome::Skipped);
        }
        let started = std::time::Instant::now();
        let mut report = ReconcileReport::default();
        let result = self.scan(&mut report).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut record = json!({
            "at": now_ms(), "result": "ok", "pages": report.pages, "issues": report.issues,
            "compared": report.compared, "deferred": report.deferred,
            "recovered": report.recovered, "duration_ms": duration_ms,
        });
        if let Err(e) = &result {
            record["result"] = json!("failed");
            record["error"] = json!(e.to_string());
        }
        if let Err(e) = self.record(&record, report.recovered).await {
            tracing::warn!(error = %e, "cannot record the reconciler's run");
        }
        match result {
            Ok(()) => {
                tracing::info!(
                    pages = report.pages,
                    issues = report.issues,
                    compared = report.compared,
                    deferred = report.deferred,
                    recovered = report.recovered,
                    duration_ms,
                    "Jira reconcile done"
                );
                if report.recovered > 0 {
                    tracing::warn!(
                        recovered = report.recovered,
                        "the Jira reconciler recovered changes no webhook delivered: check the Jira webhook's registration (doctor)"
                    );
                }
                self.count("ok");
                Ok(ReconcileOutcome::Reconciled(report))
            }
            Err(e) => {
                // The watermark moves only after a complete run: the next one searches again.
                tracing::warn!(error = %e, pages = report.pages, recovered = report.recovered, "Jira reconcile failed; the next run catches up");
                self.count("failed");
                Err(e)
            }
        }
    }

    /// One run when the interval has passed since the last one (a schedule that fires more
    /// often than the interval, such as the poller Lambda's), then gives the lease back, since
    /// the next invocation may run elsewhere.
    pub async fn run_if_due(&self) -> Result<ReconcileOutcome, ReconcileError> {
        let last = last_run_at(self.store.as_ref()).await?;
        let interval_ms = i64::try_from(self.settings.interval.as_millis()).unwrap_or(i64::MAX);
        if last.is_some_and(|at| now_ms() - at < interval_ms) {
            return Ok(ReconcileOutcome::Skipped);
        }
        let outcome = self.run_once().await;
        if matches!(outcome, Ok(ReconcileOutcome::Reconciled(_)) | Err(_)) {
            self.release().await;
        }
        outcome
    }

    /// Gives the lease up (shutdown), so another replica reconciles without waiting for it to
    /// expire.
    pub async fn release(&self) {
        self.lease.release().await;
    }

    /// Runs at once, then every interval, until `stop`: a restart catches up straight away.
    pub async fn run(self, stop: CancellationToken) {
        let interval = self.settings.interval;
        tracing::info!(interval_secs = interval.as_secs(), owner = %self.lease.owner(), "Jira reconciler started");
        // Outcomes are logged and recorded by `run_once`.
        run_every(interval, &stop, || self.run_once()).await;
        self.release().await;
        tracing::info!("Jira reconciler stopped");
    }

    async fn scan(&self, report: &mut ReconcileReport) -> Result<(), ReconcileError> {
        let started_ms = now_ms();
        let since_ms = match self.store.checkpoint(WATERMARK).await? {
            Some(mark) => mark.parse::<i64>().unwrap_or(started_ms) - millis(self.settings.overlap),
            None => started_ms - millis(FIRST_LOOKBACK),
        };
        // Relative to Jira's clock and in whole minutes, rounded out: no time zone to get
        // wrong (absolute JQL dates are read in the searching user's zone).
        let minutes = ((started_ms - since_ms).max(1) as u64).div_ceil(60_000);
        let jql = format!(
            "project = \"{}\" AND updated >= \"-{minutes}m\" ORDER BY updated ASC",
            self.project
        );
        let own = self.account.try_get().await?.to_owned();
        let grace_ms = millis(self.settings.grace);
        // The next run starts where this one began, or before the oldest change it left.
        let mut next_watermark = started_ms;
        let mut cursor: Option<SearchCursor> = None;
        let mut complete = false;
        let mut last_seen: Option<i64> = None;
        for _ in 0..MAX_PAGES {
            let page = self.jira.search_page(&jql, cursor.as_ref()).await?;
            report.pages += 1;
            report.issues += page.issues.len() as u64;
            let keys: Vec<String> = page
                .issues
                .iter()
                .map(|f| mark_key(&f.detail.issue.key))
                .collect();
            let marks = self.store.checkpoints(&keys).await?;
            let mut reconciled = Vec::new();
            for (found, mark) in page.issues.iter().zip(keys) {
                let updated = found.detail.issue.updated.clone().unwrap_or_default();
                let updated_ms = diff::millis(Some(&updated));
                if let Some(at) = updated_ms {
                    last_seen = Some(at);
                    if started_ms - at < grace_ms {
                        report.deferred += 1;
                        next_watermark = next_watermark.min(at);
                        continue;
                    }
                }
                if marks.get(&mark) == Some(&updated) {
                    continue;
                }
                report.compared += 1;
                let events =
                    diff::differences(self.jira.as_ref(), self.store.as_ref(), Some(&own), found)
                        .await?;
                if !events.is_empty() {
                    self.bus.publish(&events).await?;
                    report.recovered += events.len() as u64;
                    self.metrics
                        .jira_reconcile_recovered
                        .inc_by(events.len() as u64);
                    for e in &events {
                        tracing::info!(
                            issue_key = %found.detail.issue.key,
                            event_type = e.envelope.event.type_name(),
                            delivery_id = %e.envelope.delivery_id,
                            "recovered a Jira change no webhook delivered"
                        );
                    }
                }
                // Only after publishing: a crash in between compares the issue again.
                reconciled.push((mark, updated));
            }
            self.store.put_checkpoints(&reconciled).await?;
            // Renewed every page: a replica that stalled past the TTL stops rather than
            // reconcile alongside the new holder.
            if !self.lease.hold().await? {
                return Err(ReconcileError::LeaseLost);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => {
                    complete = true;
                    break;
                }
            }
        }
        if !complete && let Some(at) = last_seen {
            // Oldest first: what the cap left is newer than the last issue read.
            next_watermark = next_watermark.min(at);
        }
        self.store
            .put_checkpoint(WATERMARK, &next_watermark.to_string())
            .await?;
        Ok(())
    }

    async fn record(&self, record: &serde_json::Value, recovered: u64) -> Result<(), StoreError> {
        self.store
            .put_checkpoint(LAST_RUN, &record.to_string())
            .await?;
        let now = now_ms();
        let mut history = recovered_history(self.store.as_ref()).await?;
        let before = history.len();
        history.retain(|(at, _)| now - at < DAY_MS);
        if recovered > 0 {
            history.push((now, recovered));
        }
        if history.len() != before || recovered > 0 {
            let value = serde_json::to_string(&history).unwrap_or_else(|_| "[]".into());
            self.store.put_checkpoint(RECOVERED, &value).await?;
        }
        Ok(())
    }

    fn count(&self, result: &'static str) {
        self.metrics
            .jira_reconcile_runs
            .get_or_create(&PollLabels { result })
            .inc();
    }
}

/// The store checkpoint holding the `updated` an issue was last reconciled at.
fn mark_key(issue_key: &str) -> String {
    format!("jira.issue.{issue_key}.reconciled")
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

async fn last_run_at(store: &dyn StateStore) -> Result<Option<i64>, StoreError> {
    Ok(store
        .checkpoint(LAST_RUN)
        .await?
        .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
        .and_then(|v| v["at"].as_i64()))
}

async fn recovered_history(store: &dyn StateStore) -> Result<Vec<(i64, u64)>, StoreError> {
    Ok(store
        .checkpoint(RECOVERED)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Changes the reconciler recovered over the last day (what no webhook delivered).
pub async fn recovered_last_day(store: &dyn StateStore) -> Result<u64, StoreError> {
    let now = now_ms();
    Ok(recovered_history(store)
        .await?
        .into_iter()
        .filter(|(at, _)| now - at < DAY_MS)
        .map(|(_, n)| n)
        .sum())
}
