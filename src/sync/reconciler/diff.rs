//! What a found issue holds that its case has not taken: compared with the issue ledger (summary,
//! the description's person part, status), the comment links and the attachment links, and
//! turned into the events the lost webhooks would have carried. No Jira call unless the search
//! carried only some of the issue's comments.

use crate::{
    bus::Outgoing,
    event::{
        Event, EventEnvelope, Origin,
        jira::{CommentEvent, FieldChange, IssueEvent},
    },
    jira::api::{FoundIssue, JiraApi},
    store::StateStore,
    sync::{
        case_to_issue::IssueLedger,
        echo,
        fields::description,
        issue_to_case::comments::{self, Side},
        links::{self, JiraAttachmentLink, LinkState},
    },
};

use super::ReconcileError;

/// The events that bring `found`'s unsynced changes to its case; empty when it has none or is
/// mapped to no case.
pub(super) async fn differences(
    jira: &dyn JiraApi,
    store: &dyn StateStore,
    own_account: Option<&str>,
    found: &FoundIssue,
) -> Result<Vec<Outgoing>, ReconcileError> {
    let issue = &found.detail.issue;
    let key = issue.key.as_str();
    let Some(mapping) = store.mapping_by_issue(key).await? else {
        return Ok(Vec::new());
    };
    let case_id = mapping.case_id.as_str();
    let updated = issue.updated.as_deref().unwrap_or("");
    let mut events = Vec::new();

    let mut changes = match IssueLedger::load(store, key).await? {
        Some(ledger) => field_changes(found, &ledger),
        // Nothing known of what the issue held: no field can be told changed.
        None => Vec::new(),
    };
    changes.extend(new_attachments(store, case_id, own_account, found).await?);
    if !changes.is_empty() {
        events.push(envelope(
            format!("jira-reconcile:{key}:{updated}"),
            Event::JiraIssueUpdated(IssueEvent {
                issue: issue.clone(),
                actor: None,
                changes,
                changelog_id: None,
                issue_event_type: Some("reconciled".into()),
                occurred_at: millis(issue.updated.as_deref()),
                complete: true,
            }),
        ));
    }

    let fetched;
    let listed = if found.comments_complete {
        &found.comments
    } else {
        fetched = jira.comment_events(key).await?;
        &fetched
    };
    for comment in listed {
        if let Some(event) = comment_change(store, case_id, own_account, comment).await? {
            events.push(event);
        }
    }
    Ok(events)
}

/// The fields whose value in Jira differs from what the ledger says the issue holds, each as
/// the changelog item a webhook would have carried. A field the ledger knows nothing of is
/// left alone: there is nothing to tell a change from.
fn field_changes(found: &FoundIssue, ledger: &IssueLedger) -> Vec<FieldChange> {
    let issue = &found.detail.issue;
    let mut changes = Vec::new();
    if let (Some(now), Some(known)) = (&issue.summary, &ledger.summary)
        && now != known
    {
        changes.push(change("summary", Some(known.clone()), Some(now.clone())));
    }
    if let Some(known) = &ledger.description_text {
        let text = issue.description.clone().unwrap_or_default();
        if !description::same_text(known, &description::person_text(&text)) {
            // The changelog's strings: the echo rule and the issue → case sync read the person's
            // part of `to` as they would a delivery's.
            changes.push(change("description", None, Some(text.text)));
        }
    }
    if let (Some(now), Some(known)) = (&issue.status, &ledger.status)
        && !now.name.eq_ignore_ascii_case(known)
    {
        changes.push(change(
            "status",
            Some(known.clone()),
            Some(now.name.clone()),
        ));
        if found.detail.resolution != ledger.resolution {
            changes.push(change(
                "resolution",
                ledger.resolution.clone(),
                found.detail.resolution.clone(),
            ));
        }
    }
    changes
}

/// Attachments a person added that the case has not received: neither copies of SIR's
/// attachments nor ones already uploaded (the same rules as the issue → case sync).
async fn new_attachments(
    store: &dyn StateStore,
    case_id: &str,
    own_account: Option<&str>,
    found: &FoundIssue,
) -> Result<Vec<FieldChange>, ReconcileError> {
    let on_issue = &found.detail.attachments;
    if on_issue.is_empty() {
        return Ok(Vec::new());
    }
    let from_sir = links::copies_of_sir_attachments(store, case_id).await?;
    let mut changes = Vec::new();
    for a in on_issue {
        if from_sir.contains(&a.id) || (own_account.is_some() && a.author.as_deref() == own_account)
        {
            continue;
        }
        let done = links::get::<JiraAttachmentLink>(store, case_id, &a.id)
            .await?
            .is_some_and(|l| l.value.state == LinkState::Done);
        if !done {
            changes.push(change("Attachment", None, Some(a.id.clone())));
        }
    }
    Ok(changes)
}

/// The event for a comment the case lacks or holds an older revision of; `None` for the
/// integration's own comments (copies of SIR's) and for those the case holds as they are.
async fn comment_change(
    store: &dyn StateStore,
    case_id: &str,
    own_account: Option<&str>,
    comment: &CommentEvent,
) -> Result<Option<Outgoing>, ReconcileError> {
    if own_account.is_some_and(|own| {
        echo::is_own_actor(comment.actor.as_ref(), own)
            || echo::is_own_actor(comment.comment.author.as_ref(), own)
    }) {
        return Ok(None);
    }
    let c = &comment.comment;
    let revision = c.updated.as_deref().or(c.created.as_deref());
    let event = match comments::twin(store, case_id, &c.id).await? {
        Some(twin) if twin.origin == Side::Sir => return Ok(None),
        Some(twin)
            if twin.revision.is_some() && millis(twin.revision.as_deref()) >= millis(revision) =>
        {
            return Ok(None);
        }
        Some(twin)
            if twin.hash.as_deref() == Some(&comments::sha256_hex(&comments::body(comment))) =>
        {
            return Ok(None);
        }
        Some(_) => Event::JiraCommentUpdated(comment.clone()),
        None => Event::JiraCommentCreated(comment.clone()),
    };
    let mut event = event;
    if let Event::JiraCommentCreated(e) | Event::JiraCommentUpdated(e) = &mut event {
        e.occurred_at = millis(revision);
        e.issue_event_type = Some("reconciled".into());
    }
    Ok(Some(envelope(
        format!(
            "jira-reconcile:{}:comment:{}:{}",
            comment.issue.key,
            c.id,
            revision.unwrap_or("")
        ),
        event,
    )))
}

fn change(field: &str, from: Option<String>, to: Option<String>) -> FieldChange {
    FieldChange {
        field: field.to_owned(),
        field_id: None,
        from: None,
        from_string: from,
        to: to.clone(),
        to_string: to,
    }
}

fn envelope(delivery_id: String, event: Event) -> Outgoing {
    Outgoing {
        envelope: EventEnvelope::new(Origin::JiraReconciler, delivery_id, event),
        raw: None,
    }
}

/// A Jira time in milliseconds since the epoch.
pub(super) fn millis(jira_time: Option<&str>) -> Option<i64> {
    let t = crate::jira::api::parse_time(jira_time?)?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}
