//! One pass over the sample's table: each `Case#…/latest` item's issue adopted into the store.
//!
//! Per case, in this order, each step safe to repeat:
//! 1. the store: a case already mapped (to this issue or another) is reported and left alone,
//!    as is an issue already mapped to another case. No Jira or SIR call for these, so a rerun
//!    over an adopted table costs one store read per item and writes nothing;
//! 2. SIR and Jira are read (the case, its comments; the issue, its comments);
//! 3. under the case's sync lease (so a running service's sync of the case waits):
//!    the issue is marked (labels, `sir` property; each only if missing), the ledger and links
//!    are seeded ([`crate::sync::adopt`]), and last the mapping is inserted, insert-once.
//!
//! The mapping comes last because it is what the syncs read: a crash before it leaves a marked
//! issue and a seeded ledger that the rerun finds, marks again for free and records; a crash
//! after it leaves a finished adoption. Either way no second issue: a case whose issue creation
//! was never claimed by this service's sync has none of ours.

use std::{collections::HashSet, sync::Arc, time::Duration};

use super::{
    MigrateError,
    report::{Outcome, Report},
    sample::SampleItem,
    scan::SampleTable,
};
use crate::{
    jira::api::{JiraApi, JiraError},
    sir::{CaseId, SirApi, SirError},
    store::{InsertOutcome, Mapping, StateStore},
    sync::{
        SyncSettings,
        adopt::{self, Mark},
        lease::{CaseLease, LeaseSettings},
    },
};

/// Where a run stands, for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdoptProgress {
    /// Items read so far.
    pub items: u64,
    /// The table's approximate item count, when known.
    pub total: Option<u64>,
}

pub struct Migrator {
    store: Arc<dyn StateStore>,
    jira: Arc<dyn JiraApi>,
    sir: Arc<dyn SirApi>,
    settings: SyncSettings,
    dry_run: bool,
}

impl Migrator {
    /// `settings` are the case → issue sync's (labels, status map).
    pub fn new(
        store: Arc<dyn StateStore>,
        jira: Arc<dyn JiraApi>,
        sir: Arc<dyn SirApi>,
        settings: SyncSettings,
    ) -> Migrator {
        Migrator {
            store,
            jira,
            sir,
            settings,
            dry_run: false,
        }
    }

