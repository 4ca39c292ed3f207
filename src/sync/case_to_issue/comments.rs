//! SIR comments mirrored to Jira: each once, with attribution, edits followed. A comment is
//! recorded `pending` before it is posted and `done` with its Jira id after, so a crash in
//! between is recovered by finding the posted comment (ours, naming the SIR comment id) instead
//! of posting it twice.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::{CaseToIssueSync, SyncError, ledger::hash_json};
use crate::{
    jira::{
        adf,
        api::{JiraComment, JiraError},
    },
    sir::{Case, CaseComment},
    sync::links::{self, CommentLink, JiraCommentLink, LinkState, Linked, Side},
};

/// The words every mirrored comment starts with, naming its SIR comment id.
pub fn marker(comment_id: &str) -> String {
    format!("SIR comment {comment_id}")
}

/// The Jira body of a SIR comment: who wrote it and when, that it came from SIR, then the text.
pub fn body(case: &Case, c: &CaseComment) -> Value {
    let when = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "an unknown time".into())
    };
    let mut header = vec![
        adf::strong("From AWS Security Incident Response"),
        adf::text(&format!(
            " · {} on case {} · by {} at {}",
            marker(&c.id),
            case.id,
            c.creator.as_deref().unwrap_or("an unknown principal"),
            when(c.created)
        )),
    ];
    if c.last_updated.is_some() && c.last_updated != c.created {
        header.push(adf::em(&format!(
            " (edited by {} at {})",
            c.last_updated_by
                .as_deref()
                .or(c.creator.as_deref())
                .unwrap_or("an unknown principal"),
            when(c.last_updated)
        )));
    }
    let mut blocks = vec![adf::paragraph(header)];
    let text = adf::paragraphs(&c.body);
    if text.is_empty() {
        blocks.push(adf::paragraph(vec![adf::em("(empty comment)")]));
    } else {
        blocks.extend(text);
    }
    adf::doc(blocks)
}

impl CaseToIssueSync {
    pub(super) async fn sync_comments(
        &self,
        case: &Case,
        comments: &[CaseComment],
        key: &str,
    ) -> Result<(), SyncError> {
        let group = case.id.as_str();
        let known: std::collections::HashMap<String, Linked<CommentLink>> =
            links::all::<CommentLink>(self.store.as_ref(), group)
                .await?
                .into_iter()
                .map(|l| (l.key.clone(), l))
                .collect();
        // Listed at most once per sync, and only when a pending comment needs recovering.
        let mut on_jira: Option<Vec<JiraComment>> = None;
        let (mut added, mut edited) = (0, 0);
        for c in comments {
            if crate::sync::issue_to_case::comments::written_for(&c.body, key) {
                // Written by the issue → case sync (its link may not be stored yet).
                continue;
            }
            let doc = body(case, c);
            let hash = hash_json(&doc);
            let link = match known.get(&c.id) {
                // Created in SIR from a Jira comment by the issue → case sync: never mirrored back.
                Some(l) if l.value.origin == Side::Jira => continue,
                Some(l) if l.value.state == LinkState::Done => {
                    if l.value.hash.as_deref() == Some(hash.as_str()) {
                        continue;
                    }
                    let jira_id = l.value.jira_comment_id.as_deref().unwrap_or_default();
                    match self.jira.update_comment(key, jira_id, &doc).await {
                        Ok(()) => {}
                        // Someone deleted the mirror in Jira: that deletion stands.
                        Err(JiraError::NotFound { .. }) => tracing::info!(
                            case_id = %case.id, sir_comment = %c.id, jira_comment = jira_id,
                            "the mirrored comment was deleted in Jira: its edit is not mirrored"
                        ),
                        Err(e) => return Err(e.into()),
                    }
                    let value = mirrored(jira_id, hash);
                    links::put(self.store.as_ref(), group, &c.id, &value, Some(l.version)).await?;
                    edited += 1;
                    continue;
                }
                Some(l) => l.clone(),
                None => {
                    let pending = CommentLink {
                        state: LinkState::Pending,
                        origin: Side::Sir,
                        jira_comment_id: None,
                        hash: None,
                        revision: None,
                    };
                    if !links::put(self.store.as_ref(), group, &c.id, &pending, None).await? {
                        return Err(SyncError::Busy(case.id.to_string()));
                    }
                    Linked {
                        key: c.id.clone(),
                        value: pending,
                        version: 1,
                    }
                }
            };
            // Pending: posted before a crash, or not yet.
            let mut jira_id = None;
            if link.version > 1 || known.contains_key(&c.id) {
                if on_jira.is_none() {
                    on_jira = Some(self.jira.comments(key).await?);
                }
                let own = &self.settings.own_account;
                let marker = marker(&c.id);
                jira_id = on_jira
                    .iter()
                    .flatten()
                    .find(|j| j.author.as_deref() == Some(own.as_str()) && j.text.contains(&marker))
                    .map(|j| j.id.clone());
                if let Some(id) = &jira_id {
                    tracing::info!(case_id = %case.id, sir_comment = %c.id, jira_comment = %id, "found a comment posted before a failure: not posting it again");
                    self.jira.update_comment(key, id, &doc).await?;
                }
            }
            let jira_id = match jira_id {
                Some(id) => id,
                None => {
                    added += 1;
                    self.jira.add_comment(key, &doc).await?
                }
            };
            let done = mirrored(&jira_id, hash);
            links::put(self.store.as_ref(), group, &c.id, &done, Some(link.version)).await?;
            let reverse = JiraCommentLink {
                sir_comment_id: c.id.clone(),
                origin: Side::Sir,
            };
            links::put(self.store.as_ref(), group, &jira_id, &reverse, None).await?;
        }
        if added + edited > 0 {
            tracing::info!(case_id = %case.id, issue_key = key, added, edited, "comments mirrored");
        }
        Ok(())
    }
}

/// The link of a SIR comment mirrored to Jira as `jira_id` with body hash `hash`.
fn mirrored(jira_id: &str, hash: String) -> CommentLink {
    CommentLink {
        state: LinkState::Done,
        origin: Side::Sir,
        jira_comment_id: Some(jira_id.to_owned()),
        hash: Some(hash),
        revision: None,
    }
}
