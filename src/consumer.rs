//! Consuming events that a push-based bus hands over one at a time: an EventBridge rule
//! invoking a Lambda. The event is decoded exactly as the SQS workers decode a message
//! ([`decode_event`]), the same [`EventHandler`] runs, and failures are settled as the workers
//! settle them (what no retry fixes becomes a dead letter in the store, where the admin API
//! shows and replays it). Unlike a worker, the consumer cannot hide a message for later: every
//! failure is returned, so the invocation fails and the invoker's retry policy and
//! dead-letter queue take the event. Nothing is acknowledged that was not handled.

use std::sync::Arc;

use serde_json::Value;
use tracing::Instrument;

use crate::{
    bus::{
        BusError,
        eventbridge::{Decoded, decode_event},
        settle,
    },
    event::EventEnvelope,
    metrics::{EventLabels, Metrics, OutcomeLabels},
    store::StateStore,
    worker::EventHandler,
};

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// The event is not one of ours (or its oversize payload is gone): kept as an
    /// `unreadable` dead letter.
    #[error("unreadable event {id}, dead-lettered: {error}")]
    Unreadable { id: String, error: String },
    /// The handler failed in a way a later attempt may fix.
    #[error("event {event_id} ({event_type}) failed, retry later: {error}")]
    Retryable {
        event_id: String,
        event_type: &'static str,
        error: String,
    },
    /// The handler failed in a way no retry fixes: kept as a dead letter.
    #[error("event {event_id} ({event_type}) failed for good, dead-lettered: {error}")]
    DeadLettered {
        event_id: String,
        event_type: &'static str,
        error: String,
    },
    /// The state store could not be read or written (resolving a reference, keeping a dead
    /// letter): retry later.
    #[error("state store unavailable: {0}")]
    Unavailable(#[source] BusError),
}

impl ConsumeError {
    /// A short name for the kind of failure (Lambda's `errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            ConsumeError::Unreadable { .. } => "Unreadable",
            ConsumeError::Retryable { .. } => "Retryable",
            ConsumeError::DeadLettered { .. } => "DeadLettered",
            ConsumeError::Unavailable(_) => "Unavailable",
        }
    }
}

/// What became of an event that did not fail.
#[derive(Debug)]
pub enum Consumed {
    /// The handler ran on it.
    Handled(Box<EventEnvelope>),
    /// A SIR event this service does not act on (membership): logged, counted, acknowledged.
    Ignored { detail_type: String },
}

pub struct EventConsumer {
    store: Arc<dyn StateStore>,
    handler: Arc<dyn EventHandler>,
    metrics: Arc<Metrics>,
}

impl EventConsumer {
    pub fn new(
        store: Arc<dyn StateStore>,
        handler: Arc<dyn EventHandler>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            handler,
            metrics,
        }
    }

    /// Handles one EventBridge event (the whole event as EventBridge sends it to a target).
    /// `attempt` counts the deliveries of this event, this one included, where the invoker
    /// says (Lambda does not: pass 1).
    pub async fn consume(&self, event: Value, attempt: u32) -> Result<Consumed, ConsumeError> {
        let delivery_id = event
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let text = event.to_string();
        let envelope = match decode_event(event, self.store.as_ref()).await {
            Ok(Decoded::Event(envelope)) => *envelope,
            Ok(Decoded::Ignored(detail_type)) => {
                settle::ignored(Some(&self.metrics), &detail_type, &delivery_id);
                return Ok(Consumed::Ignored { detail_type });
            }
            Err(BusError::Decode { message: error, .. }) => {
                settle::dead_letter_unreadable(
                    self.store.as_ref(),
                    &delivery_id,
                    text,
                    &error,
                    attempt,
                )
                .await
                .map_err(ConsumeError::Unavailable)?;
                return Err(ConsumeError::Unreadable {
                    id: delivery_id,
                    error,
                });
            }
            Err(e) => return Err(ConsumeError::Unavailable(e)),
        };

        let event_type = envelope.event.type_name();
        let event_id = envelope.id.to_string();
        let span = tracing::info_span!("event", event_id = %event_id, event_type, attempt);
        let result = self
            .handler
            .handle(&envelope)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(()) => "done",
            Err(_) => "failed",
        };
        self.metrics
            .processed
            .get_or_create(&OutcomeLabels {
                event_type,
                outcome,
            })
            .inc();
        match result {
            Ok(()) => {
                let latency = time::OffsetDateTime::now_utc() - envelope.received_at;
                self.metrics
                    .sync_latency
                    .get_or_create(&EventLabels { event_type })
                    .observe(latency.as_seconds_f64().max(0.0));
                tracing::info!(parent: &span, "event handled");
                Ok(Consumed::Handled(Box::new(envelope)))
            }
            Err(failure) if failure.retryable => {
                tracing::warn!(parent: &span, error = %failure.error, "event failed, retry later");
                Err(ConsumeError::Retryable {
                    event_id,
                    event_type,
                    error: failure.error,
                })
            }
            Err(failure) => {
                settle::dead_letter_event(self.store.as_ref(), &envelope, &failure.error, attempt)
                    .await
                    .map_err(ConsumeError::Unavailable)?;
                Err(ConsumeError::DeadLettered {
                    event_id,
                    event_type,
                    error: failure.error,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use async_trait::async_trait;

    use super::*;
    use crate::{
        bus::Failure,
        db::Db,
        event::{Event, Origin, jira},
        store::sqlite::SqliteStore,
    };

    /// Fails every event for good, so the consumer has to keep a dead letter.
    struct Refuses;

    #[async_trait]
    impl EventHandler for Refuses {
        async fn handle(&self, _: &EventEnvelope) -> Result<(), Failure> {
            Err(Failure {
                error: "Jira rejected edit_issue: bad field".into(),
                retryable: false,
            })
        }
    }

    #[tokio::test]
    async fn a_dead_letter_the_store_cannot_keep_fails_with_the_bus_error_as_source() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("s")).unwrap();
        // The store still answers reads, but has nowhere to put a dead letter.
        db.write(|conn| Ok(conn.execute_batch("DROP TABLE dead_letters")?))
            .await
            .unwrap();
        let consumer = EventConsumer::new(
            Arc::new(SqliteStore::new(db)),
            Arc::new(Refuses),
            Arc::new(Metrics::new()),
        );
        let envelope = EventEnvelope::new(
            Origin::JiraWebhook,
            "d-1".into(),
            Event::JiraIssueUpdated(jira::IssueEvent {
                issue: jira::Issue {
                    key: "SEC-7".into(),
                    ..Default::default()
                },
                complete: true,
                ..Default::default()
            }),
        );

        let err = consumer
            .consume(serde_json::json!({ "detail": envelope }), 1)
            .await
            .unwrap_err();

        assert_eq!(err.kind(), "Unavailable");
        let source = err.source().unwrap_or_else(|| panic!("no source: {err:?}"));
        assert!(source.is::<BusError>(), "{source:?}");
        assert_eq!(
            err.to_string(),
            format!("state store unavailable: {source}")
        );
    }
}
