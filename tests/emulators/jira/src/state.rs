//! The site's mutable state and every change that can be made to it. API handlers and the
//! "human" helpers both go through these methods, so every change, whoever made it, records
//! history and fires the same webhooks.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use bytes::Bytes;
use serde_json::Value;
use time::OffsetDateTime;

use crate::{
    config::{EmulatorConfig, LimitsConfig, StatusCategory, WebhookBodyFormat},
    error::{JiraError, JiraResult},
    model::{
        Account, Attachment, ChangeGroup, ChangeItem, Comment, Issue, RichText, StatusChange,
        WebhookRegistration,
    },
    site::Site,
    webhooks::{Delivery, DeliverySink, WebhookEvent, expand_comment_event},
};

/// One edit of one field, already validated against the site.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldChange {
    Summary(String),
    Description(Option<RichText>),
    /// The complete new label set.
    Labels(Vec<String>),
    Priority(Option<String>),
    Assignee(Option<String>),
    IssueType(String),
    Resolution(Option<String>),
    Custom(String, Option<Value>),
}

/// A validated create request.
#[derive(Debug, Clone, Default)]
pub struct NewIssue {
    pub project_key: String,
    pub issue_type_id: String,
    pub summary: String,
    pub description: Option<RichText>,
    pub labels: Vec<String>,
    pub priority_id: Option<String>,
    pub assignee: Option<String>,
    pub reporter: Option<String>,
    pub custom_fields: BTreeMap<String, Value>,
    /// Entity properties set by the create itself (its `properties` array).
    pub properties: BTreeMap<String, Value>,
}

pub struct State {
    pub site: Arc<Site>,
    pub accounts: Vec<Account>,
    pub limits: LimitsConfig,
    pub webhook_body_format: WebhookBodyFormat,
    /// Whether `/rest/webhooks/1.0/webhook` exists (see `WebhookConfig::rest_resource`).
    pub webhook_rest_resource: bool,
    issues: BTreeMap<u64, Issue>,
    keys: HashMap<String, u64>,
    comments: BTreeMap<u64, Comment>,
    attachments: BTreeMap<u64, Attachment>,
    pub(crate) webhooks: BTreeMap<u64, WebhookRegistration>,
    next_issue: u64,
    next_comment: u64,
    next_attachment: u64,
    next_changelog: u64,
    next_webhook: u64,
    next_number: HashMap<String, u64>,
    sink: Option<DeliverySink>,
}

