//! Jira comments on a case: the attributed body, the idempotency token, and the links between a
//! Jira comment and its SIR twin ([`crate::sync::links`], group = case id):
//! - a [`CommentLink`] keyed by the SIR comment id, `origin: jira`: the case → issue sync never
//!   mirrors such a comment back to Jira;
//! - a [`JiraCommentLink`] keyed by the Jira comment id: the reverse lookup. The case → issue
//!   sync writes it with `origin: sir` for SIR comments it copies to Jira; events for those
//!   write nothing back.

use sha2::{Digest, Sha256};

use super::text::{COMMENT_MAX, cap};
use crate::event::jira::{Actor, CommentEvent};
use crate::store::{StateStore, StoreError};
pub use crate::sync::links::Side;
use crate::sync::links::{self, CommentLink, JiraCommentLink, LinkState};

/// What the store knows about a Jira comment's SIR twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twin {
    pub sir_comment_id: String,
    pub origin: Side,
    /// SHA-256 of the body last written to SIR (`origin: jira` only).
    pub hash: Option<String>,
    /// The `comment` record's version, for the compare-and-set of the next write.
    pub version: Option<u64>,
    /// Jira's `updated` of the revision last written to SIR (`origin: jira` only).
    pub revision: Option<String>,
}

impl Twin {
    /// Whether a Jira revision dated `updated` is older than the one SIR already holds (a
    /// delivery that arrived late, or a retry of an earlier edit).
    pub fn is_newer_than(&self, updated: Option<&str>) -> bool {
        let parse = |t: Option<&str>| t.and_then(crate::jira::api::parse_time);
        matches!((parse(self.revision.as_deref()), parse(updated)), (Some(held), Some(event)) if held > event)
    }
}

pub async fn twin(
    store: &dyn StateStore,
    case_id: &str,
    jira_comment_id: &str,
) -> Result<Option<Twin>, StoreError> {
    let Some(reverse) = links::get::<JiraCommentLink>(store, case_id, jira_comment_id).await?
    else {
        return Ok(None);
    };
    let sir_comment_id = reverse.value.sir_comment_id;
    if reverse.value.origin == Side::Sir {
        return Ok(Some(Twin {
            sir_comment_id,
            origin: Side::Sir,
            hash: None,
            version: None,
            revision: None,
        }));
    }
    let forward = links::get::<CommentLink>(store, case_id, &sir_comment_id).await?;
    Ok(Some(Twin {
        hash: forward.as_ref().and_then(|l| l.value.hash.clone()),
        revision: forward.as_ref().and_then(|l| l.value.revision.clone()),
        version: forward.map(|l| l.version),
        sir_comment_id,
        origin: Side::Jira,
    }))
}

/// Records that SIR comment `sir_comment_id` is the copy of Jira comment `jira_comment_id`
/// with body hash `hash`. False when the case → issue sync had already claimed that SIR
/// comment as its own (it saw the comment first): logged by the caller.
pub async fn record(
    store: &dyn StateStore,
    case_id: &str,
    jira_comment_id: &str,
    sir_comment_id: &str,
    hash: &str,
    revision: Option<&str>,
    expected: Option<u64>,
) -> Result<bool, StoreError> {
    let forward = CommentLink {
        state: LinkState::Done,
        origin: Side::Jira,
        jira_comment_id: Some(jira_comment_id.to_owned()),
        hash: Some(hash.to_owned()),
        revision: revision.map(str::to_owned),
    };
    let written = links::put(store, case_id, sir_comment_id, &forward, expected).await?;
    if expected.is_none() {
        let reverse = JiraCommentLink {
            sir_comment_id: sir_comment_id.to_owned(),
            origin: Side::Jira,
        };
        // Already there after a retry: same content, nothing to do.
        links::put(store, case_id, jira_comment_id, &reverse, None).await?;
    }
    Ok(written)
}

/// The CreateCaseComment `clientToken` for a Jira comment: the same comment always gets the
/// same token, so a retried delivery returns the first comment instead of adding another.
pub fn client_token(jira_comment_id: &str) -> String {
    format!("jira-comment-{jira_comment_id}")
}

/// The tag every copied comment starts with; also how a copy is found again by its text.
/// Whether a SIR comment was written by this sync for `issue_key` (a mirrored Jira comment or
/// a closure note): both start with `[Jira KEY` and must never be mirrored back into Jira. The
/// case → issue sync checks this as well as the comment links, because a poll can see the new
/// comment before its link is stored.
pub fn written_for(body: &str, issue_key: &str) -> bool {
    body.strip_prefix("[Jira ")
        .and_then(|rest| rest.strip_prefix(issue_key))
        .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with(']'))
}

/// The closure note's opening: `[Jira KEY]`.
pub fn note_tag(issue_key: &str) -> String {
    format!("[Jira {issue_key}]")
}

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
    let Some(a) = actor else {
        return "someone".to_owned();
    };
    // accountId on Cloud, user name on Data Center.
    let id = a.account_id.as_deref().or(a.name.as_deref());
    match (a.display_name.as_deref(), id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (Some(name), None) => name.to_owned(),
        (None, Some(id)) => id.to_owned(),
        (None, None) => "someone".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_written_for_an_issue_are_recognised_by_their_tag() {
        assert!(written_for(&tag("SEC-7", "10042"), "SEC-7"));
        assert!(written_for(
            &format!("{} Closed from Jira", note_tag("SEC-7")),
            "SEC-7"
        ));
        assert!(!written_for(&tag("SEC-70", "1"), "SEC-7"));
        assert!(!written_for("[Jira SEC-7", "SEC-7"));
        assert!(!written_for("Please see [Jira SEC-7]", "SEC-7"));
    }
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
                    name: None,
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
