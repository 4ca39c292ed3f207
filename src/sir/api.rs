use async_trait::async_trait;

use super::{Case, CaseComment, CaseId, CaseStatus, CaseSummary};

/// What the SDK (or the HTTP client) said when a SIR call failed.
pub type SirCause = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong calling SIR, classified for the retry decision. `message` is what logs and
/// dead letters show; `source` is the failure it was classified from, kept for the chain, and
/// is `None` when this service found the problem itself (an unusable answer, a request it will
/// not send).
#[derive(Debug, thiserror::Error)]
pub enum SirError {
    /// ThrottlingException (after the SDK's own retries): back off and try later.
    #[error("SIR throttled the call: {message}")]
    Throttled {
        message: String,
        #[source]
        source: Option<SirCause>,
    },
    /// ValidationException: no retry fixes it; the event goes to the dead letters with this.
    #[error("SIR refused the request: {message}")]
    Validation {
        message: String,
        #[source]
        source: Option<SirCause>,
    },
    #[error("SIR case or resource not found: {message}")]
    NotFound {
        message: String,
        #[source]
        source: Option<SirCause>,
    },
    /// ConflictException (e.g. a clientToken reused with different members).
    #[error("SIR reported a conflict: {message}")]
    Conflict {
        message: String,
        #[source]
        source: Option<SirCause>,
    },
    /// AccessDeniedException: loud, kept for retry (permissions get fixed), never dropped.
    #[error("SIR denied access: {message}")]
    AccessDenied {
        message: String,
        #[source]
        source: Option<SirCause>,
    },
    /// Network, 5xx, timeouts.
    #[error("SIR unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<SirCause>,
    },
}

impl SirError {
    /// Whether retrying the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SirError::Throttled { .. }
                | SirError::AccessDenied { .. }
                | SirError::Unavailable { .. }
        )
    }

    /// A request or an answer no retry fixes, found by this service rather than by the SDK:
    /// there is no underlying error to keep.
    pub(crate) fn validation(message: impl Into<String>) -> SirError {
        SirError::Validation {
            message: message.into(),
            source: None,
        }
    }
}

/// One page of ListCases.
#[derive(Debug, Clone, Default)]
pub struct CasePage {
    pub cases: Vec<CaseSummary>,
    pub next_token: Option<String>,
    /// How many cases the whole listing holds, when the service says (progress display).
    pub total: Option<u64>,
}

/// Fields of UpdateCase the integration writes; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
}

/// CreateCase's members. Every value comes from the Jira issue or from configuration: the
/// service never invents accounts, regions or dates to satisfy a required member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub title: String,
    pub description: String,
    /// `Security Incident` or `Investigation`.
    pub engagement_type: String,
    /// `AWS` or `Self`.
    pub resolver_type: String,
    pub reported_incident_start: time::OffsetDateTime,
    pub impacted_accounts: Vec<String>,
    pub impacted_regions: Vec<String>,
    pub watchers: Vec<super::Watcher>,
}

/// Every SIR operation the service uses. Implemented over `aws-sdk-securityir`.
#[async_trait]
pub trait SirApi: Send + Sync {
    async fn get_case(&self, id: &CaseId) -> Result<Case, SirError>;
    /// Returns the new case's id; `client_token` makes retries return the same case.
    async fn create_case(&self, case: &NewCase, client_token: &str) -> Result<CaseId, SirError>;
    /// One page of at most 25 cases, newest activity first as the service returns them.
    async fn list_cases(&self, next_token: Option<String>) -> Result<CasePage, SirError>;
    /// Every comment of the case, all pages, oldest first.
    async fn list_comments(&self, id: &CaseId) -> Result<Vec<CaseComment>, SirError>;
    async fn update_case(&self, id: &CaseId, update: &CaseUpdate) -> Result<(), SirError>;
    /// One UpdateCaseStatus call; the caller walks the allowed path.
    async fn update_case_status(&self, id: &CaseId, status: CaseStatus) -> Result<(), SirError>;
    /// CloseCase. The API takes no closure code: the console sets it.
    async fn close_case(&self, id: &CaseId) -> Result<(), SirError>;
    /// Returns the new comment's id. `client_token` makes retries idempotent.
    async fn create_comment(
        &self,
        id: &CaseId,
        body: &str,
        client_token: &str,
    ) -> Result<String, SirError>;
    async fn update_comment(
        &self,
        id: &CaseId,
        comment_id: &str,
        body: &str,
    ) -> Result<(), SirError>;
    /// A presigned URL to download the attachment's bytes.
    async fn attachment_download_url(
        &self,
        id: &CaseId,
        attachment_id: &str,
    ) -> Result<String, SirError>;
    /// A presigned URL to PUT a new attachment's bytes.
    async fn attachment_upload_url(
        &self,
        id: &CaseId,
        file_name: &str,
        content_length: u64,
        client_token: &str,
    ) -> Result<String, SirError>;
}
