//! What a job that runs on one replica at a time shares (the SIR poller, the Jira reconciler):
//! a named lease in the state store, held under an owner unique to this process, and the loop
//! that runs the job every interval until it is stopped.

use std::{future::Future, sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::store::{StateStore, StoreError};

/// The lease that makes one replica the one that runs a job.
pub struct ReplicaLease {
    store: Arc<dyn StateStore>,
    name: &'static str,
    owner: String,
    ttl: Duration,
}

impl ReplicaLease {
    pub fn new(store: Arc<dyn StateStore>, name: &'static str, ttl: Duration) -> ReplicaLease {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        ReplicaLease {
            store,
            name,
            owner: format!("{host}/{}/{}", std::process::id(), uuid::Uuid::new_v4()),
            ttl,
        }
    }

    /// Who holds the lease when this replica does.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes the lease, or renews it when this replica holds it; `false` when another does.
    pub async fn hold(&self) -> Result<bool, StoreError> {
        self.store
            .acquire_lease(self.name, &self.owner, self.ttl)
            .await
    }

    /// Gives the lease up (shutdown, or a schedule whose next run may be elsewhere), so
    /// another replica need not wait for it to expire.
    pub async fn release(&self) {
        if let Err(e) = self.store.release_lease(self.name, &self.owner).await {
            tracing::warn!(lease = self.name, error = %e, "cannot release the lease; it expires on its own");
        }
    }
}

/// Runs `job` at once, then every `interval`, until `stop`. A run late past its tick is not
/// followed by a burst of catch-up runs, and a run in progress when `stop` fires is abandoned:
/// the jobs keep their progress in the store, so the next holder carries on.
pub async fn run_every<F, Fut>(interval: Duration, stop: &CancellationToken, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = job() => {}
        }
    }
}
