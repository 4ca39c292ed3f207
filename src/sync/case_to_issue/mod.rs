//! Case → issue: when a SIR case appears or changes, its Jira issue follows. One handler for
//! `sir.case.changed` and `sync.case.requested`; every run reads the whole case and converges
//! the issue on it, so any event (or a replay, or a duplicate) is a full, idempotent sync.
//!
//! One case is synced by one worker at a time (a lease in the store, renewed while the sync
//! runs); issue creation is additionally claimed insert-once (see [`create`]), so a crash at any
//! point neither loses the issue nor makes a second one.

mod attachments;
mod comments;
mod create;
pub mod ledger;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use serde_json::Value;

pub(crate) use comments::body as comment_body;
pub(crate) use create::CLAIM_KEY;
pub use ledger::{IssueLedger, Written};

use super::{
    fields::{self, description},
    issue_to_case::ledger::CaseLedger,
    lease::{CaseLease, LeaseSettings},
    mappings::Mappings,
};
pub use crate::sync::SyncError;
use crate::{
    bus::Failure,
    db::now_ms,
    event::{EventEnvelope, jira::RichText},
    jira::{
        api::{IssueEdit, IssueType, JiraApi},
        workflow::{Trust, Walked, WorkflowMap, walk},
    },
    sir::{Case, CaseId, CaseStatus, SirApi},
    store::{Mapping, StateStore},
    worker::EventHandler,
};

/// The issue property tagging an issue with its case.
pub const CASE_PROPERTY: &str = "sir";

#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub project_key: String,
    pub issue_type: IssueType,
    pub mappings: Mappings,
    /// Attachments larger than this become a comment with their name and size.
    pub attachment_max_bytes: u64,
    /// The integration's own Jira account (accountId on Cloud, user name on Data Center).
    pub own_account: String,
    /// Region for console links when a case's ARN has none.
    pub default_region: String,
    /// How long the per-case lease lasts without renewal (it is renewed every third of it).
    pub lease_ttl: Duration,
    /// How long a worker waits for another one's sync of the same case before giving the event
    /// back for a later retry.
    pub lease_wait: Duration,
}

impl SyncSettings {
    pub fn new(project_key: &str, issue_type: IssueType, own_account: &str) -> SyncSettings {
        SyncSettings {
            project_key: project_key.to_owned(),
            issue_type,
            mappings: Mappings::default(),
            attachment_max_bytes: 10 * 1024 * 1024,
            own_account: own_account.to_owned(),
            default_region: "us-east-1".into(),
            lease_ttl: Duration::from_secs(120),
            lease_wait: Duration::from_secs(20),
        }
    }
}

/// The case → issue sync; the dispatcher's `case_to_issue` handler.
pub struct CaseToIssueSync {
    jira: Arc<dyn JiraApi>,
    sir: Arc<dyn SirApi>,
    store: Arc<dyn StateStore>,
    settings: SyncSettings,
    workflow: WorkflowMap,
    /// Downloads of SIR attachments (presigned URLs: no credentials of ours go there).
    http: reqwest::Client,
}

