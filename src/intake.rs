//! Accepting a delivery: dedupe on its key, hand its events to the bus, and only then confirm.
//!
//! When the bus shares a transaction with the store (the embedded queue), the check, the
//! publish and the record of the key are one atomic step. Otherwise the key is claimed as
//! pending first and confirmed after the bus has the events, so a crash or bus failure in
//! between never turns the sender's retry into a "duplicate" that is dropped.

use std::{sync::Arc, time::Duration};

use crate::{
    bus::{BusError, EventBus, Outgoing},
    store::{Claim, StateStore, StoreError},
};

/// How long a claimed delivery may stay pending before a retry may take it over, unless
/// configured: longer than any publish takes, short enough that a crashed request's retry is
/// not refused for long.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(30);
/// How long a concurrent duplicate waits for the first copy to settle before answering.
const DUPLICATE_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The events are on the bus.
    Published(Vec<String>),
    /// This delivery was accepted before; nothing was published.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A copy of this delivery is still being accepted elsewhere; the sender should retry.
    #[error("another copy of this delivery is still being processed")]
    InFlight,
}

#[derive(Clone)]
pub struct Intake {
    store: Arc<dyn StateStore>,
    bus: Arc<dyn EventBus>,
    dedupe_ttl: Duration,
    claim_ttl: Duration,
}

impl Intake {
    pub fn new(store: Arc<dyn StateStore>, bus: Arc<dyn EventBus>, dedupe_ttl: Duration) -> Self {
        Self {
            store,
            bus,
            dedupe_ttl,
            claim_ttl: DEFAULT_CLAIM_TTL,
        }
    }

    /// How long a delivery being accepted blocks its copies (see [`DEFAULT_CLAIM_TTL`]).
    pub fn with_claim_ttl(mut self, claim_ttl: Duration) -> Self {
        self.claim_ttl = claim_ttl;
        self
    }

    pub async fn accept(&self, key: &str, events: Vec<Outgoing>) -> Result<Accepted, IntakeError> {
        let published =
            || Accepted::Published(events.iter().map(|o| o.envelope.id.to_string()).collect());
        if let Some(claim) = self.bus.publish_once(key, &events, self.dedupe_ttl).await {
            return match claim? {
                Claim::New => Ok(published()),
                Claim::Accepted => Ok(Accepted::Duplicate),
                // Only a three-step publisher leaves a claim pending; let its copy retry.
                Claim::Pending => Err(IntakeError::InFlight),
            };
        }

        let deadline = tokio::time::Instant::now() + DUPLICATE_WAIT;
        let mut pause = Duration::from_millis(5);
        loop {
            match self.store.claim_delivery(key, self.claim_ttl).await? {
                Claim::New => break,
                Claim::Accepted => return Ok(Accepted::Duplicate),
                Claim::Pending if tokio::time::Instant::now() >= deadline => {
                    return Err(IntakeError::InFlight);
                }
                Claim::Pending => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
            }
        }

        if let Err(e) = self.bus.publish(&events).await {
            if let Err(release) = self.store.release_delivery(key).await {
                // The claim expires on its own after claim_ttl; the retry then succeeds.
                tracing::warn!(error = %release, delivery = key, "cannot release delivery claim");
            }
            return Err(e.into());
        }
        // The events are on the bus; if this confirm fails, the sender retries, the pending
        // claim expires, and the events are published again with new ids: a duplicate that
        // idempotent consumers absorb, never a loss.
        self.store.confirm_delivery(key, self.dedupe_ttl).await?;
        Ok(published())
    }
}
