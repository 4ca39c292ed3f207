//! The entities the emulator stores. Tests read them through the handle's inspection methods,
//! so their fields are public; the API renders them through `repr`.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;
use time::OffsetDateTime;

use crate::adf;

/// A rich-text value kept in the form it was written in, so that the same issue reads as ADF
/// through v3 and as wiki markup through v2.
#[derive(Debug, Clone, PartialEq)]
pub enum RichText {
    Adf(Value),
    Wiki(String),
}

impl RichText {
    pub fn to_adf(&self) -> Value {
        match self {
            RichText::Adf(v) => v.clone(),
            RichText::Wiki(s) => adf::from_wiki(s),
        }
    }
    pub fn to_wiki(&self) -> String {
        match self {
            RichText::Adf(v) => adf::to_wiki(v),
            RichText::Wiki(s) => s.clone(),
        }
    }
    /// Plain text, for JQL text search and assertions.
    pub fn to_text(&self) -> String {
        match self {
            RichText::Adf(v) => adf::to_text(v),
            RichText::Wiki(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub display_name: String,
    pub api_token: Option<String>,
    pub pat: Option<String>,
    pub admin: bool,
    pub account_type: String,
    /// A deactivated account's credentials are refused (401).
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct Issue {
    /// Numeric string id (`10000`, `10001`, …).
    pub id: String,
    pub key: String,
    pub project_key: String,
    pub issue_type_id: String,
    pub summary: String,
    pub description: Option<RichText>,
    pub labels: Vec<String>,
    pub priority_id: Option<String>,
    /// Account ids.
    pub assignee: Option<String>,
    pub reporter: String,
    pub creator: String,
    pub status_id: String,
    pub resolution_id: Option<String>,
    pub resolution_date: Option<OffsetDateTime>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    /// `customfield_NNNNN` → value (textarea values as ADF or a wiki string, as written).
    pub custom_fields: BTreeMap<String, Value>,
    pub comment_ids: Vec<String>,
    pub attachment_ids: Vec<String>,
    pub properties: BTreeMap<String, Value>,
    pub changelog: Vec<ChangeGroup>,
    pub status_history: Vec<StatusChange>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub issue_id: String,
    pub author: String,
    pub update_author: String,
    pub body: RichText,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub visibility: Option<Value>,
    pub properties: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: String,
    pub issue_id: String,
    pub filename: String,
    pub mime_type: String,
    pub content: Bytes,
    pub author: String,
    pub created: OffsetDateTime,
}

/// One entry of an issue's history (`changelog.histories[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeGroup {
    pub id: String,
    pub author: String,
    pub created: OffsetDateTime,
    pub items: Vec<ChangeItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangeItem {
    pub field: String,
    /// `jira` or `custom`.
    pub fieldtype: String,
    pub field_id: String,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// A status change, kept for tests that check the path an issue took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub from: String,
    pub to: String,
    /// `None` for the initial status at creation.
    pub transition_id: Option<String>,
    pub author: String,
}

/// A webhook registered through `/rest/webhooks/1.0/webhook` or configured (the target tests
/// set, as if added in Jira's settings).
#[derive(Debug, Clone)]
pub struct WebhookRegistration {
    pub id: u64,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub jql: Option<String>,
    pub exclude_body: bool,
    pub secret: Option<String>,
    pub enabled: bool,
    /// Registered through the REST API (adds `matchedWebhookIds` to payloads).
    pub via_rest: bool,
    pub last_updated_user: String,
    pub last_updated: OffsetDateTime,
}
