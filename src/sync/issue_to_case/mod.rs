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
pub mod comments;
pub mod config;
pub mod create;
pub mod ledger;
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

    /// Summary and description. A Jira value equal to what the issue ledger says Jira holds is
    /// no change (an echo of the case → issue sync, or a person changing formatting only); one
    /// reported as older than the case → issue sync's last write of it is a stale delivery.
    /// Otherwise the case takes it, and the issue ledger records that Jira holds it, so the
    /// case → issue sync does not write it back.
    async fn apply_fields(
        &self,
        issue_key: &str,
        case: &Case,
        wanted: &Wanted,
        ledger: &mut CaseLedger,
        issue: &mut IssueLedger,
    ) -> Result<(), SyncError> {
        // Per field: older than the case change the service last wrote into the issue, a Jira
        // change is stale. Newer than that change but older than the write that carried it,
        // the person's edit was written over in Jira: it still wins, but Jira does not hold it
        // any more, so it is not recorded as held (the case → issue sync writes it back).
        let before = |t: Option<i64>| wanted.at_ms.zip(t).is_some_and(|(at, t)| at < t);
        let timing =
            |w: Option<Written>| (before(w.map(|w| w.case_at_ms)), before(w.map(|w| w.at_ms)));
        let (summary_stale, summary_over) = timing(issue.summary_written);
        let (stale, text_over) = timing(issue.text_written);
        let mut update = CaseUpdate::default();
        // What Jira holds once the case took it (recorded only then: an edit a closed case
        // cannot take must not look agreed, or the case → issue sync would write over it).
        let mut held = (None, None);
        if let Some(summary) = wanted.title.as_deref()
            && issue.summary.as_deref() != Some(fields::summary(summary).as_str())
            && !summary_stale
        {
            let title = text::cap_title(summary);
            if !title.is_empty()
                && title != case.title
                && !ledger.is_echo(&ledger.written.title, &title, wanted.at_ms)
            {
                update.title = Some(title.clone());
            }
            held.0 = Some(fields::summary(&title));
        }
        if let Some(rich) = &wanted.description {
            // Someone edited the service's part in Jira: it is the service's, so the next
            // case → issue sync writes it again (and nothing of it reaches the case).
            // (Unless the service wrote the description after this change: that write already
            // replaced the part the person edited.)
            let replaced_since = before(issue.details_at_ms);
            if !replaced_since
                && issue.details_text.as_deref().is_some_and(|known| {
                    !description::same_text(known, &description::service_text(rich))
                })
            {
                issue.details_hash = None;
            }
            let person = description::person_text(rich);
            let known = issue
                .description_text
                .as_deref()
                .is_some_and(|k| description::same_text(k, &person));
            // SIR requires a description; an emptied Jira description leaves the case's.
            if wanted.person_text_changed && !known && !stale && !person.trim().is_empty() {
                let capped = text::cap_description(&person, issue_key);
                if capped != case.description
                    && !ledger.is_echo(&ledger.written.description, &capped, wanted.at_ms)
                {
                    update.description = Some(capped.clone());
                }
                held.1 = Some(description::normalize(&capped));
            }
        }
        if update != CaseUpdate::default() && case.status == CaseStatus::Closed {
            self.not_applicable(issue_key, case, "summary or description edited");
            return Ok(());
        }
        // Recorded once the case holds it: a failed write is retried with the ledger as it was.
        if update != CaseUpdate::default() {
            self.sir(self.sir.update_case(&case.id, &update).await)?;
        }
        let summary = held.0.filter(|_| !summary_over);
        let text = held.1.filter(|_| !text_over);
        issue.summary = summary.or(issue.summary.take());
        issue.description_text = text.or(issue.description_text.take());
        if update == CaseUpdate::default() {
            return Ok(());
        }
        tracing::info!(case_id = %case.id, issue_key, title = update.title.is_some(), description = update.description.is_some(), "case updated from Jira");
        if update.title.is_some() {
            ledger.written.title = update.title;
        }
        if update.description.is_some() {
            ledger.written.description = update.description;
        }
        ledger.save(self.store.as_ref(), case.id.as_str()).await?;
        Ok(())
    }

    /// The issue's status, carried to the case. A Jira status that both sides already agreed on
    /// (the issue ledger's status with the case's current one) changes nothing; one reported as
    /// older than the status last agreed is a stale delivery (a late event never undoes a newer
    /// one). Otherwise the case walks to the mapped status and the agreement is recorded, so the
    /// case → issue sync leaves the issue's status alone until the case changes again.
    async fn apply_status(
        &self,
        issue_key: &str,
        case: &Case,
        jira: &Status,
        wanted: &Wanted,
        ledger: &mut CaseLedger,
        issue: &mut IssueLedger,
    ) -> Result<(), SyncError> {
        let agreed = issue
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(&jira.name))
            && issue.case_status == Some(case.status);
        if agreed {
            tracing::debug!(case_id = %case.id, issue_key, jira_status = %jira.name, "status already agreed on both sides");
            return Ok(());
        }
        let order = |at: i64, change: Option<u64>| (at, change.unwrap_or(0));
        if let (Some(at), Some(agreed_at)) = (wanted.at_ms, issue.status_at_ms)
            && order(at, wanted.changelog) < order(agreed_at, issue.status_change)
        {
            tracing::info!(case_id = %case.id, issue_key, jira_status = %jira.name, "Jira status change older than the status last agreed: stale delivery, not applied");
            return Ok(());
        }
        let Some(target) = self.config.target_for(&jira.name, jira.category.as_deref()) else {
            tracing::info!(issue_key, jira_status = %jira.name, "Jira status maps to no SIR status: case status left alone");
            return Ok(());
        };
        let current = case.status;
        let now = if current == CaseStatus::Closed {
            if target != StatusTarget::Close {
                // Not recorded as agreed: the case → issue sync decides by time whether this
                // move came after the close (it stays) or before it (the issue follows the case).
                self.not_applicable(
                    issue_key,
                    case,
                    "status moved (the API cannot reopen a case)",
                );
                return Ok(());
            }
            current
        } else if self.config.already_shown_as(current, &jira.name) {
            // Several SIR statuses show as one Jira status: a case in any of them agrees.
            current
        } else {
            match target {
                StatusTarget::Status(to) if to == current => current,
                StatusTarget::Status(to) => {
                    if ledger.is_echo(&ledger.written.status, &to, wanted.at_ms) {
                        return Ok(());
                    }
                    let steps =
                        status::path(current, to).ok_or_else(|| SyncError::Unreachable {
                            case_id: case.id.to_string(),
                            from: current,
                            to,
                            jira_status: jira.name.clone(),
                        })?;
                    for step in steps {
                        self.sir(self.sir.update_case_status(&case.id, step).await)?;
                        tracing::info!(case_id = %case.id, issue_key, status = %step, "case status set from Jira");
                        ledger.written.status = Some(step);
                        ledger.save(self.store.as_ref(), case.id.as_str()).await?;
                    }
                    to
                }
                StatusTarget::Close => {
                    self.close(issue_key, case, jira, wanted, ledger).await?;
                    CaseStatus::Closed
                }
            }
        };
        let at = wanted.at_ms.unwrap_or_else(now_ms).min(now_ms());
        issue.status = Some(jira.name.clone());
        issue.resolution = wanted.resolution.clone();
        issue.case_status = Some(now);
        if issue.status_at_ms.is_none_or(|known| known <= at) {
            issue.status_at_ms = Some(at);
            issue.status_change = wanted.changelog;
        }
        Ok(())
    }

    /// A person's change in Jira that the case cannot take (it is closed, and SIR's API
    /// reopens nothing): recorded, counted and left in Jira, never a dead letter.
    fn not_applicable(&self, issue_key: &str, case: &Case, what: &str) {
        tracing::info!(case_id = %case.id, issue_key, what, "the SIR case is closed: the Jira change does not apply to it");
        if let Some(metrics) = &self.metrics {
            metrics.not_applicable.inc();
        }
    }

    /// Records the closure code as a comment, then closes. Comment first: a closed case takes
    /// no comments, and a retry after a failed close repeats the comment harmlessly (same token).
    async fn close(
        &self,
        issue_key: &str,
        case: &Case,
        jira: &Status,
        wanted: &Wanted,
        ledger: &mut CaseLedger,
    ) -> Result<(), SyncError> {
        let code = self.config.closure_code_for(wanted.resolution.as_deref());
        let body = format!(
            "{} Closed from Jira (status {}, resolution {}). Closure code: {}. \
             The SIR API closes cases without a closure code, so sir-jira-bridge records it here; \
             set it on the case in the console if your process needs the field.",
            comments::note_tag(issue_key),
            jira.name,
            wanted.resolution.as_deref().unwrap_or("none"),
            code.as_str()
        );
        let token = format!(
            "jira-close-{issue_key}-{}",
            wanted.change_ref.as_deref().unwrap_or("0")
        );
        match self.sir.create_comment(&case.id, &body, &token).await {
            Ok(_) => {}
            // The token was used for this close with another body (config changed between
            // attempts): the closure code is already on record.
            Err(SirError::Conflict(m)) => {
                tracing::info!(case_id = %case.id, message = %m, "closure comment already recorded")
            }
            Err(e) => return Err(self.sir_failed(e)),
        }
        self.sir(self.sir.close_case(&case.id).await)?;
        tracing::info!(case_id = %case.id, issue_key, closure_code = code.as_str(), "case closed from Jira");
        ledger.written.status = Some(CaseStatus::Closed);
        ledger.written.closed = true;
        ledger.save(self.store.as_ref(), case.id.as_str()).await?;
        Ok(())
    }

    async fn comment_changed(&self, e: &CommentEvent) -> Result<(), SyncError> {
        let Some(case_id) = self.case_for(&e.issue.key).await? else {
            return Ok(());
        };
        // Under the case's lease: two revisions of one comment are never written at once.
        let _lease = self.lease(&case_id).await?;
        match self.apply_comment(e, &case_id).await {
            // SIR refuses comments on a closed case; only then is the case read to tell.
            Err(SyncError::Sir(SirError::Validation(message))) => {
                let case = self.sir(self.sir.get_case(&case_id).await)?;
                if case.status != CaseStatus::Closed {
                    return Err(SyncError::Sir(SirError::Validation(message)));
                }
                self.not_applicable(&e.issue.key, &case, "comment added or edited");
                Ok(())
            }
            other => other,
        }
    }

    async fn apply_comment(&self, e: &CommentEvent, case_id: &CaseId) -> Result<(), SyncError> {
        let jira_id = &e.comment.id;
        let case_id = case_id.clone();
        let twin = comments::twin(self.store.as_ref(), case_id.as_str(), jira_id).await?;
        let body = comments::body(e);
        let digest = comments::sha256_hex(&body);
        let revision = e
            .comment
            .updated
            .as_deref()
            .or(e.comment.created.as_deref());
        match twin {
            Some(t) if t.origin == Side::Sir => {
                // A SIR comment mirrored into Jira: SIR keeps its author's text.
                tracing::debug!(issue_key = %e.issue.key, jira_comment_id = %jira_id, "comment came from SIR: not written back");
                Ok(())
            }
            Some(t) if t.is_newer_than(revision) => {
                tracing::debug!(case_id = %case_id, jira_comment_id = %jira_id, "an older revision of the comment than the case holds: not written");
                Ok(())
            }
            Some(t) if t.hash.as_deref() == Some(digest.as_str()) => {
                tracing::debug!(case_id = %case_id, jira_comment_id = %jira_id, "comment already on the case as is");
                Ok(())
            }
            Some(t) => {
                self.sir(
                    self.sir
                        .update_comment(&case_id, &t.sir_comment_id, &body)
                        .await,
                )?;
                tracing::info!(case_id = %case_id, jira_comment_id = %jira_id, sir_comment_id = %t.sir_comment_id, "case comment updated from Jira");
                self.record(
                    &case_id,
                    jira_id,
                    &t.sir_comment_id,
                    &digest,
                    revision,
                    t.version,
                )
                .await
            }
            None => self.create_comment(e, &case_id, &body, digest).await,
        }
    }

    async fn create_comment(
        &self,
        e: &CommentEvent,
        case_id: &CaseId,
        body: &str,
        digest: String,
    ) -> Result<(), SyncError> {
        let jira_id = &e.comment.id;
        let token = comments::client_token(jira_id);
        let sir_comment_id = match self.sir.create_comment(case_id, body, &token).await {
            Ok(id) => id,
            // The token was used with another body: an earlier attempt created the comment and
            // the link was not saved, and the comment was edited since. Find it by its tag and
            // bring it up to date.
            Err(SirError::Conflict(_)) => {
                let tag = comments::tag(&e.issue.key, jira_id);
                let existing = self.sir(self.sir.list_comments(case_id).await)?;
                let Some(found) = existing.into_iter().find(|c| c.body.starts_with(&tag)) else {
                    return Err(SyncError::Sir(SirError::Conflict(format!(
                        "clientToken {token} was used before but no comment tagged {tag} is on case {case_id}"
                    ))));
                };
                self.sir(self.sir.update_comment(case_id, &found.id, body).await)?;
                found.id
            }
            Err(e) => return Err(self.sir_failed(e)),
        };
        tracing::info!(case_id = %case_id, jira_comment_id = %jira_id, sir_comment_id = %sir_comment_id, "case comment added from Jira");
        let revision = e
            .comment
            .updated
            .as_deref()
            .or(e.comment.created.as_deref());
        self.record(case_id, jira_id, &sir_comment_id, &digest, revision, None)
            .await
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
        if matches!(e, SirError::AccessDenied(_)) {
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
