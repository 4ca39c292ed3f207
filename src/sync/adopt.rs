//! Taking over an issue that another integration (AWS's sample) made for a case: marking it
//! the way the case → issue sync recognises its own issues, and seeding the sync's ledger and
//! links from what the issue holds now, so the first sync after the takeover writes only what
//! this service's format adds (the details section, custom fields) and nothing afterwards.
//!
//! This lives with the syncs, not with the migration command, because every value written here
//! is a statement in the syncs' own terms ("the issue holds this summary", "this Jira comment
//! mirrors that SIR comment"): when the ledger or the links change shape, this must change with
//! them. The command (`crate::migrate`) only reads the other integration's records and decides
//! which case goes with which issue.

use serde_json::Value;

use super::{
    SyncError,
    case_to_issue::{
        CASE_PROPERTY, CLAIM_KEY, IssueLedger, SyncSettings, case_labels, case_property,
        comment_body, ledger::hash_json,
    },
    fields::{self, description},
    links::{
        self, AttachmentLink, ClaimState, CommentLink, IssueClaim, JiraCommentLink, LinkState, Side,
    },
};
use crate::{
    db::now_ms,
    jira::api::{IssueDetail, IssueEdit, JiraApi, JiraAttachment, JiraComment, JiraError},
    sir::{Case, CaseComment},
    store::{StateStore, StoreError},
};

/// The tag AWS's sample puts into a SIR comment it copied from a Jira comment.
pub const SAMPLE_JIRA_TAG: &str = "[JIRA Update]";

/// What marking an issue changed in Jira.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marked {
    /// Labels were added (one edit).
    pub labels: bool,
    /// The `sir` issue property was written.
    pub property: bool,
}

impl Marked {
    pub fn writes(&self) -> u32 {
        u32::from(self.labels) + u32::from(self.property)
    }
}

/// Marking's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    Marked(Marked),
    /// The issue's `sir` property names this other case: nothing was written.
    OtherCase(String),
}

/// Adds the labels the sync puts on a case's issue and the `sir` issue property, each only when
/// missing, so marking an issue a second time writes nothing. `detail` is the issue as just
/// read. An issue whose property already names another case is left alone.
pub async fn mark_issue(
    jira: &dyn JiraApi,
    settings: &SyncSettings,
    case: &Case,
    detail: &IssueDetail,
) -> Result<Mark, JiraError> {
    let key = detail.issue.key.as_str();
    let property = jira.issue_property(key, CASE_PROPERTY).await?;
    if let Some(other) = other_case(property.as_ref(), case.id.as_str()) {
        return Ok(Mark::OtherCase(other));
    }
    let present = detail.issue.labels.clone().unwrap_or_default();
    let missing: Vec<String> = case_labels(settings, case.id.as_str())
        .into_iter()
        .filter(|l| !present.contains(l))
        .collect();
    let mut marked = Marked::default();
    if !missing.is_empty() {
        let edit = IssueEdit {
            add_labels: missing,
            ..IssueEdit::default()
        };
        jira.edit_issue(key, &edit).await?;
        marked.labels = true;
    }
    let wanted = case_property(case);
    if property.as_ref() != Some(&wanted) {
        jira.set_issue_property(key, CASE_PROPERTY, &wanted).await?;
        marked.property = true;
    }
    Ok(Mark::Marked(marked))
}

/// An issue this service's own sync may have opened for the case: when the store holds a claim
/// on creating the case's issue (the sync ran for the case, and a crash or failure left no
/// mapping), the project is searched for the case's label, as the sync itself would before
/// creating. Returns the first such issue other than `sample_key`.
pub async fn issue_of_ours(
    store: &dyn StateStore,
    jira: &dyn JiraApi,
    settings: &SyncSettings,
    case_id: &str,
    sample_key: &str,
) -> Result<Option<String>, SyncError> {
    let Some(claim) = links::get::<IssueClaim>(store, case_id, CLAIM_KEY).await? else {
        return Ok(None);
    };
    if claim.value.state == ClaimState::Released {
        // Jira refused that creation: nothing was made.
        return Ok(None);
    }
    let jql = format!(
        "project = \"{}\" AND labels = \"{}\" ORDER BY created ASC",
        settings.project_key,
        fields::case_label(case_id)
    );
    Ok(jira
        .search(&jql)
        .await?
        .into_iter()
        .map(|i| i.key)
        .find(|k| k != sample_key))
}

/// What the seeding recorded besides the ledger entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    /// SIR comments found mirrored on the issue (either way) and linked.
    pub comments: usize,
    /// SIR attachments found on the issue by file name and linked.
    pub attachments: usize,
}

