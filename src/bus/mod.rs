//! The event bus seam. Publishing ([`EventBus`]) and consuming ([`EventSource`]) are separate
//! traits because in AWS they are separate services (EventBridge in, SQS or Lambda out); the
//! embedded queue implements both over the SQLite file; in AWS, [`EventBridgeBus`] publishes
//! and [`SqsSource`] consumes.

mod embedded;
pub mod eventbridge;
pub mod settle;
mod sqs;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use crate::metrics::QueueStats;
pub use embedded::{EmbeddedQueue, EventFilter, QueuedEvent};
pub use eventbridge::EventBridgeConfig;
pub use eventbridge::{EventBridgeBus, PublishRetry};
pub use sqs::SqsSource;

use crate::{event::EventEnvelope, store::Claim};

/// How the embedded queue and the SQS consumer lease, retry and keep events.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// In-process workers; 0 runs the gateway alone (events wait in the queue).
    pub workers: usize,
    pub max_attempts: u32,
    pub lease: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Finished events are kept this long for inspection, then purged.
    pub retention: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// No retry helps (a bad entry, a refused call); `source` is the error behind it, if any.
    #[error("event rejected by the bus: {message}")]
    Rejected {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An event that cannot be read back; `source` is the decoder's own error, if any.
    #[error("cannot decode a queued event: {message}")]
    Decode {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// What the bus rests on failed (the SQLite file, the state store, an AWS call):
    /// `message` says which and how, `source` is that failure itself, kept for the chain.
    #[error("event bus unavailable: {message}")]
    Backend {
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BusError {
    /// A failure of what the bus rests on, described as `context: error` (or the error alone).
    pub(crate) fn backend(
        context: Option<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> BusError {
        BusError::Backend {
            message: match context {
                Some(context) => format!("{context}: {source}"),
                None => source.to_string(),
            },
            source: Box::new(source),
        }
    }

    /// Rejected because of `source`, described by its own message.
    pub(crate) fn rejected_by(source: impl std::error::Error + Send + Sync + 'static) -> BusError {
        BusError::Rejected {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// Unreadable because of `source`, described by its own message.
    pub(crate) fn undecodable(source: impl std::error::Error + Send + Sync + 'static) -> BusError {
        BusError::Decode {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// Unreadable for a reason no other error describes.
    pub(crate) fn malformed(message: impl Into<String>) -> BusError {
        BusError::Decode {
            message: message.into(),
            source: None,
        }
    }
}

/// An event to publish, with the raw delivery it came from (kept for replay).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub envelope: EventEnvelope,
    pub raw: Option<Bytes>,
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Durably hands all events to the bus, or fails so the sender retries. On the embedded
    /// queue, publishing an event id that is already on the bus is a no-op, so retries never
    /// duplicate, and publishing a dead-lettered event again (replay) makes it due once more.
    /// EventBridge cannot deduplicate: a republished event is delivered again, which
    /// idempotent consumers absorb.
    async fn publish(&self, events: &[Outgoing]) -> Result<(), BusError>;

    /// Publishes `events` and records `delivery_key` as accepted for `ttl` in one atomic step,
    /// unless the key is already taken (then nothing is published and the claim says why).
    /// Only a bus that shares a transaction with the state store can do this (the embedded
    /// queue); `None` tells the caller to claim, publish and confirm in three steps, which
    /// leaves a crash window where a delivery may be published twice (never lost).
    async fn publish_once(
        &self,
        _delivery_key: &str,
        _events: &[Outgoing],
        _ttl: Duration,
    ) -> Option<Result<Claim, BusError>> {
        None
    }
}

/// One received event and the handle that settles it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub envelope: EventEnvelope,
    /// How many times this event has been handed out, this time included.
    pub attempt: u32,
    /// Opaque proof of this hand-out (lease token, SQS receipt handle).
    pub receipt: String,
}

/// How a failed event should be treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    /// False for errors that no retry can fix: the event goes straight to the dead letters.
    pub retryable: bool,
}

/// What becomes of a received event once its worker is done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Done: it will not be handed out again.
    Ack,
    /// Failed: retried later with backoff, or dead-lettered.
    Nack(Failure),
    /// Handed back untouched: due again at once, the attempt not counted.
    Release,
}

#[async_trait]
pub trait EventSource: Send + Sync {
    /// Up to `max` events that are due, each leased to the caller.
    async fn receive(&self, max: usize) -> Result<Vec<Delivery>, BusError>;
    /// The event is done; it will not be handed out again.
    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError>;
    /// The event failed: retried later with backoff, or dead-lettered when attempts run out.
    async fn nack(&self, delivery: &Delivery, failure: &Failure) -> Result<(), BusError>;
    /// Keeps the lease for slow work.
    async fn extend(&self, delivery: &Delivery) -> Result<(), BusError>;
    /// Hands the event back untouched (shutdown): due again at once, attempt not counted.
    async fn release(&self, delivery: &Delivery) -> Result<(), BusError>;
    /// Resolves when new events may be available, or after `max_wait`.
    async fn wait_for_work(&self, max_wait: std::time::Duration);

    /// Settles a worker's batch. The embedded queue commits the whole batch at once (one
    /// write instead of one per event); others settle each in turn. The first failure is
    /// returned after every delivery was tried: an unsettled event's lease runs out and it is
    /// handed out again, so at-least-once holds either way.
    async fn settle(&self, batch: &[(Delivery, Settlement)]) -> Result<(), BusError> {
        let mut first_error = None;
        for (delivery, settlement) in batch {
            let result = match settlement {
                Settlement::Ack => self.ack(delivery).await,
                Settlement::Nack(failure) => self.nack(delivery, failure).await,
                Settlement::Release => self.release(delivery).await,
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Keeps the leases of a whole batch (see [`EventSource::extend`]).
    async fn extend_all(&self, batch: &[Delivery]) -> Result<(), BusError> {
        for delivery in batch {
            self.extend(delivery).await?;
        }
        Ok(())
    }
}

/// What the bus can tell about the events it holds (the admin API and metrics). The embedded
/// queue keeps every event and its processing state; a bus that does not (EventBridge) has none.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Events newest first, matching `filter`.
    async fn recent(&self, filter: &EventFilter) -> Result<Vec<QueuedEvent>, BusError>;
    async fn stats(&self) -> Result<QueueStats, BusError>;
    /// Events accepted in each of the last `minutes` minutes, oldest first; the last entry is
    /// the minute in progress.
    async fn per_minute(&self, minutes: usize) -> Result<Vec<u64>, BusError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_failure_keeps_its_cause() {
        let e: BusError = crate::db::DbError::Closed.into();
        assert_eq!(
            e.to_string(),
            "event bus unavailable: the database writer has stopped"
        );
        let cause = std::error::Error::source(&e).expect("the database's own error is kept");
        assert_eq!(cause.to_string(), "the database writer has stopped");

        let e = BusError::backend(
            Some("cannot read blob/1".into()),
            crate::db::DbError::Closed,
        );
        assert_eq!(
            e.to_string(),
            "event bus unavailable: cannot read blob/1: the database writer has stopped"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn an_unreadable_or_refused_event_keeps_the_decoders_error() {
        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let text = json.to_string();
        let e = BusError::undecodable(json);
        assert_eq!(
            e.to_string(),
            format!("cannot decode a queued event: {text}")
        );
        let cause = std::error::Error::source(&e).expect("the decoder's error is kept");
        assert!(cause.downcast_ref::<serde_json::Error>().is_some());

        let e = BusError::rejected_by(crate::db::DbError::Closed);
        assert_eq!(
            e.to_string(),
            "event rejected by the bus: the database writer has stopped"
        );
        assert!(std::error::Error::source(&e).is_some());

        let e = BusError::malformed("bad receipt");
        assert_eq!(e.to_string(), "cannot decode a queued event: bad receipt");
        assert!(std::error::Error::source(&e).is_none());
    }
}