/// The id of the configured (not REST-registered) webhook.
pub const CONFIGURED_WEBHOOK_ID: u64 = 1;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl State {
    pub fn new(config: &EmulatorConfig, site: Site, sink: Option<DeliverySink>) -> Self {
        let accounts = config
            .accounts
            .iter()
            .map(|a| Account {
                account_id: a.account_id.clone(),
                email: a.email.clone(),
                name: a.name.clone(),
                display_name: a.display_name.clone(),
                api_token: a.api_token.clone(),
                pat: a.pat.clone(),
                admin: a.admin,
                account_type: a.account_type.clone(),
                active: true,
            })
            .collect::<Vec<_>>();
        let mut state = Self {
            site: Arc::new(site),
            accounts,
            limits: config.limits.clone(),
            webhook_body_format: config.webhooks.body_format,
            webhook_rest_resource: config.webhooks.rest_resource,
            issues: BTreeMap::new(),
            keys: HashMap::new(),
            comments: BTreeMap::new(),
            attachments: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            next_issue: 10000,
            next_comment: 10000,
            next_attachment: 10000,
            next_changelog: 10100,
            next_webhook: CONFIGURED_WEBHOOK_ID + 1,
            next_number: HashMap::new(),
            sink,
        };
        if let Some(url) = &config.webhooks.url {
            state.set_configured_webhook(
                url.clone(),
                config.webhooks.secret.clone(),
                config.webhooks.events.clone(),
                config.webhooks.jql.clone(),
            );
        }
        state
    }

    // ---- lookups -------------------------------------------------------------------------

    pub fn account(&self, account_id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.account_id == account_id)
    }

    pub fn account_mut(&mut self, account_id: &str) -> Option<&mut Account> {
        self.accounts
            .iter_mut()
            .find(|a| a.account_id == account_id)
    }

    /// An issue by numeric id or key (keys are matched case-insensitively, as Jira does).
    pub fn issue(&self, id_or_key: &str) -> Option<&Issue> {
        self.issue_id(id_or_key).and_then(|id| self.issues.get(&id))
    }

    pub fn issue_or_404(&self, id_or_key: &str) -> JiraResult<&Issue> {
        self.issue(id_or_key).ok_or_else(JiraError::issue_not_found)
    }

    fn issue_id(&self, id_or_key: &str) -> Option<u64> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            return self.issues.contains_key(&id).then_some(id);
        }
        self.keys.get(&id_or_key.to_ascii_uppercase()).copied()
    }

    fn issue_mut(&mut self, id_or_key: &str) -> JiraResult<&mut Issue> {
        let id = self
            .issue_id(id_or_key)
            .ok_or_else(JiraError::issue_not_found)?;
        Ok(self.issues.get_mut(&id).expect("indexed issue exists"))
    }

    /// Moves every issue's and comment's times `by` into the past, as if the site had been
    /// left alone that long (tests of what searches by `updated` find).
    pub fn age(&mut self, by: time::Duration) {
        for issue in self.issues.values_mut() {
            issue.created -= by;
            issue.updated -= by;
        }
        for comment in self.comments.values_mut() {
            comment.created -= by;
            comment.updated -= by;
        }
    }

    pub fn issues(&self) -> impl Iterator<Item = &Issue> {
        self.issues.values()
    }

    pub fn comment(&self, id: &str) -> Option<&Comment> {
        id.parse::<u64>().ok().and_then(|id| self.comments.get(&id))
    }

    pub fn comments_of(&self, issue: &Issue) -> Vec<&Comment> {
        issue
            .comment_ids
            .iter()
            .filter_map(|id| self.comment(id))
            .collect()
    }

    pub fn attachment(&self, id: &str) -> Option<&Attachment> {
        id.parse::<u64>()
            .ok()
            .and_then(|id| self.attachments.get(&id))
    }

    pub fn attachments_of(&self, issue: &Issue) -> Vec<&Attachment> {
        issue
            .attachment_ids
            .iter()
            .filter_map(|id| self.attachment(id))
            .collect()
    }

    pub fn webhook_registrations(&self) -> impl Iterator<Item = &WebhookRegistration> {
        self.webhooks.values()
    }

    pub fn status_name(&self, status_id: &str) -> String {
        self.site
            .status(status_id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| status_id.to_owned())
    }

    // ---- issues --------------------------------------------------------------------------

    pub fn create_issue(&mut self, actor: &str, new: NewIssue) -> JiraResult<Issue> {
        let project = self
            .site
            .project(&new.project_key)
            .cloned()
            .ok_or_else(|| JiraError::field("project", "valid project is required"))?;
        let number = self.next_number.entry(project.key.clone()).or_insert(1);
        let key = format!("{}-{}", project.key, number);
        *number += 1;
        let id = self.next_issue;
        self.next_issue += 1;
        let at = now();
        let issue = Issue {
            id: id.to_string(),
            key: key.clone(),
            project_key: project.key.clone(),
            issue_type_id: new.issue_type_id,
            summary: new.summary,
            description: new.description,
            labels: new.labels,
            priority_id: new
                .priority_id
                .or_else(|| self.site.default_priority.clone()),
            assignee: new.assignee,
            reporter: new.reporter.unwrap_or_else(|| actor.to_owned()),
            creator: actor.to_owned(),
            status_id: project.workflow.initial.clone(),
            resolution_id: None,
            resolution_date: None,
            created: at,
            updated: at,
            custom_fields: new.custom_fields,
            comment_ids: Vec::new(),
            attachment_ids: Vec::new(),
            properties: new.properties,
            changelog: Vec::new(),
            status_history: vec![StatusChange {
                from: String::new(),
                to: self.status_name(&project.workflow.initial),
                transition_id: None,
                author: actor.to_owned(),
            }],
        };
        self.issues.insert(id, issue.clone());
        self.keys.insert(key, id);
        let changelog = ChangeGroup {
            id: self.changelog_id(),
            author: actor.to_owned(),
            created: at,
            items: Vec::new(),
        };
        self.emit(WebhookEvent::issue(
            "jira:issue_created",
            "issue_created",
            actor,
            &issue,
            Some(changelog),
            at,
        ));
        Ok(issue)
    }

    /// Applies field edits; records history and fires `jira:issue_updated` only when something
    /// really changed. Returns whether anything changed.
    pub fn edit_issue(
        &mut self,
        actor: &str,
        id_or_key: &str,
        changes: Vec<FieldChange>,
    ) -> JiraResult<bool> {
        let at = now();
        let items = {
            let site = self.site.clone();
            let issue = self.issue_mut(id_or_key)?;
            apply_changes(&site, issue, changes)
        };
        if items.is_empty() {
            return Ok(false);
        }
        let event_type = if items.iter().all(|i| i.field_id == "assignee") {
            "issue_assigned"
        } else {
            "issue_updated"
        };
        self.record(actor, id_or_key, items, at, event_type)?;
        Ok(true)
    }

    fn record(
        &mut self,
        actor: &str,
        id_or_key: &str,
        items: Vec<ChangeItem>,
        at: OffsetDateTime,
        event_type: &str,
    ) -> JiraResult<()> {
        let group = ChangeGroup {
            id: self.changelog_id(),
            author: actor.to_owned(),
            created: at,
            items,
        };
        let issue = self.issue_mut(id_or_key)?;
        issue.updated = at;
        issue.changelog.push(group.clone());
        let snapshot = issue.clone();
        self.emit(WebhookEvent::issue(
            "jira:issue_updated",
            event_type,
            actor,
            &snapshot,
            Some(group),
            at,
        ));
        Ok(())
    }

    /// Moves the issue along `transition_id`, which must be available from its current status.
    /// `fields` are the transition screen's fields (already validated against it).
    pub fn transition(
        &mut self,
        actor: &str,
        id_or_key: &str,
        transition_id: &str,
        mut fields: Vec<FieldChange>,
    ) -> JiraResult<()> {
        let issue = self.issue_or_404(id_or_key)?;
        let project = self
            .site
            .project(&issue.project_key)
            .cloned()
            .expect("issues belong to configured projects");
        let transition = project
            .workflow
            .find_available(&issue.status_id, transition_id)
            .cloned()
            .ok_or_else(|| {
                JiraError::bad_request(format!(
                    "Transition id '{transition_id}' is not valid for this issue."
                ))
            })?;
        let from_status = issue.status_id.clone();
        let target = project
            .workflow
            .status(&transition.to)
            .cloned()
            .expect("compiled transitions name known statuses");
        let sets_resolution = fields
            .iter()
            .any(|f| matches!(f, FieldChange::Resolution(_)));
        if target.category == StatusCategory::Done {
            if !sets_resolution && let Some(r) = &transition.resolution {
                fields.push(FieldChange::Resolution(Some(r.clone())));
            }
        } else if issue.resolution_id.is_some() {
            // Jira's default workflows clear the resolution when an issue leaves done.
            fields.push(FieldChange::Resolution(None));
        }
        let at = now();
        let site = self.site.clone();
        let from_name = self.status_name(&from_status);
        let to_name = target.name.clone();
        let issue = self.issue_mut(id_or_key)?;
        issue.status_id = target.id.clone();
        let mut items = vec![ChangeItem {
            field: "status".into(),
            fieldtype: "jira".into(),
            field_id: "status".into(),
            from: Some(from_status),
            from_string: Some(from_name.clone()),
            to: Some(target.id.clone()),
            to_string: Some(to_name.clone()),
        }];
        items.extend(apply_changes(&site, issue, fields));
        issue.status_history.push(StatusChange {
            from: from_name,
            to: to_name,
            transition_id: Some(transition.id.clone()),
            author: actor.to_owned(),
        });
        let key = issue.key.clone();
        self.record(actor, &key, items, at, &transition.event)
    }

    pub fn delete_issue(&mut self, actor: &str, id_or_key: &str) -> JiraResult<Issue> {
        let id = self
            .issue_id(id_or_key)
            .ok_or_else(JiraError::issue_not_found)?;
        let issue = self.issues.get(&id).cloned().expect("indexed");
        let at = now();
        // The payload describes the issue as it was; build it before the data goes.
        self.emit(WebhookEvent::issue(
            "jira:issue_deleted",
            "issue_deleted",
            actor,
            &issue,
            None,
            at,
        ));
        self.issues.remove(&id);
        self.keys.remove(&issue.key);
        for c in &issue.comment_ids {
            if let Ok(c) = c.parse::<u64>() {
                self.comments.remove(&c);
            }
        }
        for a in &issue.attachment_ids {
            if let Ok(a) = a.parse::<u64>() {
                self.attachments.remove(&a);
            }
        }
        Ok(issue)
    }

    // ---- comments ------------------------------------------------------------------------

    pub fn add_comment(
        &mut self,
        actor: &str,
        id_or_key: &str,
        body: RichText,
        visibility: Option<Value>,
    ) -> JiraResult<Comment> {
        let at = now();
        let id = self.next_comment;
        let issue = self.issue_mut(id_or_key)?;
        let comment = Comment {
            id: id.to_string(),
            issue_id: issue.id.clone(),
            author: actor.to_owned(),
            update_author: actor.to_owned(),
            body,
            created: at,
            updated: at,
            visibility,
            properties: BTreeMap::new(),
        };
        issue.comment_ids.push(comment.id.clone());
        issue.updated = at;
        let snapshot = issue.clone();
        self.next_comment += 1;
        self.comments.insert(id, comment.clone());
        self.emit(WebhookEvent::comment(
            "comment_created",
            "issue_commented",
            actor,
            &snapshot,
            &comment,
            at,
        ));
        Ok(comment)
    }

    pub fn update_comment(
        &mut self,
        actor: &str,
        id_or_key: &str,
        comment_id: &str,
        body: RichText,
        visibility: Option<Option<Value>>,
    ) -> JiraResult<Comment> {
        let at = now();
        let issue = self.issue_or_404(id_or_key)?.clone();
        let comment = self.comment_in_issue_mut(&issue, comment_id)?;
        comment.body = body;
        comment.update_author = actor.to_owned();
        comment.updated = at;
        if let Some(v) = visibility {
            comment.visibility = v;
        }
        let comment = comment.clone();
        let issue = self.issue_mut(id_or_key)?;
        issue.updated = at;
        let snapshot = issue.clone();
        self.emit(WebhookEvent::comment(
            "comment_updated",
            "issue_comment_edited",
            actor,
            &snapshot,
            &comment,
            at,
        ));
        Ok(comment)
    }

    pub fn delete_comment(
        &mut self,
        actor: &str,
        id_or_key: &str,
        comment_id: &str,
    ) -> JiraResult<Comment> {
        let at = now();
        let issue = self.issue_or_404(id_or_key)?.clone();
        let comment = self.comment_in_issue_mut(&issue, comment_id)?.clone();
        let numeric: u64 = comment.id.parse().expect("numeric comment ids");
        self.comments.remove(&numeric);
        let issue = self.issue_mut(id_or_key)?;
        issue.comment_ids.retain(|c| *c != comment.id);
        issue.updated = at;
        let snapshot = issue.clone();
        self.emit(WebhookEvent::comment(
            "comment_deleted",
            "issue_comment_deleted",
            actor,
            &snapshot,
            &comment,
            at,
        ));
        Ok(comment)
    }

    fn comment_in_issue_mut(
        &mut self,
        issue: &Issue,
        comment_id: &str,
    ) -> JiraResult<&mut Comment> {
        let not_found =
            || JiraError::not_found(format!("Can not find a comment for the id: {comment_id}."));
        if !issue.comment_ids.iter().any(|c| c == comment_id) {
            return Err(not_found());
        }
        let id: u64 = comment_id.parse().map_err(|_| not_found())?;
        self.comments.get_mut(&id).ok_or_else(not_found)
    }

    // ---- attachments ---------------------------------------------------------------------

    pub fn add_attachment(
        &mut self,
        actor: &str,
        id_or_key: &str,
        filename: String,
        mime_type: String,
        content: Bytes,
    ) -> JiraResult<Attachment> {
        let at = now();
        let id = self.next_attachment;
        let issue = self.issue_mut(id_or_key)?;
        let attachment = Attachment {
            id: id.to_string(),
            issue_id: issue.id.clone(),
            filename,
            mime_type,
            content,
            author: actor.to_owned(),
            created: at,
        };
        issue.attachment_ids.push(attachment.id.clone());
        let key = issue.key.clone();
        self.next_attachment += 1;
        self.attachments.insert(id, attachment.clone());
        self.emit(WebhookEvent::attachment(
            "attachment_created",
            actor,
            &attachment,
            at,
        ));
        let item = ChangeItem {
            field: "Attachment".into(),
            fieldtype: "jira".into(),
            field_id: "attachment".into(),
            from: None,
            from_string: None,
            to: Some(attachment.id.clone()),
            to_string: Some(attachment.filename.clone()),
        };
        self.record(actor, &key, vec![item], at, "issue_updated")?;
        Ok(attachment)
    }

    pub fn delete_attachment(&mut self, actor: &str, attachment_id: &str) -> JiraResult<()> {
        let attachment = self.attachment(attachment_id).cloned().ok_or_else(|| {
            JiraError::not_found(format!(
                "The attachment with id '{attachment_id}' does not exist"
            ))
        })?;
        let at = now();
        let numeric: u64 = attachment.id.parse().expect("numeric ids");
        self.attachments.remove(&numeric);
        let issue = self.issue_mut(&attachment.issue_id)?;
        issue.attachment_ids.retain(|a| *a != attachment.id);
        let key = issue.key.clone();
        self.emit(WebhookEvent::attachment(
            "attachment_deleted",
            actor,
            &attachment,
            at,
        ));
        let item = ChangeItem {
            field: "Attachment".into(),
            fieldtype: "jira".into(),
            field_id: "attachment".into(),
            from: Some(attachment.id.clone()),
            from_string: Some(attachment.filename.clone()),
            to: None,
            to_string: None,
        };
        self.record(actor, &key, vec![item], at, "issue_updated")
    }

    // ---- entity properties ---------------------------------------------------------------

    /// Sets an issue property; `true` when it was created (201), `false` when replaced (200).
    pub fn set_issue_property(
        &mut self,
        actor: &str,
        id_or_key: &str,
        key: &str,
        value: Value,
    ) -> JiraResult<bool> {
        let issue = self.issue_mut(id_or_key)?;
        let created = issue
            .properties
            .insert(key.to_owned(), value.clone())
            .is_none();
        let snapshot = issue.clone();
        self.emit(WebhookEvent::property(
            "issue_property_set",
            actor,
            &snapshot,
            key,
            Some(value),
            now(),
        ));
        Ok(created)
    }

    pub fn delete_issue_property(
        &mut self,
        actor: &str,
        id_or_key: &str,
        key: &str,
    ) -> JiraResult<()> {
        let issue = self.issue_mut(id_or_key)?;
        if issue.properties.remove(key).is_none() {
            return Err(property_not_found(key));
        }
        let snapshot = issue.clone();
        self.emit(WebhookEvent::property(
            "issue_property_deleted",
            actor,
            &snapshot,
            key,
            None,
            now(),
        ));
        Ok(())
    }

    pub fn comment_mut(&mut self, comment_id: &str) -> JiraResult<&mut Comment> {
        comment_id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.comments.get_mut(&id))
            .ok_or_else(|| {
                JiraError::not_found(format!("Can not find a comment for the id: {comment_id}."))
            })
    }

    // ---- webhooks ------------------------------------------------------------------------

    /// Sets (or replaces) the configured webhook: the one an admin would add in settings.
    pub fn set_configured_webhook(
        &mut self,
        url: String,
        secret: Option<String>,
        events: Vec<String>,
        jql: Option<String>,
    ) {
        let user = self
            .accounts
            .first()
            .map(|a| a.account_id.clone())
            .unwrap_or_default();
        self.webhooks.insert(
            CONFIGURED_WEBHOOK_ID,
            WebhookRegistration {
                id: CONFIGURED_WEBHOOK_ID,
                name: "configured".into(),
                url,
                events,
                jql,
                exclude_body: false,
                secret,
                enabled: true,
                via_rest: false,
                last_updated_user: user,
                last_updated: now(),
            },
        );
    }

    pub fn configured_webhook_mut(&mut self) -> Option<&mut WebhookRegistration> {
        self.webhooks.get_mut(&CONFIGURED_WEBHOOK_ID)
    }

    pub fn remove_configured_webhook(&mut self) {
        self.webhooks.remove(&CONFIGURED_WEBHOOK_ID);
    }

    pub fn register_webhook(
        &mut self,
        mut registration: WebhookRegistration,
    ) -> WebhookRegistration {
        registration.id = self.next_webhook;
        self.next_webhook += 1;
        self.webhooks.insert(registration.id, registration.clone());
        registration
    }

    pub fn replace_webhook(
        &mut self,
        registration: WebhookRegistration,
    ) -> Option<WebhookRegistration> {
        let slot = self.webhooks.get_mut(&registration.id)?;
        *slot = registration.clone();
        Some(registration)
    }

    pub fn delete_webhook(&mut self, id: u64) -> bool {
        self.webhooks.remove(&id).is_some()
    }

    // ---- internals -----------------------------------------------------------------------

    fn changelog_id(&mut self) -> String {
        let id = self.next_changelog;
        self.next_changelog += 1;
        id.to_string()
    }

    fn emit(&mut self, event: WebhookEvent) {
        let Some(sink) = &self.sink else { return };
        for event in expand_comment_event(event) {
            let deliveries: Vec<Delivery> = self.deliveries_for(&event);
            for d in deliveries {
                sink.send(d);
            }
        }
    }
}

