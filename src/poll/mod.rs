//! Watching SIR through its client: the [`poller`] finds changed cases with ListCases alone and
//! publishes an event per change, keeping per-case [`watermark`]s in the store; the
//! [`backfill`] publishes every case on demand. Below, the entry points for a schedule: one
//! poll cycle (and the Jira reconciler's run when due) with the service's components, the
//! Lambda deployment's `poller` role. The long-running process runs the same [`Poller`] in a
//! loop instead ([`crate::startup::Application`]).

pub mod backfill;
pub mod poller;
pub mod watermark;

pub use poller::{PollOutcome, PollReport, Poller, PollerError};

use crate::{
    startup::Components,
    sync::reconciler::{ReconcileError, ReconcileOutcome},
};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// There is no SIR to poll.
    #[error("poller not configured: set sir_enabled = true (and the SIR settings)")]
    NotConfigured,
    #[error(transparent)]
    Failed(#[from] PollerError),
}

/// Runs one poll cycle: takes the poller lease, pages through ListCases, publishes a
/// `sir.case.changed` event per changed case, gives the lease back. `Skipped` when another
/// poller holds the lease.
pub async fn poll_once(components: &Components) -> Result<PollOutcome, PollError> {
    let poller = components.poller().ok_or(PollError::NotConfigured)?;
    Ok(poller::poll_once(&poller).await?)
}

/// The Jira reconciler's run for a schedule (the poller Lambda, which fires more often than
/// the reconciler's interval): runs when the interval has passed since the last run, then gives
/// the lease back. `None` when no reconciler is configured (no Jira, no SIR, or turned off).
pub async fn reconcile_if_due(
    components: &Components,
) -> Option<Result<ReconcileOutcome, ReconcileError>> {
    let reconciler = components.reconciler()?;
    Some(reconciler.run_if_due().await)
}
