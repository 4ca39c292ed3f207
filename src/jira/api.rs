//! The seam every Jira call goes through, in the service's own terms. Bodies are ADF documents
//! whatever the flavour: the client renders them as wiki text for Data Center.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

/// Which Jira the service talks to: Cloud (REST v3, ADF, `Basic email:token`) or Data Center
/// (REST v2, wiki text, `Bearer PAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Cloud,
    DataCenter,
}

/// An issue type named by id (all digits) or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueType {
    Id(String),
    Name(String),
}

impl IssueType {
    pub fn parse(value: &str) -> IssueType {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            IssueType::Id(value.to_owned())
        } else {
            IssueType::Name(value.to_owned())
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewIssue {
    pub project_key: String,
    pub issue_type: IssueType,
    pub summary: String,
    /// An ADF document.
    pub description: Value,
    pub labels: Vec<String>,
    /// Custom field id → value, sent as given.
    pub custom_fields: BTreeMap<String, Value>,
    /// Entity properties (key → JSON value) set by the create itself, in the same request.
    pub properties: BTreeMap<String, Value>,
}

/// An edit: `None` and empty collections leave a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueEdit {
    pub summary: Option<String>,
    /// An ADF document.
    pub description: Option<Value>,
    /// Added with `update.labels[].add`, so labels people put on the issue stay.
    pub add_labels: Vec<String>,
    pub custom_fields: BTreeMap<String, Value>,
}

impl IssueEdit {
    pub fn is_empty(&self) -> bool {
        self.summary.is_none()
            && self.description.is_none()
            && self.add_labels.is_empty()
            && self.custom_fields.is_empty()
    }
}

/// An issue's numeric id and its key (`SEC-42`): what a create or a search answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueIds {
    pub id: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueSnapshot {
    pub id: String,
    pub key: String,
    pub status: String,
    pub labels: Vec<String>,
    pub attachments: Vec<JiraAttachment>,
}

/// The issue as Jira holds it now, read with the fields the issue → case sync applies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueDetail {
    pub issue: crate::event::jira::Issue,
    /// The resolution's name (`Done`, `Won't Do`, `Duplicate`…), when resolved.
    pub resolution: Option<String>,
    pub attachments: Vec<JiraAttachment>,
}

/// An issue as a search found it, with what the Jira reconciler compares against the ledgers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FoundIssue {
    pub detail: IssueDetail,
    /// Its comments as the search returned them, each as the event its latest revision's
    /// delivery would have carried.
    pub comments: Vec<crate::event::jira::CommentEvent>,
    /// False when the search carried only some of its comments (Jira caps the comments a
    /// search returns per issue): [`JiraApi::comment_events`] reads them all.
    pub comments_complete: bool,
}

/// Where the next page of a search starts: Cloud's opaque token, Data Center's offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchCursor {
    Token(String),
    StartAt(u64),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchPage {
    pub issues: Vec<FoundIssue>,
    /// `None` on the last page.
    pub next: Option<SearchCursor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub id: String,
    pub name: String,
    /// The status the transition leads to.
    pub to: String,
    /// Whether the transition's screen takes a resolution.
    pub takes_resolution: bool,
}

/// Jira's timestamps: `2026-11-26T14:20:00.789+0000` (no colon in the offset), or RFC 3339.
pub fn parse_time(value: &str) -> Option<time::OffsetDateTime> {
    const JIRA_TIME: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    time::OffsetDateTime::parse(value, JIRA_TIME)
        .or_else(|_| {
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        })
        .ok()
}

/// Where an issue stands in its workflow: its status and the transitions offered from it, read
/// in one answer so that the two always belong together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub status: String,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraComment {
    pub id: String,
    /// The body as plain text.
    pub text: String,
    /// accountId (Cloud) or user name (Data Center) of the author.
    pub author: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraAttachment {
    pub id: String,
    pub filename: String,
    pub size: u64,
    /// accountId (Cloud) or user name (Data Center) of who attached it.
    pub author: Option<String>,
}

/// The account the integration acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraUser {
    /// Cloud's accountId, or Data Center's user name (DC users have no accountId).
    pub id: String,
    pub display_name: Option<String>,
}