pub fn property_not_found(key: &str) -> JiraError {
    JiraError::not_found(format!("The property with key '{key}' does not exist."))
}

/// Applies `changes` to `issue` and returns the changelog items of what really changed.
fn apply_changes(site: &Site, issue: &mut Issue, changes: Vec<FieldChange>) -> Vec<ChangeItem> {
    let mut items = Vec::new();
    let jira = |field: &str,
                from: Option<String>,
                from_s: Option<String>,
                to: Option<String>,
                to_s: Option<String>| ChangeItem {
        field: field.into(),
        fieldtype: "jira".into(),
        field_id: field.into(),
        from,
        from_string: from_s,
        to,
        to_string: to_s,
    };
    for change in changes {
        match change {
            FieldChange::Summary(s) => {
                if issue.summary != s {
                    items.push(jira(
                        "summary",
                        None,
                        Some(issue.summary.clone()),
                        None,
                        Some(s.clone()),
                    ));
                    issue.summary = s;
                }
            }
            FieldChange::Description(d) => {
                if issue.description != d {
                    let text = |d: &Option<RichText>| d.as_ref().map(RichText::to_wiki);
                    items.push(jira(
                        "description",
                        None,
                        text(&issue.description),
                        None,
                        text(&d),
                    ));
                    issue.description = d;
                }
            }
            FieldChange::Labels(labels) => {
                if issue.labels != labels {
                    items.push(jira(
                        "labels",
                        None,
                        Some(issue.labels.join(" ")),
                        None,
                        Some(labels.join(" ")),
                    ));
                    issue.labels = labels;
                }
            }
            FieldChange::Priority(p) => {
                if issue.priority_id != p {
                    let name = |p: &Option<String>| {
                        p.as_ref()
                            .and_then(|p| site.priority(p))
                            .map(|p| p.name.clone())
                    };
                    items.push(jira(
                        "priority",
                        issue.priority_id.clone(),
                        name(&issue.priority_id),
                        p.clone(),
                        name(&p),
                    ));
                    issue.priority_id = p;
                }
            }
            FieldChange::Assignee(a) => {
                if issue.assignee != a {
                    items.push(jira(
                        "assignee",
                        issue.assignee.clone(),
                        None,
                        a.clone(),
                        None,
                    ));
                    issue.assignee = a;
                }
            }
            FieldChange::IssueType(t) => {
                if issue.issue_type_id != t {
                    let name = |t: &str| site.issue_type(t).map(|t| t.name.clone());
                    items.push(jira(
                        "issuetype",
                        Some(issue.issue_type_id.clone()),
                        name(&issue.issue_type_id),
                        Some(t.clone()),
                        name(&t),
                    ));
                    issue.issue_type_id = t;
                }
            }
            FieldChange::Resolution(r) => {
                if issue.resolution_id != r {
                    let name = |r: &Option<String>| {
                        r.as_ref()
                            .and_then(|r| site.resolution(r))
                            .map(|r| r.name.clone())
                    };
                    items.push(jira(
                        "resolution",
                        issue.resolution_id.clone(),
                        name(&issue.resolution_id),
                        r.clone(),
                        name(&r),
                    ));
                    issue.resolution_date = r.as_ref().map(|_| now());
                    issue.resolution_id = r;
                }
            }
            FieldChange::Custom(id, value) => {
                let current = issue.custom_fields.get(&id).cloned();
                if current != value {
                    let name = site
                        .custom_field(&id)
                        .map(|c| c.name.clone())
                        .unwrap_or_else(|| id.clone());
                    let render = |v: &Option<Value>| {
                        v.as_ref().map(|v| match v {
                            Value::String(s) => s.clone(),
                            v if crate::adf::looks_like_document(v) => crate::adf::to_wiki(v),
                            other => other.to_string(),
                        })
                    };
                    items.push(ChangeItem {
                        field: name,
                        fieldtype: "custom".into(),
                        field_id: id.clone(),
                        from: None,
                        from_string: render(&current),
                        to: None,
                        to_string: render(&value),
                    });
                    match value {
                        Some(v) => issue.custom_fields.insert(id, v),
                        None => issue.custom_fields.remove(&id),
                    };
                }
            }
        }
    }
    items
}