impl CaseToIssueSync {
    pub fn new(
        jira: Arc<dyn JiraApi>,
        sir: Arc<dyn SirApi>,
        store: Arc<dyn StateStore>,
        settings: SyncSettings,
    ) -> CaseToIssueSync {
        CaseToIssueSync {
            jira,
            sir,
            store,
            settings,
            workflow: WorkflowMap::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("a default HTTP client builds"),
        }
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// Syncs one case, holding its lease.
    pub async fn sync(&self, case_id: &CaseId) -> Result<(), SyncError> {
        let settings = LeaseSettings {
            ttl: self.settings.lease_ttl,
            wait: self.settings.lease_wait,
        };
        let Some(lease) = CaseLease::acquire(&self.store, case_id.as_str(), settings).await? else {
            return Err(SyncError::Busy(case_id.to_string()));
        };
        let result = self.sync_locked(case_id).await;
        lease.release().await;
        result
    }

    async fn sync_locked(&self, case_id: &CaseId) -> Result<(), SyncError> {
        let case = self.sir.get_case(case_id).await?;
        let comments = self.sir.list_comments(case_id).await?;
        let Mapped {
            mapping,
            mut ledger,
            created,
        } = match self.store.mapping_by_case(case_id.as_str()).await? {
            Some(m) => {
                let ledger = IssueLedger::load(self.store.as_ref(), &m.issue_key)
                    .await?
                    .unwrap_or_else(|| IssueLedger {
                        case_id: case_id.to_string(),
                        ..IssueLedger::default()
                    });
                Mapped {
                    mapping: m,
                    ledger,
                    created: false,
                }
            }
            None => self.ensure_issue(&case).await?,
        };
        let key = mapping.issue_key.as_str();
        self.update_fields(&case, key, &mut ledger).await?;
        self.update_status(&case, key, &mut ledger, created).await?;
        self.sync_comments(&case, &comments, key).await?;
        self.sync_attachments(&case, key).await?;
        tracing::info!(case_id = %case_id, issue_key = key, status = case.status.as_str(), "case synced to its issue");
        Ok(())
    }

    /// Writes the fields whose case value differs from what the ledger says the issue holds.
    /// The description's two parts are compared apart: the person's part (the case's text) is
    /// written only when the case's text changed; when only the details changed, the issue's
    /// current person part is kept as it is, formatting included.
    async fn update_fields(
        &self,
        case: &Case,
        key: &str,
        ledger: &mut IssueLedger,
    ) -> Result<(), SyncError> {
        let region = &self.settings.default_region;
        let summary = fields::summary(&case.title);
        let text = description::normalize(&case.description);
        let details = description::details_hash(case, region);
        if ledger.adopt_text {
            ledger.summary = Some(summary.clone());
            ledger.description_text = Some(text.clone());
            ledger.details_hash = Some(details.clone());
            ledger.details_text = Some(description::details_text(case, region));
            ledger.adopt_text = false;
            ledger.save(self.store.as_ref(), key).await?;
        }
        let mut edit = IssueEdit::default();
        if ledger.summary.as_deref() != Some(summary.as_str()) {
            edit.summary = Some(summary.clone());
        }
        let text_changed = ledger.description_text.as_deref() != Some(text.as_str());
        if text_changed {
            edit.description = Some(description::render(case, region));
        } else if ledger.details_hash.as_deref() != Some(details.as_str()) {
            edit.description = Some(self.with_current_text(case, key).await?);
        }
        edit.add_labels = self
            .labels(case)
            .into_iter()
            .filter(|l| !ledger.labels.contains(l))
            .collect();
        edit.custom_fields =
            fields::custom_fields(case, &self.settings.mappings.custom_fields, region)
                .into_iter()
                .filter(|(id, v)| ledger.custom_fields.get(id) != Some(v))
                .collect();
        if !edit.is_empty() {
            let summary_at = match edit.summary {
                Some(_) => Some(self.case_change_time(case, ledger.summary_written).await?),
                None => None,
            };
            let text_at = match text_changed {
                true => Some(self.case_change_time(case, ledger.text_written).await?),
                false => None,
            };
            self.jira.edit_issue(key, &edit).await?;
            tracing::info!(
                issue_key = key,
                summary = edit.summary.is_some(),
                description = edit.description.is_some(),
                labels = edit.add_labels.len(),
                custom_fields = edit.custom_fields.len(),
                "issue fields updated"
            );
            if edit.summary.is_some() {
                ledger.summary = Some(summary);
                ledger.summary_written = summary_at.map(Written::now);
            }
            if let Some(doc) = &edit.description {
                // Only the case's own text is recorded as agreed: a person's part kept as found
                // may be an edit the case has not taken yet (or cannot: it is closed).
                if text_changed {
                    ledger.description_text = Some(description::person_text_of(doc));
                    ledger.text_written = text_at.map(Written::now);
                }
                ledger.details_hash = Some(details);
                ledger.details_text = Some(description::details_text(case, region));
                ledger.details_at_ms = Some(now_ms());
            }
            ledger.labels.extend(edit.add_labels);
            ledger.custom_fields.extend(edit.custom_fields);
            ledger.save(self.store.as_ref(), key).await?;
        }
        if !ledger.tagged {
            self.tag(case, key).await?;
            ledger.tagged = true;
            ledger.save(self.store.as_ref(), key).await?;
        }
        Ok(())
    }

    /// When the case changed the field being written, as well as SIR tells (ms, SIR's time).
    /// SIR dates only the case's last update of any kind: when that was the issue → case sync's
    /// own write, the field changed before it, after the change `previous` carried: that
    /// earlier bound is used, so a person's Jira edit made after the case's change is never
    /// taken for an older one.
    async fn case_change_time(
        &self,
        case: &Case,
        previous: Option<Written>,
    ) -> Result<i64, SyncError> {
        let at = case_ms(case);
        let ours = CaseLedger::load(self.store.as_ref(), case.id.as_str())
            .await?
            .at_ms;
        Ok(match previous {
            Some(p) if ours + 1000 >= at => p.case_at_ms.min(at),
            _ => at,
        })
    }

    /// The description with the issue's current person part (read now, so an edit a person
    /// made since is kept) and the case's details.
    async fn with_current_text(&self, case: &Case, key: &str) -> Result<Value, SyncError> {
        let current = self.jira.issue_detail(key).await?.issue.description;
        let person = match &current {
            Some(RichText { adf: Some(doc), .. }) => description::person_part(doc).to_vec(),
            // Wiki markup (Data Center): the text is kept, its markup is not.
            Some(wiki) => description::person_blocks(&description::person_text(wiki)),
            None => Vec::new(),
        };
        Ok(description::with_details(
            person,
            case,
            &self.settings.default_region,
        ))
    }

    async fn tag(&self, case: &Case, key: &str) -> Result<(), SyncError> {
        self.jira
            .set_issue_property(key, CASE_PROPERTY, &case_property(case))
            .await?;
        Ok(())
    }

    fn labels(&self, case: &Case) -> Vec<String> {
        case_labels(&self.settings, case.id.as_str())
    }

    /// The issue type the sync creates issues of: the mappings file's, else the setting.
    fn issue_type(&self) -> IssueType {
        self.settings
            .mappings
            .issue_type
            .clone()
            .unwrap_or_else(|| self.settings.issue_type.clone())
    }

    /// What the initial status of the sync's new issues is kept under in the workflow map:
    /// Jira gives each project and issue type its own workflow.
    fn workflow_scope(&self) -> String {
        format!("{}/{:?}", self.settings.project_key, self.issue_type())
    }

    /// Moves the issue to the status its case's status maps to, by a path through the
    /// workflow; a closed case also gets its resolution.
    ///
    /// Only a case whose status changed since both sides last agreed moves the issue: when the
    /// case still shows the agreed status, a different issue status is a person's newer move,
    /// which the issue → case sync carries to the case. And the walk stops as soon as the issue
    /// is found where the ledger did not leave it (a person moved it meanwhile): a status never
    /// moves back because of an older read.
    ///
    /// An issue this run `created` is where the create put it (the workflow's initial status),
    /// so its walk reads nothing while the map knows the path: a case whose status maps to the
    /// initial status costs no call here, another one only its transitions. The initial status
    /// is learned by one read of the first issue the process creates.
    async fn update_status(
        &self,
        case: &Case,
        key: &str,
        ledger: &mut IssueLedger,
        created: bool,
    ) -> Result<(), SyncError> {
        let Some(target) = self.settings.mappings.status.get(&case.status).cloned() else {
            return Ok(());
        };
        if ledger.case_status == Some(case.status) {
            return Ok(());
        }
        let resolution = case
            .closure_code
            .and_then(|c| self.settings.mappings.resolution.get(&c).cloned());
        let mut at = ledger.status.clone();
        let trust = if created {
            Trust::Known
        } else {
            Trust::ReadFirst
        };
        if created && at.is_none() {
            let position = self.jira.position(key).await?;
            tracing::info!(issue_key = key, project = %self.settings.project_key, issue_type = ?self.issue_type(), initial = %position.status, "learned the status new issues start in");
            self.workflow
                .learn_initial(&self.workflow_scope(), &position.status);
            self.workflow.learn(&position.status, position.transitions);
            // Recorded now: a failed walk records only how far it moved the issue.
            ledger.status = Some(position.status.clone());
            ledger.save(self.store.as_ref(), key).await?;
            at = Some(position.status);
        }
        let mut walked = self
            .walk_to(key, &mut at, &target, resolution.as_deref(), ledger, trust)
            .await?;
        if let Walked::Moved { found } = &walked {
            if created {
                // Not where what the sync knows of the workflow put it: that knowledge may be
                // out of date (the workflow changed), so the next create reads it again.
                tracing::warn!(issue_key = key, found = %found, created_in = ?ledger.status, "a new issue is not where the workflow was thought to put it: the initial status will be read again");
                self.workflow.forget_initial(&self.workflow_scope());
            }
            // Both sides moved since they last agreed. The later move wins: Jira's if its
            // status changed after the case did (the issue → case sync carries it to the case),
            // else the case's, walked from where the issue now is.
            // SIR dates changes in whole seconds, so within a second the order is unknown: then
            // the person's move wins, unless the case is closed (it cannot follow Jira).
            let jira_at = self.jira.status_changed_at(key).await?;
            let margin = match case.status {
                CaseStatus::Closed => time::Duration::SECOND,
                _ => time::Duration::ZERO,
            };
            if jira_at.is_some_and(|t| t >= case.last_updated + margin) {
                tracing::info!(issue_key = key, case_status = case.status.as_str(), found = %found, expected = ?ledger.status, "the issue was moved in Jira after the case changed: its newer status is left for the issue → case sync");
                return Ok(());
            }
            let mut from = Some(found.clone());
            walked = self
                .walk_to(
                    key,
                    &mut from,
                    &target,
                    resolution.as_deref(),
                    ledger,
                    Trust::ReadFirst,
                )
                .await?;
        }
        match walked {
            Walked::Reached(taken) => {
                tracing::info!(issue_key = key, case_status = case.status.as_str(), to = %target, transitions = ?taken, "issue status follows the case");
                ledger.status = Some(target);
                ledger.resolution = resolution;
                ledger.case_status = Some(case.status);
                ledger.status_at_ms = Some(now_ms());
                ledger.status_change = None;
                ledger.save(self.store.as_ref(), key).await?;
            }
            Walked::Moved { found } => {
                tracing::info!(issue_key = key, case_status = case.status.as_str(), found = %found, "the issue keeps being moved in Jira: left for the next sync");
            }
        }
        Ok(())
    }

    /// One walk from `at`, recording in the ledger how far it got even when it fails (the next
    /// attempt starts from there).
    async fn walk_to(
        &self,
        key: &str,
        at: &mut Option<String>,
        target: &str,
        resolution: Option<&str>,
        ledger: &mut IssueLedger,
        trust: Trust,
    ) -> Result<Walked, SyncError> {
        let start = at.clone();
        let walked = walk(
            self.jira.as_ref(),
            &self.workflow,
            key,
            at,
            target,
            resolution,
            trust,
        )
        .await;
        if *at != start && walked.is_err() {
            ledger.status = at.clone();
            ledger.save(self.store.as_ref(), key).await?;
        }
        Ok(walked?)
    }
}

#[async_trait]
impl EventHandler for CaseToIssueSync {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        let result = match envelope.event.case_id().map(CaseId::parse) {
            Some(Ok(id)) => self.sync(&id).await,
            Some(Err(e)) => Err(SyncError::BadEvent(e.to_string())),
            None => Err(SyncError::BadEvent(format!(
                "{} carries no case id",
                envelope.event.type_name()
            ))),
        };
        result.map_err(|e| {
            let retryable = e.is_retryable();
            if retryable {
                tracing::warn!(case_id = envelope.event.case_id().unwrap_or(""), error = %e, "case sync failed; the event will be retried");
            } else {
                tracing::error!(case_id = envelope.event.case_id().unwrap_or(""), error = %e, "case sync failed for good; the event goes to the dead letters");
            }
            Failure {
                error: e.to_string(),
                retryable,
            }
        })
    }
}

/// When the case last changed, in ms (SIR's own time).
pub(crate) fn case_ms(case: &Case) -> i64 {
    (case.last_updated.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The value of the [`CASE_PROPERTY`] issue property tagging an issue with `case`.
pub(crate) fn case_property(case: &Case) -> Value {
    serde_json::json!({"caseId": case.id, "caseArn": case.arn})
}

/// The labels the sync puts on a case's issue: `aws-sir-<caseId>` and the mappings file's.
pub(crate) fn case_labels(settings: &SyncSettings, case_id: &str) -> Vec<String> {
    let mut labels = vec![fields::case_label(case_id)];
    labels.extend(settings.mappings.labels.iter().cloned());
    labels.dedup();
    labels
}

/// The case's issue and what it holds, as the sync starts on it.
pub(crate) struct Mapped {
    mapping: Mapping,
    ledger: IssueLedger,
    /// This run created the issue: nobody else has had it yet, so it is where the create put
    /// it (see [`Trust::Known`]).
    created: bool,
}