    /// Reads everything, writes nothing, and reports what a run would do.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Scans `table` and adopts every case item; `on_item` hears of each outcome as it is known
    /// (the command prints it and moves its bar). Errors reading the table stop the run (a rerun
    /// resumes: adopted cases are skipped cheaply); errors of one case are that case's outcome.
    pub async fn run(
        &self,
        table: &SampleTable,
        mut on_item: impl FnMut(AdoptProgress, &Outcome),
    ) -> Result<Report, MigrateError> {
        let mut report = Report {
            dry_run: self.dry_run,
            ..Report::default()
        };
        let mut progress = AdoptProgress {
            items: 0,
            total: table.approximate_count().await?,
        };
        // Issues the case items name, and the issues opened in Jira: the latter are listed at
        // the end unless a case item names them.
        let mut named: HashSet<String> = HashSet::new();
        let mut opened_in_jira: Vec<String> = Vec::new();
        let mut start = None;
        loop {
            let page = table.page(start).await?;
            for item in &page.items {
                progress.items += 1;
                let outcome = match SampleItem::parse(item) {
                    SampleItem::Case {
                        case_id,
                        issue_key: Some(key),
                    } => {
                        named.insert(key.clone());
                        self.adopt(&case_id, &key).await
                    }
                    SampleItem::Case {
                        case_id,
                        issue_key: None,
                    } => Outcome::NoIssue {
                        case_id: case_id.to_string(),
                    },
                    SampleItem::Jira { issue_key } => {
                        opened_in_jira.push(issue_key);
                        continue;
                    }
                    SampleItem::Foreign { pk, sk } => Outcome::Skipped { pk, sk },
                    SampleItem::Malformed { pk, sk, reason } => {
                        Outcome::Malformed { pk, sk, reason }
                    }
                };
                on_item(progress, &outcome);
                report.push(outcome);
            }
            match page.next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        for issue_key in opened_in_jira {
            // A case item naming the issue carried it (the sample made the case from it).
            let outcome = match named.contains(&issue_key) {
                true => Outcome::Skipped {
                    pk: format!("Jira#{issue_key}"),
                    sk: "latest".into(),
                },
                false => self.unmatched(issue_key).await,
            };
            on_item(progress, &outcome);
            report.push(outcome);
        }
        tracing::info!(
            table = table.name(),
            dry_run = self.dry_run,
            adopted = report.totals.adopted,
            already_mapped = report.totals.already_mapped,
            attention = report.needs_attention(),
            "migration from the sample's table finished"
        );
        Ok(report)
    }

    /// An issue opened in Jira that no case item names: already ours if the store maps it; else
    /// adopted when the issue itself names its case (the label `aws-sir-<caseId>`, which the
    /// earlier migration guide had people add by hand, or the `sir` property); else listed.
    async fn unmatched(&self, issue_key: String) -> Outcome {
        match self.store.mapping_by_issue(&issue_key).await {
            Ok(Some(m)) => {
                return Outcome::AlreadyMapped {
                    case_id: m.case_id,
                    issue_key,
                };
            }
            Ok(None) => {}
            Err(e) => {
                return Outcome::Failed {
                    case_id: format!("(issue {issue_key})"),
                    error: e.to_string(),
                };
            }
        }
        match self.case_named_by(&issue_key).await {
            Ok(Some(case_id)) => self.adopt(&case_id, &issue_key).await,
            Ok(None) => Outcome::Unmatched { issue_key },
            Err(e) => Outcome::Failed {
                case_id: format!("(issue {issue_key})"),
                error: e.to_string(),
            },
        }
    }

    /// The one case the issue names by label or by its `sir` property, if exactly one.
    async fn case_named_by(&self, issue_key: &str) -> Result<Option<CaseId>, JiraError> {
        let detail = match self.jira.issue_detail(issue_key).await {
            Ok(detail) => detail,
            Err(JiraError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut named: Vec<String> = detail
            .issue
            .labels
            .unwrap_or_default()
            .iter()
            .filter_map(|l| l.strip_prefix("aws-sir-"))
            .filter_map(|id| CaseId::parse(id).ok())
            .map(|id| id.to_string())
            .collect();
        let property = self
            .jira
            .issue_property(issue_key, crate::sync::case_to_issue::CASE_PROPERTY)
            .await?;
        if let Some(id) = property
            .as_ref()
            .and_then(|p| p.get("caseId"))
            .and_then(|v| v.as_str())
        {
            named.push(id.to_owned());
        }
        named.sort();
        named.dedup();
        Ok(match named.as_slice() {
            [one] => CaseId::parse(one).ok(),
            _ => None,
        })
    }

    async fn adopt(&self, case_id: &CaseId, key: &str) -> Outcome {
        let outcome = match self.try_adopt(case_id, key).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Failed {
                case_id: case_id.to_string(),
                error: e.to_string(),
            },
        };
        match &outcome {
            Outcome::Adopted { jira_writes, .. } => tracing::info!(
                case_id = %case_id,
                issue_key = key,
                jira_writes,
                dry_run = self.dry_run,
                "case adopted from the sample"
            ),
            other if other.needs_attention() => tracing::warn!(
                case_id = %case_id,
                issue_key = key,
                outcome = %other,
                "case not adopted"
            ),
            _ => {}
        }
        outcome
    }

    async fn try_adopt(&self, case_id: &CaseId, key: &str) -> Result<Outcome, MigrateError> {
        if let Some(done) = self.mapped(case_id, key).await? {
            return Ok(done);
        }
        let case = match self.sir.get_case(case_id).await {
            Ok(case) => case,
            Err(SirError::NotFound { .. }) => {
                return Ok(Outcome::CaseMissing {
                    case_id: case_id.to_string(),
                    issue_key: key.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let detail = match self.jira.issue_detail(key).await {
            Ok(detail) => detail,
            Err(JiraError::NotFound { .. }) => {
                return Ok(Outcome::IssueMissing {
                    case_id: case_id.to_string(),
                    issue_key: key.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        // Jira answers for a moved issue under its new key: that is the one to record.
        let key = detail.issue.key.clone();
        if let Some(ours) = adopt::issue_of_ours(
            self.store.as_ref(),
            self.jira.as_ref(),
            &self.settings,
            case_id.as_str(),
            &key,
        )
        .await?
        {
            return Ok(Outcome::Conflict {
                case_id: case_id.to_string(),
                issue_key: key,
                reason: format!(
                    "this service's sync opened {ours} for the case (a claim without a mapping)"
                ),
            });
        }
        if self.dry_run {
            return Ok(Outcome::WouldAdopt {
                case_id: case_id.to_string(),
                issue_key: key,
            });
        }
        let lease = LeaseSettings {
            ttl: Duration::from_secs(120),
            wait: Duration::from_secs(30),
        };
        let Some(lease) = CaseLease::acquire(&self.store, case_id.as_str(), lease).await? else {
            return Err(MigrateError::Busy(case_id.to_string()));
        };
        let result = self.adopt_locked(case_id, &key, case, detail).await;
        lease.release().await;
        result
    }

    /// The store's word on the case, when it has one: already adopted, or a conflict.
    async fn mapped(&self, case_id: &CaseId, key: &str) -> Result<Option<Outcome>, MigrateError> {
        let case = case_id.to_string();
        if let Some(m) = self.store.mapping_by_case(case_id.as_str()).await? {
            return Ok(Some(match m.issue_key == key {
                true => Outcome::AlreadyMapped {
                    case_id: case,
                    issue_key: m.issue_key,
                },
                false => Outcome::Conflict {
                    case_id: case,
                    issue_key: key.to_owned(),
                    reason: format!("this service already maps the case to {}", m.issue_key),
                },
            }));
        }
        if let Some(m) = self.store.mapping_by_issue(key).await? {
            return Ok(Some(Outcome::Conflict {
                case_id: case,
                issue_key: key.to_owned(),
                reason: format!("this service already maps the issue to case {}", m.case_id),
            }));
        }
        Ok(None)
    }

    async fn adopt_locked(
        &self,
        case_id: &CaseId,
        key: &str,
        case: crate::sir::Case,
        detail: crate::jira::api::IssueDetail,
    ) -> Result<Outcome, MigrateError> {
        // A sync may have recorded a mapping while we read the peers: look again, holding the
        // lease now.
        if let Some(done) = self.mapped(case_id, key).await? {
            return Ok(done);
        }
        let marked =
            match adopt::mark_issue(self.jira.as_ref(), &self.settings, &case, &detail).await? {
                Mark::Marked(marked) => marked,
                Mark::OtherCase(other) => {
                    return Ok(Outcome::Conflict {
                        case_id: case_id.to_string(),
                        issue_key: key.to_owned(),
                        reason: format!("the issue's `sir` property names case {other}"),
                    });
                }
            };
        let comments = self.sir.list_comments(case_id).await?;
        let jira_comments = match comments.is_empty() {
            true => Vec::new(),
            false => self.jira.comments(key).await?,
        };
        let seeded = adopt::seed(
            self.store.as_ref(),
            &self.settings,
            &case,
            &comments,
            &detail,
            &jira_comments,
        )
        .await?;
        let mapping = Mapping {
            case_id: case_id.to_string(),
            issue_key: key.to_owned(),
            issue_id: detail.issue.id.clone(),
        };
        let outcome = match self.store.insert_mapping(&mapping).await? {
            InsertOutcome::Inserted => Outcome::Adopted {
                case_id: case_id.to_string(),
                issue_key: key.to_owned(),
                jira_writes: marked.writes(),
            },
            InsertOutcome::Existing(m) if m.issue_key == key && m.case_id == case_id.as_str() => {
                Outcome::AlreadyMapped {
                    case_id: m.case_id,
                    issue_key: m.issue_key,
                }
            }
            InsertOutcome::Existing(m) => Outcome::Conflict {
                case_id: case_id.to_string(),
                issue_key: key.to_owned(),
                reason: format!("recorded meanwhile: case {} ⇄ {}", m.case_id, m.issue_key),
            },
        };
        tracing::debug!(
            case_id = %case_id,
            issue_key = key,
            comments_linked = seeded.comments,
            attachments_linked = seeded.attachments,
            "ledger and links seeded from the issue"
        );
        Ok(outcome)
    }
}
