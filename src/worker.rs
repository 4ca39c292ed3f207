//! In-process consumers: take events from an [`EventSource`], hand each to the
//! [`EventHandler`], and settle it (ack, retry, dead-letter), keeping the lease alive meanwhile.

use std::{collections::HashSet, sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    bus::{Delivery, EventSource, Failure, Settlement},
    event::{Direction, EventEnvelope},
    metrics::{EventLabels, Metrics, OutcomeLabels},
};

/// Most events a worker takes at once. Receiving and settling cost one write each, however
/// many events they carry: per event, they were the workers' whole cost in log-only mode, and
/// with one subject (where only one worker can hold its events) they capped processing at one
/// commit pair per event (docs/benchmarks.md).
const RECEIVE_BATCH: usize = 64;
/// How long a worker goes on starting events of its batch. What it has not started by then goes
/// back to the queue when the batch is settled, to be shared by every worker, instead of being
/// handled here one after another behind slow peers (seconds per event). Events already waiting
/// in a batch still wait for the event in hand: a slow event delays its batch by that long.
const BATCH_HOLD: Duration = Duration::from_millis(500);

#[async_trait]
pub trait EventHandler: Send + Sync {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure>;
}

/// The handler until the Jira and SIR sync land: it records that the event arrived, intact
/// and normalized, and syncs nothing.
pub struct LogOnlyHandler;

#[async_trait]
impl EventHandler for LogOnlyHandler {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        tracing::info!(
            event_id = %envelope.id,
            event_type = envelope.event.type_name(),
            issue_key = envelope.event.jira_issue_key().unwrap_or(""),
            case_id = envelope.event.case_id().unwrap_or(""),
            delivery_id = %envelope.delivery_id,
            event = %serde_json::to_string(&envelope.event).unwrap_or_default(),
            "event processed (no sync configured: logged only)"
        );
        Ok(())
    }
}

/// Routes each event to the sync that applies it: SIR-side changes to the case → issue sync,
/// Jira-side changes to the issue → case sync. A direction without a sync configured logs.
pub struct Dispatcher {
    pub case_to_issue: Arc<dyn EventHandler>,
    pub issue_to_case: Arc<dyn EventHandler>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Self {
            case_to_issue: Arc::new(LogOnlyHandler),
            issue_to_case: Arc::new(LogOnlyHandler),
        }
    }
}

#[async_trait]
impl EventHandler for Dispatcher {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        match envelope.event.direction() {
            Direction::CaseToIssue => self.case_to_issue.handle(envelope).await,
            Direction::IssueToCase => self.issue_to_case.handle(envelope).await,
        }
    }
}

pub struct WorkerPool {
    tasks: JoinSet<()>,
}

