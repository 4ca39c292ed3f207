//! The normalized, versioned events the gateway publishes and the consumers read.
//!
//! This is a public contract: other consumers on the bus depend on it. The JSON Schema
//! generated from these types is committed at `docs/events.schema.json` (a test keeps it
//! current). Add fields as optional; a breaking change gets a new `schema_version`.

pub mod adf;
pub mod jira;
pub mod sir;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Version of the event schema carried in every envelope.
pub const SCHEMA_VERSION: u32 = 1;

/// One event as it travels on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventEnvelope {
    /// Unique per event (UUID v7, so ids sort by creation time).
    pub id: Uuid,
    pub schema_version: u32,
    /// Where the event entered the system.
    pub origin: Origin,
    /// The peer's delivery identifier (`X-Atlassian-Webhook-Identifier`, SNS `MessageId`), or
    /// `body-sha256:<hex>` when the peer sends none.
    pub delivery_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub received_at: OffsetDateTime,
    #[serde(flatten)]
    pub event: Event,
}

impl EventEnvelope {
    pub fn new(origin: Origin, delivery_id: String, event: Event) -> EventEnvelope {
        EventEnvelope {
            id: Uuid::now_v7(),
            schema_version: SCHEMA_VERSION,
            origin,
            delivery_id,
            received_at: OffsetDateTime::now_utc(),
            event,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A Jira admin webhook verified by `X-Hub-Signature`.
    JiraWebhook,
    /// A Jira Automation "Send web request" verified by the shared-secret header.
    JiraAutomation,
    /// A Jira Automation "Send message to Amazon SNS topic" (or anything else published to an
    /// allowed topic), delivered by an SNS HTTPS subscription and verified by SNS's signature.
    JiraAutomationSns,
    /// An operator's request through the admin API.
    AdminApi,
    /// A native SIR event (`source: aws.security-ir`) from EventBridge.
    SirNative,
    /// The SIR poller (or a backfill).
    SirPoller,
    /// The Jira reconciler: a change found by searching Jira that no webhook had delivered.
    JiraReconciler,
}

/// The event, tagged by `type` with its payload in `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    #[serde(rename = "jira.issue.created")]
    JiraIssueCreated(jira::IssueEvent),
    #[serde(rename = "jira.issue.updated")]
    JiraIssueUpdated(jira::IssueEvent),
    #[serde(rename = "jira.issue.deleted")]
    JiraIssueDeleted(jira::IssueEvent),
    #[serde(rename = "jira.comment.created")]
    JiraCommentCreated(jira::CommentEvent),
    #[serde(rename = "jira.comment.updated")]
    JiraCommentUpdated(jira::CommentEvent),
    #[serde(rename = "jira.comment.deleted")]
    JiraCommentDeleted(jira::CommentEvent),
    /// A SIR case changed; its Jira issue should follow.
    #[serde(rename = "sir.case.changed")]
    SirCaseChanged(sir::CaseChanged),
    /// An operator asked for a full sync of one SIR case to its Jira issue.
    #[serde(rename = "sync.case.requested")]
    SyncCaseRequested(SyncCaseRequest),
    /// An operator asked for a full sync of one Jira issue to its SIR case.
    #[serde(rename = "sync.issue.requested")]
    SyncIssueRequested(SyncIssueRequest),
}

/// Which peer an event's change is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// SIR changed: write Jira.
    CaseToIssue,
    /// Jira changed: write SIR.
    IssueToCase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SyncCaseRequest {
    pub case_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SyncIssueRequest {
    pub issue_key: String,
}

impl Event {
    /// The `type` tag, also the EventBridge `detail-type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::JiraIssueCreated(_) => "jira.issue.created",
            Event::JiraIssueUpdated(_) => "jira.issue.updated",
            Event::JiraIssueDeleted(_) => "jira.issue.deleted",
            Event::JiraCommentCreated(_) => "jira.comment.created",
            Event::JiraCommentUpdated(_) => "jira.comment.updated",
            Event::JiraCommentDeleted(_) => "jira.comment.deleted",
            Event::SirCaseChanged(_) => "sir.case.changed",
            Event::SyncCaseRequested(_) => "sync.case.requested",
            Event::SyncIssueRequested(_) => "sync.issue.requested",
        }
    }