/// What went wrong calling Jira, classified for the retry decision.
#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    /// 429/503 kept coming after the client's own waits: the event is retried later.
    #[error(
        "Jira kept refusing {operation} with {status} (rate limited or unavailable) after {attempts} attempts"
    )]
    RateLimited {
        operation: &'static str,
        status: u16,
        attempts: u32,
    },
    /// 401/403: credentials expired or lack permission. Loud, and the event is kept for retry:
    /// a rotated token fixes it.
    #[error("Jira refused the integration's credentials on {operation} ({status}): {message}")]
    Auth {
        operation: &'static str,
        status: u16,
        message: String,
    },
    /// 400: no retry fixes it (a bad field mapping, an invalid value); Jira's own message.
    #[error("Jira rejected {operation}: {message}")]
    Rejected {
        operation: &'static str,
        message: String,
    },
    #[error("Jira: not found on {operation}: {message}")]
    NotFound {
        operation: &'static str,
        message: String,
    },
    /// 413 on an upload.
    #[error("Jira refused the attachment as too large")]
    TooLarge,
    /// Network errors, time-outs, other 5xx.
    #[error("Jira unavailable on {operation}: {message}")]
    Unavailable {
        operation: &'static str,
        message: String,
    },
    /// A success whose body is not what the API documents, or another status.
    #[error("unexpected answer from Jira on {operation}: {message}")]
    Unexpected {
        operation: &'static str,
        message: String,
    },
    /// The same, where another error is the cause (a body that does not decode, an HTTP
    /// client that cannot be built): `source` keeps it for the chain.
    #[error("unexpected answer from Jira on {operation}: {message}")]
    Client {
        operation: &'static str,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl JiraError {
    /// A [`JiraError::Client`] described as `context: error` (or the error alone).
    pub(crate) fn client(
        operation: &'static str,
        context: Option<&str>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> JiraError {
        JiraError::Client {
            operation,
            message: match context {
                Some(context) => format!("{context}: {source}"),
                None => source.to_string(),
            },
            source: Box::new(source),
        }
    }

    /// Whether retrying the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            JiraError::RateLimited { .. } | JiraError::Auth { .. } | JiraError::Unavailable { .. }
        )
    }

    /// Whether Jira certainly did not apply the request (it answered with a refusal), as
    /// opposed to a time-out or 5xx after which the write may or may not have happened.
    pub fn is_definite_refusal(&self) -> bool {
        matches!(
            self,
            JiraError::Rejected { .. }
                | JiraError::Auth { .. }
                | JiraError::NotFound { .. }
                | JiraError::TooLarge
                | JiraError::RateLimited { .. }
        )
    }
}

/// Every Jira operation the case → issue sync uses. Implemented over HTTP by
/// [`super::JiraClient`].
#[async_trait]
pub trait JiraApi: Send + Sync {
    fn flavour(&self) -> Flavour;
    async fn myself(&self) -> Result<JiraUser, JiraError>;
    async fn create_issue(&self, issue: &NewIssue) -> Result<IssueIds, JiraError>;
    async fn edit_issue(&self, key: &str, edit: &IssueEdit) -> Result<(), JiraError>;
    async fn issue(&self, key: &str) -> Result<IssueSnapshot, JiraError>;
    /// The issue's summary, description, status (with category), resolution, labels and
    /// attachments, for applying it to its case.
    async fn issue_detail(&self, key: &str) -> Result<IssueDetail, JiraError>;
    /// Every issue the query matches (all pages), oldest first.
    async fn search(&self, jql: &str) -> Result<Vec<IssueIds>, JiraError>;
    /// One page of the issues `jql` matches, in its order, with the fields the issue → case
    /// sync applies plus comments and attachments (one call per page).
    async fn search_page(
        &self,
        jql: &str,
        cursor: Option<&SearchCursor>,
    ) -> Result<SearchPage, JiraError>;
    /// Every comment of the issue (all pages), oldest first, as the events their latest
    /// revisions' deliveries would have carried.
    async fn comment_events(
        &self,
        key: &str,
    ) -> Result<Vec<crate::event::jira::CommentEvent>, JiraError>;
    /// The transitions available from the issue's current status.
    async fn transitions(&self, key: &str) -> Result<Vec<Transition>, JiraError>;
    /// The issue's status and the transitions offered from it, in one read.
    async fn position(&self, key: &str) -> Result<Position, JiraError>;
    /// When the issue's status last changed (its changelog's latest status item), if ever.
    async fn status_changed_at(&self, key: &str)
    -> Result<Option<time::OffsetDateTime>, JiraError>;
    async fn transition(
        &self,
        key: &str,
        transition_id: &str,
        resolution: Option<&str>,
    ) -> Result<(), JiraError>;
    /// Every comment of the issue (all pages), oldest first.
    async fn comments(&self, key: &str) -> Result<Vec<JiraComment>, JiraError>;
    /// `body` is an ADF document; returns the new comment's id.
    async fn add_comment(&self, key: &str, body: &Value) -> Result<String, JiraError>;
    async fn update_comment(&self, key: &str, id: &str, body: &Value) -> Result<(), JiraError>;
    async fn add_attachment(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        bytes: bytes::Bytes,
    ) -> Result<Vec<JiraAttachment>, JiraError>;
    /// The attachment's bytes, or `None` when it is larger than `max_bytes` (not downloaded).
    async fn download_attachment(
        &self,
        attachment: &JiraAttachment,
        max_bytes: u64,
    ) -> Result<Option<bytes::Bytes>, JiraError>;
    async fn set_issue_property(
        &self,
        key: &str,
        property: &str,
        value: &Value,
    ) -> Result<(), JiraError>;
    async fn issue_property(&self, key: &str, property: &str) -> Result<Option<Value>, JiraError>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn jira_timestamps_parse() {
        let t = super::parse_time("2026-11-26T14:20:00.789+0000").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_702_800);
        assert!(super::parse_time("2026-11-26T14:20:00Z").is_some());
        assert!(super::parse_time("yesterday").is_none());
    }
}
