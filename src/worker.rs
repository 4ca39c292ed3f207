//! In-process consumers: take events from an [`EventSource`], hand each to the
//! [`EventHandler`], and settle it (ack, retry, dead-letter), keeping the lease alive meanwhile.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    bus::{Delivery, EventSource, Failure},
    event::{Direction, EventEnvelope},
    metrics::{EventLabels, Metrics, OutcomeLabels},
};

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
                batch = self.source.receive(1) => batch,
            };
            match batch {
                Ok(batch) if batch.is_empty() => tokio::select! {
                    _ = self.shutdown.cancelled() => break,
                    _ = self.source.wait_for_work(Duration::from_millis(500)) => {}
                },
                Ok(batch) => {
                    for delivery in batch {
                        self.process(delivery).await;
                    }
                }
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

    async fn process(&self, delivery: Delivery) {
        let env = &delivery.envelope;
        let span = tracing::info_span!("event", event_id = %env.id, event_type = env.event.type_name(), attempt = delivery.attempt);

        let work = self.handler.handle(env);
        tokio::pin!(work);
        let mut heartbeat = tokio::time::interval(self.heartbeat.max(Duration::from_millis(100)));
        heartbeat.tick().await;
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
                    if let Err(e) = self.source.extend(&delivery).await {
                        tracing::warn!(parent: &span, error = %e, "cannot extend lease");
                    }
                }
                _ = &mut hard_stop => break None,
            }
        };

        let event_type = env.event.type_name();
        let (settled, outcome) = match outcome {
            Some(Ok(())) => {
                let latency = time::OffsetDateTime::now_utc() - env.received_at;
                self.metrics
                    .sync_latency
                    .get_or_create(&EventLabels { event_type })
                    .observe(latency.as_seconds_f64().max(0.0));
                (self.source.ack(&delivery).await, "done")
            }
            Some(Err(failure)) => {
                tracing::warn!(parent: &span, error = %failure.error, retryable = failure.retryable, "event failed");
                (self.source.nack(&delivery, &failure).await, "failed")
            }
            None => {
                tracing::warn!(parent: &span, "shutdown grace over: handing the event back");
                (self.source.release(&delivery).await, "released")
            }
        };
        self.metrics
            .processed
            .get_or_create(&OutcomeLabels {
                event_type,
                outcome,
            })
            .inc();
        if let Err(e) = settled {
            // The lease runs out and the event is handed out again: at-least-once holds.
            tracing::error!(parent: &span, error = %e, "cannot settle event");
        }
    }
}