    /// The Jira project the event belongs to, for the project filter.
    pub fn jira_project(&self) -> Option<&str> {
        match self {
            Event::JiraIssueCreated(e)
            | Event::JiraIssueUpdated(e)
            | Event::JiraIssueDeleted(e) => e.issue.project_key.as_deref(),
            Event::JiraCommentCreated(e)
            | Event::JiraCommentUpdated(e)
            | Event::JiraCommentDeleted(e) => e.issue.project_key.as_deref(),
            Event::SyncIssueRequested(e) => e.issue_key.rsplit_once('-').map(|(p, _)| p),
            Event::SyncCaseRequested(_) | Event::SirCaseChanged(_) => None,
        }
    }

    /// The SIR case the event is about, when it names one.
    pub fn case_id(&self) -> Option<&str> {
        match self {
            Event::SirCaseChanged(e) => Some(&e.case_id),
            Event::SyncCaseRequested(e) => Some(&e.case_id),
            _ => None,
        }
    }

    /// Which way the event flows: a SIR-side change is applied to Jira, a Jira-side change to
    /// SIR.
    pub fn direction(&self) -> Direction {
        match self {
            Event::SirCaseChanged(_) | Event::SyncCaseRequested(_) => Direction::CaseToIssue,
            _ => Direction::IssueToCase,
        }
    }

    /// What the event is about, for ordering: the embedded queue hands one subject's events to
    /// one worker at a time, oldest first, so two changes to one issue (or one case) are never
    /// applied concurrently or out of order.
    pub fn subject(&self) -> Option<String> {
        if let Some(case_id) = self.case_id() {
            return Some(format!("case:{case_id}"));
        }
        self.jira_issue_key().map(|key| format!("issue:{key}"))
    }

    /// A name for the change itself, the same in every delivery Jira sends about it. Jira
    /// announces one comment revision twice (`comment_created` and a `jira:issue_updated` with
    /// the comment attached), with different delivery ids; intake dedupes on this key so the
    /// pair becomes one event. `None` where deliveries are not known to repeat a change.
    pub fn change_key(&self) -> Option<String> {
        let (kind, e) = match self {
            Event::JiraCommentCreated(e) => ("created", e),
            Event::JiraCommentUpdated(e) => ("updated", e),
            Event::JiraCommentDeleted(e) => ("deleted", e),
            _ => return None,
        };
        // Without the revision's time two edits of one comment would share a key.
        let revision = e
            .comment
            .updated
            .as_deref()
            .or(e.comment.created.as_deref())?;
        Some(format!(
            "jira-comment:{}:{}:{kind}:{revision}",
            e.issue.key, e.comment.id
        ))
    }

    /// The Jira issue key the event is about, when it names one.
    pub fn jira_issue_key(&self) -> Option<&str> {
        match self {
            Event::JiraIssueCreated(e)
            | Event::JiraIssueUpdated(e)
            | Event::JiraIssueDeleted(e) => Some(&e.issue.key),
            Event::JiraCommentCreated(e)
            | Event::JiraCommentUpdated(e)
            | Event::JiraCommentDeleted(e) => Some(&e.issue.key),
            Event::SyncIssueRequested(e) => Some(&e.issue_key),
            Event::SyncCaseRequested(_) | Event::SirCaseChanged(_) => None,
        }
    }
}

/// The JSON Schema of [`EventEnvelope`], as committed in `docs/events.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(EventEnvelope);
    serde_json::to_value(schema).expect("schema serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_with_type_and_data() {
        let event = Event::JiraCommentDeleted(jira::CommentEvent {
            issue: jira::IssueRef {
                id: Some("1".into()),
                key: "SEC-1".into(),
                project_key: Some("SEC".into()),
            },
            comment: jira::Comment {
                id: "9".into(),
                ..Default::default()
            },
            actor: None,
            occurred_at: Some(1),
            issue_event_type: None,
        });
        let env = EventEnvelope::new(Origin::JiraWebhook, "d-1".into(), event);
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(json["type"], "jira.comment.deleted");
        assert_eq!(json["data"]["comment"]["id"], "9");
        assert_eq!(json["schema_version"], 1);
        let back: EventEnvelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, env);
    }
}
