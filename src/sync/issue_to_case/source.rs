//! What the sync needs from Jira when a delivery named an issue but carried none of its fields
//! (Automation `IssueId` messages) or an operator asked for a full sync. The Jira REST client
//! implements it; tests implement it over the Jira emulator.

use async_trait::async_trait;

use crate::event::jira::Issue;

/// The issue as Jira holds it now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueSnapshot {
    pub issue: Issue,
    /// The resolution's name (`Done`, `Won't Do`, `Duplicate`…), when resolved.
    pub resolution: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueSourceError {
    #[error("Jira issue {0} not found")]
    NotFound(String),
    /// Rate limits, outages, timeouts: later may work.
    #[error("Jira unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait IssueSource: Send + Sync {
    async fn issue(&self, key: &str) -> Result<IssueSnapshot, IssueSourceError>;
}