/// Records the issue's current state as the case → issue sync's ledger entry, and links the
/// case's comments and attachments to their copies on the issue, for an issue just marked by
/// [`mark_issue`]. Call it holding the case's lease, before the mapping is recorded (the
/// mapping is what makes the syncs read these).
///
/// - summary, description text, status and resolution: as the issue holds them. The first sync
///   then writes the summary or text only where the case says otherwise, and the details part
///   (never written by the sample) once.
/// - the case status counts as agreed when the issue's status is the one the status map gives
///   for it; otherwise the first sync moves the issue to the case's status.
/// - labels: the sync's own (just ensured); the `sir` property: written.
/// - a SIR comment whose text the issue has as a comment is linked as mirrored (origin SIR,
///   with the hash of this service's rendering, so it is not rewritten until the case's comment
///   changes); one the sample copied from Jira (tagged `[JIRA Update]`) is linked as Jira's
///   (never mirrored back). Others stay unlinked: the first sync posts them.
/// - a SIR attachment whose file name the issue has is linked as copied.
///
/// Existing links are kept (insert-once), so running it again changes nothing.
pub async fn seed(
    store: &dyn StateStore,
    settings: &SyncSettings,
    case: &Case,
    comments: &[CaseComment],
    detail: &IssueDetail,
    jira_comments: &[JiraComment],
) -> Result<Seeded, StoreError> {
    let key = detail.issue.key.as_str();
    let status = detail.issue.status.as_ref().map(|s| s.name.clone());
    let agreed = match (&status, settings.mappings.status.get(&case.status)) {
        (Some(on_issue), Some(mapped)) => on_issue.eq_ignore_ascii_case(mapped),
        _ => false,
    };
    let ledger = IssueLedger {
        case_id: case.id.to_string(),
        summary: detail.issue.summary.clone(),
        description_text: detail
            .issue
            .description
            .as_ref()
            .map(description::person_text),
        labels: case_labels(settings, case.id.as_str()),
        status,
        resolution: detail.resolution.clone(),
        case_status: agreed.then_some(case.status),
        status_at_ms: Some(now_ms()),
        tagged: true,
        ..IssueLedger::default()
    };
    ledger.save(store, key).await?;

    let group = case.id.as_str();
    let mut seeded = Seeded::default();
    let mut used: Vec<&str> = Vec::new();
    for c in comments {
        let from_jira = c.body.contains(SAMPLE_JIRA_TAG);
        let found = jira_comments
            .iter()
            .filter(|j| !used.contains(&j.id.as_str()))
            .find(|j| match from_jira {
                // The sample's copy of a Jira comment holds the comment's text after its tag.
                true => {
                    let text = text_key(&j.text);
                    !text.is_empty() && text_key(&c.body).contains(&text)
                }
                // The sample posted SIR comments to Jira as they were.
                false => description::same_text(&j.text, &c.body),
            });
        let link = match (from_jira, found) {
            (true, found) => CommentLink {
                state: LinkState::Done,
                origin: Side::Jira,
                jira_comment_id: found.map(|j| j.id.clone()),
                hash: None,
                revision: None,
            },
            (false, Some(j)) => CommentLink {
                state: LinkState::Done,
                origin: Side::Sir,
                jira_comment_id: Some(j.id.clone()),
                hash: Some(hash_json(&comment_body(case, c))),
                revision: None,
            },
            (false, None) => continue,
        };
        if links::put(store, group, &c.id, &link, None).await? {
            seeded.comments += 1;
        }
        if let Some(j) = found {
            used.push(j.id.as_str());
            let reverse = JiraCommentLink {
                sir_comment_id: c.id.clone(),
                origin: link.origin,
            };
            links::put(store, group, &j.id, &reverse, None).await?;
        }
    }
    seeded.attachments = seed_attachments(store, case, &detail.attachments).await?;
    Ok(seeded)
}

async fn seed_attachments(
    store: &dyn StateStore,
    case: &Case,
    on_issue: &[JiraAttachment],
) -> Result<usize, StoreError> {
    let mut linked = 0;
    for a in &case.attachments {
        let Some(found) = on_issue.iter().find(|j| j.filename == a.file_name) else {
            continue;
        };
        let value = AttachmentLink {
            state: LinkState::Done,
            jira_attachment_id: Some(found.id.clone()),
            ..AttachmentLink::pending()
        };
        if links::put(store, case.id.as_str(), &a.attachment_id, &value, None).await? {
            linked += 1;
        }
    }
    Ok(linked)
}

/// Letters and digits, lower-cased: text compared across renderings (ADF, wiki, plain).
fn text_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The case the `sir` property names, when it is not `case_id`.
fn other_case(property: Option<&Value>, case_id: &str) -> Option<String> {
    property
        .and_then(|p| p.get("caseId"))
        .and_then(Value::as_str)
        .filter(|id| *id != case_id)
        .map(str::to_owned)
}
