//! Why a sync of either direction failed, classified once for the retry decision.

use crate::{
    jira::{JiraError, workflow::WorkflowError},
    sir::{CaseStatus, SirError},
    store::StoreError,
    sync::issue_to_case::IssueSourceError,
};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("event names no valid case: {0}")]
    BadEvent(String),
    #[error("mapping names `{0}`, which is not a SIR case id")]
    BadCaseId(String),
    #[error(transparent)]
    Sir(#[from] SirError),
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// The issue's workflow cannot reach the status the case maps to.
    #[error("{0}")]
    Workflow(String),
    #[error(
        "case {case_id}: no UpdateCaseStatus path from `{from}` to `{to}` (Jira status `{jira_status}`); SIR cannot follow this move"
    )]
    Unreachable {
        case_id: String,
        from: CaseStatus,
        to: CaseStatus,
        jira_status: String,
    },
    #[error("cannot fetch Jira issue {key}: {error}")]
    Source {
        key: String,
        #[source]
        error: IssueSourceError,
    },
    #[error(
        "the event for {0} carries only the issue key and no Jira issue source is configured to fetch it"
    )]
    NoSource(String),
    #[error("another worker is syncing case {0}; retry later")]
    Busy(String),
    #[error("cannot download SIR attachment {name}: {message}")]
    Download { name: String, message: String },
}

impl SyncError {
    /// Whether trying again later can succeed (a peer or the store unavailable, the case's
    /// lease held elsewhere); otherwise the event is a dead letter.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Sir(e) => e.is_retryable(),
            SyncError::Jira(e) => e.is_retryable(),
            SyncError::Store(StoreError::Corrupt(_)) => false,
            SyncError::Store(_) | SyncError::Busy(_) | SyncError::Download { .. } => true,
            SyncError::Source { error, .. } => matches!(error, IssueSourceError::Unavailable(_)),
            SyncError::BadEvent(_)
            | SyncError::BadCaseId(_)
            | SyncError::Workflow(_)
            | SyncError::Unreachable { .. }
            | SyncError::NoSource(_) => false,
        }
    }
}

impl From<WorkflowError> for SyncError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::Jira(e) => SyncError::Jira(e),
            other => SyncError::Workflow(other.to_string()),
        }
    }
}