impl WorkerPool {
    /// Starts `count` workers. After `shutdown` fires they take no new events and give the
    /// one in hand `grace` to finish before handing it back to the queue.
    pub fn spawn(
        count: usize,
        source: Arc<dyn EventSource>,
        handler: Arc<dyn EventHandler>,
        metrics: Arc<Metrics>,
        lease: Duration,
        grace: Duration,
        shutdown: CancellationToken,
    ) -> WorkerPool {
        let mut tasks = JoinSet::new();
        for worker in 0..count {
            let worker = Worker {
                id: worker,
                source: source.clone(),
                handler: handler.clone(),
                metrics: metrics.clone(),
                heartbeat: lease / 3,
                grace,
                shutdown: shutdown.clone(),
            };
            tasks.spawn(worker.run());
        }
        WorkerPool { tasks }
    }

    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

struct Worker {
    id: usize,
    source: Arc<dyn EventSource>,
    handler: Arc<dyn EventHandler>,
    metrics: Arc<Metrics>,
    heartbeat: Duration,
    grace: Duration,
    shutdown: CancellationToken,
}

impl Worker {
    async fn run(self) {
        tracing::debug!(worker = self.id, "worker started");
        while !self.shutdown.is_cancelled() {
            let batch = tokio::select! {
                _ = self.shutdown.cancelled() => break,
                batch = self.source.receive(RECEIVE_BATCH) => batch,
            };
            match batch {
                Ok(batch) if batch.is_empty() => tokio::select! {
                    _ = self.shutdown.cancelled() => break,
                    _ = self.source.wait_for_work(Duration::from_millis(500)) => {}
                },
                Ok(batch) => self.process_batch(batch).await,
                Err(e) => {
                    tracing::warn!(worker = self.id, error = %e, "cannot receive events");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        tracing::debug!(worker = self.id, "worker stopped");
    }

    /// Handles a batch in queue order and settles it in one call. The leases of the whole
    /// batch are kept alive meanwhile: an event handled early is only acknowledged at the end.
    /// After an event of a subject failed or was handed back, that subject's later events in
    /// the batch are handed back unprocessed, so its order holds. A batch that has run for
    /// [`BATCH_HOLD`] hands back what it has not started, for another worker to take.
    async fn process_batch(&self, batch: Vec<Delivery>) {
        let started = tokio::time::Instant::now();
        let mut held: HashSet<String> = HashSet::new();
        let mut settlements = Vec::with_capacity(batch.len());
        for (i, delivery) in batch.iter().enumerate() {
            let subject = delivery.envelope.event.subject();
            let blocked = subject.as_ref().is_some_and(|s| held.contains(s));
            let settlement = if blocked
                || self.shutdown.is_cancelled()
                || (i > 0 && started.elapsed() >= BATCH_HOLD)
            {
                Settlement::Release
            } else {
                self.process(delivery, &batch).await
            };
            if settlement != Settlement::Ack
                && let Some(subject) = subject
            {
                held.insert(subject);
            }
            settlements.push(settlement);
        }
        let settled: Vec<(Delivery, Settlement)> = batch.into_iter().zip(settlements).collect();
        if let Err(e) = self.source.settle(&settled).await {
            // Their leases run out and the events are handed out again: at-least-once holds.
            tracing::error!(worker = self.id, error = %e, events = settled.len(), "cannot settle events");
        }
    }

    /// Handles `delivery` and says how to settle it. The heartbeat keeps the leases of its
    /// whole `batch`, which is settled only at the end: an event handled before this one
    /// must not be handed out again meanwhile, nor one after it be taken out of order.
    async fn process(&self, delivery: &Delivery, batch: &[Delivery]) -> Settlement {
        let env = &delivery.envelope;
        // Made only for the lines that need it: a span per event, formatted whether or not
        // anything is logged in it, was a visible part of the log-only path's cost.
        let span = || tracing::info_span!("event", event_id = %env.id, event_type = env.event.type_name(), attempt = delivery.attempt);

        let work = self.handler.handle(env);
        tokio::pin!(work);
        // First beat one period from now. An interval's immediate first tick is not free: the
        // timer rounds its deadline up to its next millisecond, which made every event wait
        // about a millisecond and capped log-only processing near 1,000 events per second
        // per worker (docs/benchmarks.md).
        let period = self.heartbeat.max(Duration::from_millis(100));
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let shutdown = self.shutdown.clone();
        let grace = self.grace;
        let hard_stop = async move {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        tokio::pin!(hard_stop);

        let outcome = loop {
            tokio::select! {
                result = &mut work => break Some(result),
                _ = heartbeat.tick() => {
                    if let Err(e) = self.source.extend_all(batch).await {
                        tracing::warn!(parent: &span(), error = %e, "cannot extend lease");
                    }
                }
                _ = &mut hard_stop => break None,
            }
        };

        let event_type = env.event.type_name();
        let (settlement, outcome) = match outcome {
            Some(Ok(())) => {
                let latency = time::OffsetDateTime::now_utc() - env.received_at;
                self.metrics
                    .sync_latency
                    .get_or_create(&EventLabels { event_type })
                    .observe(latency.as_seconds_f64().max(0.0));
                (Settlement::Ack, "done")
            }
            Some(Err(failure)) => {
                tracing::warn!(parent: &span(), error = %failure.error, retryable = failure.retryable, "event failed");
                (Settlement::Nack(failure), "failed")
            }
            None => {
                tracing::warn!(parent: &span(), "shutdown grace over: handing the event back");
                (Settlement::Release, "released")
            }
        };
        self.metrics
            .processed
            .get_or_create(&OutcomeLabels {
                event_type,
                outcome,
            })
            .inc();
        settlement
    }
}
