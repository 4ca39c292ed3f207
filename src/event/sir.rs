//! SIR-side events: a case changed and its Jira issue should follow. Produced from SIR's native
//! EventBridge events (`source: aws.security-ir`) and by the poller; carries only what tells the
//! consumer which case to fetch, because SIR's own events carry no more.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseChanged {
    /// The case id (10 to 32 digits).
    pub case_id: String,
    pub change: CaseChange,
    /// Who made the change, as SIR reports it (account id or principal ARN), when known.
    pub actor: Option<String>,
    /// The case's `lastUpdatedDate` when the change was seen (RFC 3339), when known.
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    Created,
    Updated,
    Closed,
    CommentAdded,
    CommentUpdated,
    /// The poller saw a newer `lastUpdatedDate` (what changed is unknown).
    Polled,
    /// Backfill of an existing case.
    Backfill,
}
