//! The process's background chores: the janitor and the shutdown signal.

use std::{future::Future, sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::{bus::EmbeddedQueue, store::StateStore};

/// Purges finished events past retention and expired dedupe keys and leases.
pub(super) async fn janitor(
    queue: Option<Arc<EmbeddedQueue>>,
    store: Arc<dyn StateStore>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let purged = match &queue {
            Some(queue) => queue.purge_finished().await,
            None => Ok(0),
        };
        match (purged, store.purge_expired().await) {
            (Ok(events), Ok(keys)) if events + keys > 0 => {
                tracing::debug!(events, keys, "purged expired rows");
            }
            (Err(e), _) => tracing::warn!(error = %e, "cannot purge finished events"),
            (_, Err(e)) => tracing::warn!(error = %e, "cannot purge expired keys"),
            _ => {}
        }
    }
}

/// Resolves on SIGTERM or ctrl-c (SIGINT). The handlers are installed when this is called,
/// not when first polled, so a signal during start-up is not lost to the default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
