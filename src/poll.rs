//! The poller's entry point, the same for every deployment: the long-running process calls it
//! on an interval, the Lambda deployment on a schedule (`lambda-http`, role `poller`).
//!
//! The SIR poller (ListCases against a watermark, under a lease) is not in this build yet:
//! until it is wired here, a poll fails with [`PollError::NotConfigured`] rather than
//! pretending that nothing changed.

use serde::Serialize;

use crate::startup::Components;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("poller not configured: this build has no SIR poller to run")]
    NotConfigured,
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    /// Cases listed.
    pub cases_seen: u64,
    /// Change events published for cases that changed since the last poll.
    pub changes_published: u64,
}

/// Runs one poll cycle with the service's components.
pub async fn poll_once(components: &Components) -> Result<PollReport, PollError> {
    let _ = components;
    Err(PollError::NotConfigured)
}
