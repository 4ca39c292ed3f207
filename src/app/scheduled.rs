//! Entry points for a schedule (the Lambda deployment's `poller` role): one SIR poll cycle, and
//! the Jira reconciler's run when it is due, on the service's components.

use super::Components;
use crate::{
    poll::{self, PollError, PollOutcome},
    sync::reconciler::{ReconcileError, ReconcileOutcome},
};

/// Runs one poll cycle: takes the poller lease, pages through ListCases, publishes a
/// `sir.case.changed` event per changed case, gives the lease back. `Skipped` when another
/// poller holds the lease.
pub async fn poll_once(components: &Components) -> Result<PollOutcome, PollError> {
    let poller = components.poller().ok_or(PollError::NotConfigured)?;
    Ok(poll::poller::poll_once(&poller).await?)
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
