//! Jira comments on a case: the attributed body, the idempotency token, and the link between a
//! Jira comment and its SIR twin, kept as a store blob (`link/jira-comment/<id>`).
//!
//! The case → issue sync, when it copies a SIR comment into Jira, writes the same link with
//! `origin: sir`, so that comment's Jira events are recognised as echoes.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::text::{COMMENT_MAX, cap};
use crate::event::jira::{Actor, CommentEvent};
use crate::store::{StateStore, StoreError};

/// Links never expire: a comment can be edited years later. (The store wants a TTL; beyond
/// five years DynamoDB's TTL ignores the item, which is what "never" needs.)
const LINK_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Which side the comment was first written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Jira,
    Sir,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentLink {
    pub case_id: String,
    pub sir_comment_id: String,
    pub origin: Origin,
    /// SHA-256 (hex) of the body last written to the other side, to skip repeats.
    #[serde(default)]
    pub body_sha256: Option<String>,
}

pub fn link_key(jira_comment_id: &str) -> String {
    format!("link/jira-comment/{jira_comment_id}")
}

pub async fn load_link(
    store: &dyn StateStore,
    jira_comment_id: &str,
) -> Result<Option<CommentLink>, StoreError> {
    match store.blob(&link_key(jira_comment_id)).await? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("comment link {jira_comment_id}: {e}"))),
        None => Ok(None),
    }
}

pub async fn save_link(
    store: &dyn StateStore,
    jira_comment_id: &str,
    link: &CommentLink,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(link).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store
        .put_blob(&link_key(jira_comment_id), &bytes, LINK_TTL)
        .await
}

/// The CreateCaseComment `clientToken` for a Jira comment: the same comment always gets the
/// same token, so a retried delivery returns the first comment instead of adding another.
pub fn client_token(jira_comment_id: &str) -> String {
    format!("jira-comment-{jira_comment_id}")
}

/// The tag every copied comment starts with; also how a copy is found again by its text.
pub fn tag(issue_key: &str, jira_comment_id: &str) -> String {
    format!("[Jira {issue_key} comment {jira_comment_id}]")
}

/// The SIR comment body: who wrote it in Jira and when, then the text. Built only from the
/// delivery, so a redelivery produces the same body (the token requires it).
pub fn body(event: &CommentEvent) -> String {
    let c = &event.comment;
    let who = person(c.author.as_ref().or(event.actor.as_ref()));
    let when = c.created.as_deref().unwrap_or("an unknown time");
    let mut header = format!("{} {who} wrote on {when}", tag(&event.issue.key, &c.id));
    if let (Some(updated), Some(created)) = (c.updated.as_deref(), c.created.as_deref())
        && updated != created
    {
        let editor = person(
            c.update_author
                .as_ref()
                .or(event.actor.as_ref())
                .or(c.author.as_ref()),
        );
        header.push_str(&format!(" (edited by {editor} on {updated})"));
    }
    let text = c.body.as_ref().map(|b| b.text.as_str()).unwrap_or("");
    let marker = format!(
        "\n\n[… cut by sir-jira-bridge: SIR keeps {COMMENT_MAX} characters; the full comment is on Jira issue {}]",
        event.issue.key
    );
    cap(&format!("{header}:\n\n{text}"), COMMENT_MAX, &marker)
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn person(actor: Option<&Actor>) -> String {
    match actor {
        Some(Actor {
            display_name: Some(name),
            account_id: Some(id),
            ..
        }) => format!("{name} ({id})"),
        Some(Actor {
            display_name: Some(name),
            ..
        }) => name.clone(),
        Some(Actor {
            account_id: Some(id),
            ..
        }) => id.clone(),
        _ => "someone".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::jira::{Comment, IssueRef, RichText};

    fn event(updated: &str) -> CommentEvent {
        CommentEvent {
            issue: IssueRef {
                key: "SEC-7".into(),
                ..IssueRef::default()
            },
            comment: Comment {
                id: "10042".into(),
                body: Some(RichText {
                    text: "rotated the key".into(),
                    adf: None,
                }),
                author: Some(Actor {
                    account_id: Some("acc-1".into()),
                    display_name: Some("Dana".into()),
                    account_type: None,
                }),
                created: Some("2025-11-26T10:00:00.000+0000".into()),
                updated: Some(updated.into()),
                ..Comment::default()
            },
            ..CommentEvent::default()
        }
    }

    #[test]
    fn attributes_author_time_and_edits() {
        let b = body(&event("2025-11-26T10:00:00.000+0000"));
        assert_eq!(
            b,
            "[Jira SEC-7 comment 10042] Dana (acc-1) wrote on 2025-11-26T10:00:00.000+0000:\n\nrotated the key"
        );
        let edited = body(&event("2025-11-26T11:00:00.000+0000"));
        assert!(edited.contains("(edited by Dana (acc-1) on 2025-11-26T11:00:00.000+0000)"));
        assert_eq!(client_token("10042"), "jira-comment-10042");
    }
}
