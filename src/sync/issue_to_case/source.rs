//! What the sync needs from Jira when a delivery named an issue but carried none of its fields
//! (Automation `IssueId` messages) or an operator asked for a full sync: the issue as Jira holds
//! it now. [`JiraIssueSource`] reads it through the production Jira client.

use crate::jira::api::IssueDetail;
use std::sync::Arc;

use async_trait::async_trait;

use bytes::Bytes;

use crate::jira::{JiraApi, JiraError, api::JiraAttachment};

/// Why Jira could not give the issue; each keeps the Jira client's error as its source.
#[derive(Debug, thiserror::Error)]
pub enum IssueSourceError {
    #[error("Jira issue {key} not found")]
    NotFound {
        key: String,
        #[source]
        source: JiraError,
    },
    /// Rate limits, outages, time-outs, refused credentials: later may work.
    #[error("Jira unavailable: {0}")]
    Unavailable(#[source] JiraError),
    /// Jira answered in a way no retry changes (a malformed issue, a rejected request).
    #[error("Jira refused: {0}")]
    Refused(#[source] JiraError),
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
        e @ JiraError::NotFound { .. } => IssueSourceError::NotFound {
            key: key.to_owned(),
            source: e,
        },
        e if e.is_retryable() => IssueSourceError::Unavailable(e),
        e => IssueSourceError::Refused(e),
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn every_classification_keeps_the_jira_error_as_its_source() {
        let cases = [
            (
                JiraError::NotFound {
                    operation: "get_issue",
                    message: "Issue does not exist".into(),
                },
                "Jira issue SEC-7 not found",
            ),
            (
                JiraError::Unavailable {
                    operation: "get_issue",
                    message: "503: down".into(),
                },
                "Jira unavailable: Jira unavailable on get_issue: 503: down",
            ),
            (
                JiraError::Rejected {
                    operation: "get_issue",
                    message: "bad key".into(),
                },
                "Jira refused: Jira rejected get_issue: bad key",
            ),
        ];
        for (jira, shown) in cases {
            let said = jira.to_string();
            let e = classify("SEC-7", jira);
            assert_eq!(e.to_string(), shown);
            let source = e.source().unwrap_or_else(|| panic!("no source: {e:?}"));
            assert_eq!(source.to_string(), said);
            assert!(source.is::<JiraError>(), "{source:?}");
            // The sync's own error carries the chain on to Jira's.
            let sync = crate::sync::SyncError::Source {
                key: "SEC-7".into(),
                error: e,
            };
            let chained = sync.source().and_then(|e| e.source());
            assert!(chained.is_some_and(|s| s.is::<JiraError>()), "{sync:?}");
        }
    }
}
