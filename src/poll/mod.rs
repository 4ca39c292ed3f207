//! Watching SIR through its client: the [`poller`] finds changed cases with ListCases alone and
//! publishes an event per change, keeping per-case [`watermark`]s in the store; the
//! [`backfill`] publishes every case on demand. The Lambda deployment's `poller` role runs one
//! cycle per schedule (`app::poll_once`); the long-running process runs the same [`Poller`] in
//! a loop.

pub mod backfill;
pub mod poller;
pub mod watermark;

pub use poller::{PollOutcome, PollReport, Poller, PollerError};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// There is no SIR to poll.
    #[error("poller not configured: set sir_enabled = true (and the SIR settings)")]
    NotConfigured,
    #[error(transparent)]
    Failed(#[from] PollerError),
}
