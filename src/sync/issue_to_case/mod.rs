//! Issue → case: Jira changes written to the mapped SIR case.
//!
//! For each `jira.*` event (and `sync.issue.requested`) about an issue mapped to a case:
//! - summary / description → UpdateCase, only for what differs from the case and is not our own
//!   echo (see [`ledger`]); descriptions are cut to SIR's 8000 characters with a marker;
//! - status → the configured SIR target, reached by walking UpdateCaseStatus's allowed moves one
//!   call per step, never moving a case that already shows as that Jira status; a target of
//!   Closed records the closure code (from the resolution) as a comment, then CloseCase — the API
//!   takes no closure code;
//! - comments → CreateCaseComment with attribution and a token derived from the Jira comment id;
//!   edits → UpdateCaseComment, through the comment link (see [`comments`]);
//! - attachments added → uploaded through the case's presigned URL, once each (see
//!   [`attachments`]).
//!
//! Changes made by the integration's own Jira account are echoes and write nothing. Issues
//! without a mapping are ignored unless `create_cases` is configured and the issue opts in by a
//! label or its type (see [`create`]): a case needs real accounts and watchers that a Jira
//! issue does not carry, so they come from configuration, never from placeholders.

pub mod attachments;
mod comment_sync;
pub mod comments;
pub mod config;
pub mod create;
mod edits;
pub mod ledger;
mod moves;
pub mod source;
pub mod status;
pub mod text;

use std::sync::Arc;

use async_trait::async_trait;

pub use config::{CreateCases, IssueToCaseConfig, StatusTarget};
pub use source::{IssueSource, IssueSourceError, JiraIssueSource};

pub use crate::sync::SyncError;
use crate::{
    bus::Failure,
    db::now_ms,
    event::{
        Event, EventEnvelope,
        jira::{CommentEvent, IssueEvent, RichText, Status},
    },
    jira::api::{IssueDetail, JiraAttachment},
    metrics::Metrics,
    sir::{Case, CaseId, CaseStatus, CaseUpdate, SirApi, SirError},
    store::StateStore,
    sync::{
        case_to_issue::{IssueLedger, Written},
        echo,
        fields::{self, description},
        lease::{CaseLease, LeaseSettings},
    },
    worker::EventHandler,
};
use comments::Side;
use ledger::CaseLedger;

/// The fields of the issue to apply, already extracted from the event or the fetched issue.
#[derive(Debug, Default)]
struct Wanted {
    title: Option<String>,
    description: Option<RichText>,
    /// False when the changelog shows the description's person part read the same before and
    /// after (only the service's part was edited): its text is then not a person's new text.
    person_text_changed: bool,
    status: Option<Status>,
    resolution: Option<String>,
    /// The changelog id or event time: makes the closure comment's token stable per change.
    change_ref: Option<String>,
    /// When Jira made the change (ms), when known.
    at_ms: Option<i64>,
    /// The changelog's id: Jira numbers them in order, which orders changes made within one
    /// millisecond (a person's two quick transitions).
    changelog: Option<u64>,
    /// The issue's attachments, when the change may have added one.
    attachments: Option<Vec<JiraAttachment>>,
}

/// The `issue_to_case` handler for the [`crate::worker::Dispatcher`].
pub struct IssueToCaseSync {
    config: IssueToCaseConfig,
    sir: Arc<dyn SirApi>,
    store: Arc<dyn StateStore>,
    source: Option<Arc<dyn IssueSource>>,
    attachment_max_bytes: u64,
    lease: LeaseSettings,
    metrics: Option<Arc<Metrics>>,
    /// For the presigned upload URLs (no AWS credentials involved).
    http: reqwest::Client,
}

/// Attachments over this size become a comment on the case, unless configured.
pub const DEFAULT_ATTACHMENT_MAX_BYTES: u64 = 10 * 1024 * 1024;

