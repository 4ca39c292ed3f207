//! What the sync needs from Jira when a delivery named an issue but carried none of its fields
//! (Automation `IssueId` messages) or an operator asked for a full sync: the issue as Jira holds
//! it now. [`JiraIssueSource`] reads it through the production Jira client.

use crate::jira::api::IssueDetail;
use std::sync::Arc;

use async_trait::async_trait;

use bytes::Bytes;

use crate::jira::{JiraApi, JiraError, api::JiraAttachment};

#[derive(Debug, thiserror::Error)]
pub enum IssueSourceError {
    #[error("Jira issue {0} not found")]
    NotFound(String),
    /// Rate limits, outages, time-outs, refused credentials: later may work.
    #[error("Jira unavailable: {0}")]
    Unavailable(String),
    /// Jira answered in a way no retry changes (a malformed issue, a rejected request).
    #[error("Jira refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait IssueSource: Send + Sync {
    async fn issue(&self, key: &str) -> Result<IssueDetail, IssueSourceError>;
    /// The attachment's bytes, or `None` when it is larger than `max_bytes`.
    async fn attachment(
        &self,
        attachment: &JiraAttachment,
        max_bytes: u64,
    ) -> Result<Option<Bytes>, IssueSourceError>;
}

fn classify(key: &str, e: JiraError) -> IssueSourceError {
    match e {
        JiraError::NotFound { .. } => IssueSourceError::NotFound(key.to_owned()),
        e if e.is_retryable() => IssueSourceError::Unavailable(e.to_string()),
        e => IssueSourceError::Refused(e.to_string()),
    }
}

/// Reads issues through the Jira client the case → issue sync writes with, so both directions
/// share one rate budget, retry policy and credential health.
pub struct JiraIssueSource {
    jira: Arc<dyn JiraApi>,
}

impl JiraIssueSource {
    pub fn new(jira: Arc<dyn JiraApi>) -> JiraIssueSource {
        JiraIssueSource { jira }
    }
}

#[async_trait]
impl IssueSource for JiraIssueSource {
    async fn issue(&self, key: &str) -> Result<IssueDetail, IssueSourceError> {
        self.jira
            .issue_detail(key)
            .await
            .map_err(|e| classify(key, e))
    }

    async fn attachment(
        &self,
        attachment: &JiraAttachment,
        max_bytes: u64,
    ) -> Result<Option<Bytes>, IssueSourceError> {
        self.jira
            .download_attachment(attachment, max_bytes)
            .await
            .map_err(|e| classify(&format!("attachment {}", attachment.id), e))
    }
}
