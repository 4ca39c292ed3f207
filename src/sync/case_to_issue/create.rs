//! Exactly one issue per case. Before creating, the syncing worker (which holds the case's
//! lease) claims the creation insert-once in the store; the mapping is recorded (insert-once)
//! once Jira has answered with the new key. A claim found without a mapping means an earlier
//! attempt died or failed somewhere between claiming and recording, so the issue may exist:
//! Jira is searched for the case's label first, and only if nothing is found is the claim taken
//! over (compare-and-set on its version) and an issue created.
//!
//! Why a separate claim rather than a placeholder mapping: the issue key is unknown until Jira
//! creates the issue, and a placeholder would leak into the admin API and into the issue → case
//! lookups.
//!
//! The create is one Jira call: the label and the `sir` issue property that tell the case's
//! issue apart go in the create request itself (so the issue never exists without them), the
//! answer gives the id and key, and the ledger takes what the request wrote, with the status
//! the workflow starts new issues in once the sync has learned it; nothing is read back.

use super::{
    CASE_PROPERTY, CaseToIssueSync, IssueLedger, Mapped, SyncError, case_property, ledger::Written,
};
use crate::{
    db::now_ms,
    jira::api::{IssueIds, NewIssue},
    sir::Case,
    store::{InsertOutcome, Mapping},
    sync::{
        fields::{self, description},
        links::{self, ClaimState, IssueClaim},
    },
};

/// The key of the [`IssueClaim`] link in the case's group.
pub(crate) const CLAIM_KEY: &str = "issue";

fn claim(owner: &str, state: ClaimState) -> IssueClaim {
    IssueClaim {
        owner: owner.to_owned(),
        state,
        at_ms: now_ms(),
    }
}

impl CaseToIssueSync {
    /// The case's issue: created (once) or found again.
    pub(super) async fn ensure_issue(&self, case: &Case) -> Result<Mapped, SyncError> {
        let group = case.id.as_str();
        let owner = uuid::Uuid::new_v4().to_string();
        let store = self.store.as_ref();
        let existing = match links::get::<IssueClaim>(store, group, CLAIM_KEY).await? {
            Some(link) => link,
            None => {
                if links::put(
                    store,
                    group,
                    CLAIM_KEY,
                    &claim(&owner, ClaimState::Creating),
                    None,
                )
                .await?
                {
                    // The first claim ever: no issue can exist for this case through us.
                    return self.create(case, &owner, 1).await;
                }
                // Claimed by a worker that does not hold the lease (it expired): treat as below.
                links::get::<IssueClaim>(store, group, CLAIM_KEY)
                    .await?
                    .ok_or_else(|| SyncError::Busy(case.id.to_string()))?
            }
        };
        // A refusal from Jira created nothing; anything else may have created the issue.
        let may_exist = existing.value.state != ClaimState::Released;
        if may_exist {
            tracing::warn!(
                case_id = %case.id,
                claim = ?existing.value,
                "an earlier attempt claimed the issue creation and recorded no mapping: looking for the issue in Jira"
            );
        }
        let found = match may_exist {
            true => self.find_issue(case).await?,
            false => None,
        };
        if let Some(found) = found {
            tracing::info!(case_id = %case.id, issue_key = %found.key, "found the case's issue by its label: recording it, creating nothing");
            // Not `created`: it may have been moved since, and what it holds is unknown.
            return self
                .record(case, found, IssueLedger::default(), false)
                .await;
        }
        // We hold the case's lease, so the claimant is gone; take its claim over.
        if !links::put(
            store,
            group,
            CLAIM_KEY,
            &claim(&owner, ClaimState::Creating),
            Some(existing.version),
        )
        .await?
        {
            return Err(SyncError::Busy(case.id.to_string()));
        }
        self.create(case, &owner, existing.version + 1).await
    }