impl IssueToCaseSync {
    pub fn new(
        config: IssueToCaseConfig,
        sir: Arc<dyn SirApi>,
        store: Arc<dyn StateStore>,
    ) -> IssueToCaseSync {
        IssueToCaseSync {
            config,
            sir,
            store,
            source: None,
            attachment_max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES,
            lease: LeaseSettings::default(),
            metrics: None,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Attachments larger than this are not uploaded; the case gets a comment naming them.
    pub fn with_attachment_limit(mut self, max_bytes: u64) -> IssueToCaseSync {
        self.attachment_max_bytes = max_bytes;
        self
    }

    /// Counts the changes a closed case cannot take.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> IssueToCaseSync {
        self.metrics = Some(metrics);
        self
    }

    /// How long the case's lease (shared with the case → issue sync) lasts and is waited for.
    pub fn with_lease(mut self, lease: LeaseSettings) -> IssueToCaseSync {
        self.lease = lease;
        self
    }

    /// Lets key-only deliveries and `sync.issue.requested` fetch the issue from Jira.
    pub fn with_issue_source(mut self, source: Arc<dyn IssueSource>) -> IssueToCaseSync {
        self.source = Some(source);
        self
    }

    async fn apply(&self, envelope: &EventEnvelope) -> Result<(), SyncError> {
        if self.is_own_change(&envelope.event).await? {
            tracing::debug!(
                event_type = envelope.event.type_name(),
                issue_key = envelope.event.jira_issue_key().unwrap_or(""),
                "the integration's own Jira change (its account, or the values it wrote): echo, ignored"
            );
            return Ok(());
        }
        match &envelope.event {
            Event::JiraIssueUpdated(e) | Event::JiraIssueCreated(e) => self.issue_changed(e).await,
            Event::JiraIssueDeleted(e) => {
                // SIR has no case deletion; the case stays and the operator decides.
                tracing::warn!(issue_key = %e.issue.key, "Jira issue deleted: its SIR case is left as it is");
                Ok(())
            }
            Event::JiraCommentCreated(e) | Event::JiraCommentUpdated(e) => {
                self.comment_changed(e).await
            }
            Event::JiraCommentDeleted(e) => {
                tracing::info!(issue_key = %e.issue.key, jira_comment_id = %e.comment.id, "Jira comment deleted: SIR has no comment deletion, the case keeps its copy");
                Ok(())
            }
            Event::SyncIssueRequested(r) => {
                let Some(case_id) = self.case_for(&r.issue_key).await? else {
                    return Ok(());
                };
                let _lease = self.lease(&case_id).await?;
                let snapshot = self.fetch(&r.issue_key).await?;
                let wanted = Wanted {
                    title: snapshot.issue.summary.clone(),
                    description: snapshot.issue.description.clone(),
                    person_text_changed: true,
                    status: snapshot.issue.status.clone(),
                    resolution: snapshot.resolution,
                    change_ref: Some("sync".into()),
                    // An operator's explicit request wins over the echo rule.
                    at_ms: Some(i64::MAX),
                    changelog: None,
                    attachments: Some(snapshot.attachments),
                };
                self.apply_issue(&r.issue_key, &case_id, wanted).await
            }
            Event::SirCaseChanged(_) | Event::SyncCaseRequested(_) => Ok(()),
        }
    }

    /// The case → issue sync's echo rule: the integration's own Jira account acted, or an issue
    /// update only sets values its Jira ledger says it wrote.
    async fn is_own_change(&self, event: &Event) -> Result<bool, SyncError> {
        let Some(own) = self.config.own_jira_account_id.as_deref() else {
            return Ok(false);
        };
        let ledger = match event {
            Event::JiraIssueUpdated(e) => {
                IssueLedger::load(self.store.as_ref(), &e.issue.key).await?
            }
            _ => None,
        };
        Ok(echo::is_own_change(event, own, ledger.as_ref()))
    }

    async fn case_for(&self, issue_key: &str) -> Result<Option<CaseId>, SyncError> {
        match self.store.mapping_by_issue(issue_key).await? {
            Some(m) => CaseId::parse(&m.case_id)
                .map(Some)
                .map_err(|_| SyncError::BadCaseId(m.case_id)),
            None => {
                tracing::debug!(issue_key, "issue mapped to no SIR case: ignored");
                Ok(None)
            }
        }
    }

    async fn fetch(&self, key: &str) -> Result<IssueDetail, SyncError> {
        let source = self
            .source
            .as_ref()
            .ok_or_else(|| SyncError::NoSource(key.to_owned()))?;
        source.issue(key).await.map_err(|error| SyncError::Source {
            key: key.to_owned(),
            error,
        })
    }

    async fn issue_changed(&self, e: &IssueEvent) -> Result<(), SyncError> {
        let key = &e.issue.key;
        let Some(case_id) = self.case_for(key).await? else {
            return self.create_for(e).await;
        };
        // Held from the issue's read on: nothing read here is older than the other
        // direction's last write.
        let _lease = self.lease(&case_id).await?;
        let attachment_added = e
            .changes
            .iter()
            .any(|c| c.field.eq_ignore_ascii_case("attachment") && c.to.is_some());
        // A status change is applied as the issue stands now, not as the delivery says: a
        // person's later moves may be queued behind it, and acting on this one would move the
        // case back before they arrive.
        let status_changed = e.changes.iter().any(|c| {
            c.field.eq_ignore_ascii_case("status") || c.field.eq_ignore_ascii_case("resolution")
        });
        let reread = status_changed && self.source.is_some();
        let (issue, resolution, attachments) = if e.complete && !attachment_added && !reread {
            let resolution = e
                .changes
                .iter()
                .find(|c| c.field.eq_ignore_ascii_case("resolution"))
                .and_then(|c| c.to_string.clone());
            (e.issue.clone(), resolution, None)
        } else {
            // Deliveries never carry attachment lists: read the issue for them too.
            let snapshot = self.fetch(key).await?;
            let resolution = snapshot.resolution;
            (snapshot.issue, resolution, Some(snapshot.attachments))
        };
        // With a changelog only what changed is applied, so a SIR-side edit that has not reached
        // Jira yet is not overwritten by the issue's older values.
        let changed = |field: &str| {
            e.changes.is_empty()
                || e.changes
                    .iter()
                    .any(|c| c.field.eq_ignore_ascii_case(field))
        };
        let wanted = Wanted {
            title: issue.summary.filter(|_| changed("summary")),
            description: issue.description.filter(|_| changed("description")),
            person_text_changed: e
                .changes
                .iter()
                .find(|c| c.field.eq_ignore_ascii_case("description"))
                // Without the texts the changelog says nothing either way.
                .filter(|c| c.from_string.is_some() && c.to_string.is_some())
                .is_none_or(|c| {
                    let read = |wiki: &Option<String>| {
                        description::person_text(&RichText {
                            text: wiki.clone().unwrap_or_default(),
                            adf: None,
                        })
                    };
                    !description::same_text(&read(&c.from_string), &read(&c.to_string))
                }),
            status: issue
                .status
                .filter(|_| changed("status") || changed("resolution")),
            resolution,
            change_ref: e
                .changelog_id
                .clone()
                .or_else(|| e.occurred_at.map(|t| t.to_string())),
            at_ms: e.occurred_at,
            changelog: e.changelog_id.as_deref().and_then(|id| id.parse().ok()),
            attachments,
        };
        self.apply_issue(key, &case_id, wanted).await
    }

    /// An issue without a case: opens one when the issue opts in, then applies its status.
    async fn create_for(&self, e: &IssueEvent) -> Result<(), SyncError> {
        if self.config.create_cases.is_none() {
            tracing::debug!(issue_key = %e.issue.key, "issue mapped to no SIR case: ignored");
            return Ok(());
        }
        let issue = if e.complete {
            e.issue.clone()
        } else {
            self.fetch(&e.issue.key).await?.issue
        };
        match self.maybe_create(&issue, e.occurred_at).await? {
            Some(case_id) => {
                let wanted = Self::created_wanted(&issue, e.occurred_at);
                let _lease = self.lease(&case_id).await?;
                self.apply_issue(&issue.key, &case_id, wanted).await
            }
            None => Ok(()),
        }
    }

    /// The case's lease, which the case → issue sync holds too: what is read under it (the
    /// issue, the case, both ledgers) cannot change underneath until it is written. Released
    /// when dropped.
    async fn lease(&self, case_id: &CaseId) -> Result<CaseLease, SyncError> {
        CaseLease::acquire(&self.store, case_id.as_str(), self.lease)
            .await?
            .ok_or_else(|| SyncError::Busy(case_id.to_string()))
    }

    /// Applies an issue's change; the caller holds the case's lease.
    async fn apply_issue(
        &self,
        issue_key: &str,
        case_id: &CaseId,
        wanted: Wanted,
    ) -> Result<(), SyncError> {
        let case = self.sir(self.sir.get_case(case_id).await)?;
        let mut ledger = CaseLedger::load(self.store.as_ref(), case_id.as_str()).await?;
        let mut issue = IssueLedger::load(self.store.as_ref(), issue_key)
            .await?
            .unwrap_or_else(|| IssueLedger {
                case_id: case_id.to_string(),
                ..IssueLedger::default()
            });
        let before = issue.clone();
        let fields = self
            .apply_fields(issue_key, &case, &wanted, &mut ledger, &mut issue)
            .await;
        // Before the status: a closed case takes no uploads.
        let attachments = match (&fields, &wanted.attachments) {
            (Ok(()), Some(attachments)) if case.status != CaseStatus::Closed => {
                self.sync_attachments(issue_key, &case, attachments).await
            }
            _ => Ok(()),
        };
        let status = match (&fields, &attachments, &wanted.status) {
            (Ok(()), Ok(()), Some(status)) => {
                self.apply_status(issue_key, &case, status, &wanted, &mut ledger, &mut issue)
                    .await
            }
            _ => Ok(()),
        };
        if issue != before {
            issue.save(self.store.as_ref(), issue_key).await?;
        }
        fields.and(attachments).and(status)
    }

    async fn record(
        &self,
        case_id: &CaseId,
        jira_id: &str,
        sir_comment_id: &str,
        digest: &str,
        revision: Option<&str>,
        expected: Option<u64>,
    ) -> Result<(), SyncError> {
        let store = self.store.as_ref();
        if !comments::record(
            store,
            case_id.as_str(),
            jira_id,
            sir_comment_id,
            digest,
            revision,
            expected,
        )
        .await?
        {
            // Another worker (or the case → issue sync, which saw the new SIR comment before
            // this link was written) got there first; the next event for the comment re-reads.
            tracing::warn!(case_id = %case_id, jira_comment_id = jira_id, sir_comment_id, "comment link changed concurrently: not overwritten");
        }
        Ok(())
    }

    /// SIR results as sync errors. (The SIR client records each outcome in the peer health.)
    fn sir<T>(&self, result: Result<T, SirError>) -> Result<T, SyncError> {
        result.map_err(|e| self.sir_failed(e))
    }

    fn sir_failed(&self, e: SirError) -> SyncError {
        if matches!(e, SirError::AccessDenied { .. }) {
            tracing::error!(error = %e, "SIR denied the integration access: fix its permissions; the event is kept for retry");
        }
        SyncError::Sir(e)
    }
}

#[async_trait]
impl EventHandler for IssueToCaseSync {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        self.apply(envelope).await.map_err(|e| {
            let retryable = e.is_retryable();
            tracing::warn!(
                event_id = %envelope.id,
                event_type = envelope.event.type_name(),
                issue_key = envelope.event.jira_issue_key().unwrap_or(""),
                error = %e,
                retryable,
                "issue → case sync failed"
            );
            Failure {
                error: e.to_string(),
                retryable,
            }
        })
    }
}
