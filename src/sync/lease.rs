//! The per-case lease both sync directions hold while they read and write a case and its issue,
//! so that one direction never acts on what it read before the other wrote (a stale read), and
//! the ledgers they share are never written by two at once.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;

use crate::store::{StateStore, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct LeaseSettings {
    /// How long the lease lasts without renewal (it is renewed every third of it).
    pub ttl: Duration,
    /// How long to wait for another worker's sync of the same case before giving up (the event
    /// is retried later).
    pub wait: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            ttl: Duration::from_secs(120),
            wait: Duration::from_secs(20),
        }
    }
}

/// A held lease on one case; renewed in the background until [`CaseLease::release`] or until
/// it is dropped (which releases it in the background).
pub struct CaseLease {
    store: Arc<dyn StateStore>,
    name: String,
    owner: String,
    renew: JoinHandle<()>,
    released: bool,
}

impl CaseLease {
    /// Waits up to `settings.wait` for the case's lease; `None` when another worker kept it.
    pub async fn acquire(
        store: &Arc<dyn StateStore>,
        case_id: &str,
        settings: LeaseSettings,
    ) -> Result<Option<CaseLease>, StoreError> {
        let name = format!("case-sync/{case_id}");
        let owner = uuid::Uuid::new_v4().to_string();
        let deadline = tokio::time::Instant::now() + settings.wait;
        let mut pause = Duration::from_millis(20);
        while !store.acquire_lease(&name, &owner, settings.ttl).await? {
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
        let renew = {
            let (store, name, owner) = (store.clone(), name.clone(), owner.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(settings.ttl / 3).await;
                    if let Err(e) = store.acquire_lease(&name, &owner, settings.ttl).await {
                        tracing::warn!(lease = %name, error = %e, "cannot renew the case lease");
                    }
                }
            })
        };
        Ok(Some(CaseLease {
            store: store.clone(),
            name,
            owner,
            renew,
            released: false,
        }))
    }

    pub async fn release(mut self) {
        self.released = true;
        self.renew.abort();
        if let Err(e) = self.store.release_lease(&self.name, &self.owner).await {
            tracing::warn!(lease = %self.name, error = %e, "cannot release the case lease (it expires)");
        }
    }
}

impl Drop for CaseLease {
    fn drop(&mut self) {
        self.renew.abort();
        if self.released {
            return;
        }
        // Without a runtime (shutting down) the lease simply expires.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (store, name, owner) = (self.store.clone(), self.name.clone(), self.owner.clone());
            runtime.spawn(async move {
                if let Err(e) = store.release_lease(&name, &owner).await {
                    tracing::warn!(lease = %name, error = %e, "cannot release the case lease (it expires)");
                }
            });
        }
    }
}