    /// The issues carrying the case's label, oldest first; the oldest is the case's.
    async fn find_issue(&self, case: &Case) -> Result<Option<IssueIds>, SyncError> {
        let jql = format!(
            "project = \"{}\" AND labels = \"{}\" ORDER BY created ASC",
            self.settings.project_key,
            fields::case_label(case.id.as_str())
        );
        Ok(self.jira.search(&jql).await?.into_iter().next())
    }

    async fn create(&self, case: &Case, owner: &str, version: u64) -> Result<Mapped, SyncError> {
        let region = &self.settings.default_region;
        let doc = description::render(case, region);
        let issue = NewIssue {
            project_key: self.settings.project_key.clone(),
            issue_type: self.issue_type(),
            summary: fields::summary(&case.title),
            description: doc.clone(),
            labels: self.labels(case),
            custom_fields: fields::custom_fields(
                case,
                &self.settings.mappings.custom_fields,
                region,
            ),
            properties: [(CASE_PROPERTY.to_owned(), case_property(case))].into(),
        };
        let created = match self.jira.create_issue(&issue).await {
            Ok(created) => created,
            Err(e) => {
                // A refusal created nothing: the next attempt may create at once. Otherwise
                // (time-out, 5xx) the issue may exist and the next attempt searches first.
                let state = if e.is_definite_refusal() {
                    ClaimState::Released
                } else {
                    ClaimState::Uncertain
                };
                if let Err(se) = links::put(
                    self.store.as_ref(),
                    case.id.as_str(),
                    CLAIM_KEY,
                    &claim(owner, state),
                    Some(version),
                )
                .await
                {
                    tracing::warn!(case_id = %case.id, error = %se, "cannot update the creation claim");
                }
                return Err(e.into());
            }
        };
        tracing::info!(case_id = %case.id, issue_key = %created.key, "issue created for the case");
        let ledger = IssueLedger {
            case_id: case.id.to_string(),
            summary: Some(issue.summary),
            description_text: Some(description::normalize(&case.description)),
            details_hash: Some(description::details_hash(case, region)),
            details_text: Some(description::details_text(case, region)),
            text_written: Some(Written::now(super::case_ms(case))),
            summary_written: Some(Written::now(super::case_ms(case))),
            details_at_ms: Some(now_ms()),
            labels: issue.labels,
            custom_fields: issue.custom_fields,
            tagged: true,
            // Unknown until the first create has been read once (see `update_status`).
            status: self.workflow.initial(&self.workflow_scope()),
            ..IssueLedger::default()
        };
        self.record(case, created, ledger, true).await
    }

    async fn record(
        &self,
        case: &Case,
        issue: IssueIds,
        mut ledger: IssueLedger,
        created: bool,
    ) -> Result<Mapped, SyncError> {
        let mapping = Mapping {
            case_id: case.id.to_string(),
            issue_key: issue.key.clone(),
            issue_id: Some(issue.id.clone()),
        };
        let mapping = match self.store.insert_mapping(&mapping).await? {
            InsertOutcome::Inserted => mapping,
            InsertOutcome::Existing(winner) if winner.issue_key == issue.key => winner,
            InsertOutcome::Existing(winner) => {
                // Only reachable if the lease and the claim were both bypassed (the store was
                // replaced under a running service): keep the recorded issue, say so loudly.
                tracing::error!(
                    case_id = %case.id,
                    recorded = %winner.issue_key,
                    duplicate = %issue.key,
                    "the case already maps to another issue: the duplicate is left alone, delete it in Jira"
                );
                ledger = IssueLedger::load(self.store.as_ref(), &winner.issue_key)
                    .await?
                    .unwrap_or_default();
                winner
            }
        };
        ledger.case_id = case.id.to_string();
        ledger.save(self.store.as_ref(), &mapping.issue_key).await?;
        Ok(Mapped {
            created: created && mapping.issue_key == issue.key,
            mapping,
            ledger,
        })
    }
}
