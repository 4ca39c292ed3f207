//! Opening a SIR case for a Jira issue that opts in (`[issue_to_case.create_cases]`: a label or
//! an issue type). The case takes the issue's summary, description and creation time, and the
//! configured engagement type, resolver, accounts, regions and watchers.
//!
//! Exactly one case per issue: CreateCase's `clientToken` is derived from the issue id, so a
//! retry or a second worker gets the same case back, and the mapping is inserted once. The new
//! case's issue ledger is marked `adopt_text`, so the case → issue sync links the issue (label,
//! property) without rewriting the summary and description people wrote in Jira.

use time::OffsetDateTime;

use super::{IssueToCaseSync, SyncError, Wanted, text};
use crate::{
    event::jira::Issue,
    sir::{CaseId, NewCase},
    store::{InsertOutcome, Mapping},
    sync::case_to_issue::IssueLedger,
};

pub fn client_token(issue: &Issue) -> String {
    format!("jira-issue-{}", issue.id.as_deref().unwrap_or(&issue.key))
}

impl IssueToCaseSync {
    /// Opens a case when the issue opts in; `Ok(None)` when it does not (or creation is off).
    pub(super) async fn maybe_create(
        &self,
        issue: &Issue,
        occurred_at: Option<i64>,
    ) -> Result<Option<CaseId>, SyncError> {
        let Some(create) = &self.config.create_cases else {
            tracing::debug!(issue_key = %issue.key, "issue mapped to no SIR case and case creation is off: ignored");
            return Ok(None);
        };
        let labels = issue.labels.as_deref().unwrap_or_default();
        if !create.opts_in(labels, issue.issue_type.as_deref()) {
            tracing::debug!(issue_key = %issue.key, "issue does not opt in to a SIR case: ignored");
            return Ok(None);
        }
        let key = &issue.key;
        let summary = issue.summary.as_deref().unwrap_or(key);
        let description = issue
            .description
            .as_ref()
            .map(|d| d.text.trim())
            .filter(|d| !d.is_empty())
            .map(|d| text::cap_description(d, key))
            // SIR requires a description; say where the case came from rather than invent one.
            .unwrap_or_else(|| format!("Opened from Jira issue {key}, which has no description."));
        // When the incident was reported: the issue's creation, else the event, else now.
        let reported = issue
            .created
            .as_deref()
            .and_then(crate::jira::api::parse_time)
            .or_else(|| {
                occurred_at.and_then(|ms| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                })
            })
            .unwrap_or_else(OffsetDateTime::now_utc);
        let new = NewCase {
            title: text::cap_title(summary),
            description,
            engagement_type: create.engagement_type.clone(),
            resolver_type: create.resolver_type.clone(),
            reported_incident_start: reported,
            impacted_accounts: create.impacted_accounts.clone(),
            impacted_regions: create.impacted_regions.clone(),
            watchers: create.watchers.clone(),
        };
        let case_id = self.sir(self.sir.create_case(&new, &client_token(issue)).await)?;
        let mapping = Mapping {
            case_id: case_id.to_string(),
            issue_key: key.clone(),
            issue_id: issue.id.clone(),
        };
        match self.store.insert_mapping(&mapping).await? {
            InsertOutcome::Inserted => {
                let ledger = IssueLedger {
                    case_id: case_id.to_string(),
                    status: issue.status.as_ref().map(|s| s.name.clone()),
                    adopt_text: true,
                    ..IssueLedger::default()
                };
                ledger.save(self.store.as_ref(), key).await?;
                tracing::info!(case_id = %case_id, issue_key = %key, "SIR case opened for the Jira issue");
                Ok(Some(case_id))
            }
            InsertOutcome::Existing(m) => {
                tracing::info!(issue_key = %key, case_id = %m.case_id, "the issue already has its case");
                Ok(None)
            }
        }
    }

    /// After opening the case: the issue's status as of now applies like any status change.
    pub(super) fn created_wanted(issue: &Issue, occurred_at: Option<i64>) -> Wanted {
        Wanted {
            status: issue.status.clone(),
            change_ref: Some("created".into()),
            at_ms: occurred_at,
            ..Wanted::default()
        }
    }
}
