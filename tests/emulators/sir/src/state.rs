//! Cases, comments, attachments and edits, and the service's rules about changing them.
//!
//! Every change goes through one of the methods here, whether an API call or a test helper
//! (the "human analyst") makes it, so `lastUpdatedDate`, the edit history and the events can
//! never disagree with each other. The rules live here too; helpers may bypass some of them
//! (a human in the console or an AWS responder can do what the API cannot).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;

use crate::auth::{Principal, PrincipalDisplay, Principals};
use crate::errors::ApiError;
use crate::events::{EventKind, SirEvent};
use crate::log::Operation;
use crate::model::{
    AttachmentStatus, CaseStatus, ClosureCode, EngagementType, PendingAction, ResolverType,
    Timestamp,
};

/// Rules and identities that tests may change while the emulator runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub account_id: String,
    pub region: String,
    pub principal_display: PrincipalDisplay,
    /// Enforce the API reference's transition graph in `UpdateCaseStatus`.
    pub strict_transitions: bool,
    /// Whether comments can be added to / edited on a closed case.
    pub allow_comments_on_closed_cases: bool,
    /// The closure code an API `CloseCase` records. The API takes none, so by default the case
    /// has no `closureCode` afterwards; what AWS records here is not documented.
    pub api_close_closure_code: Option<ClosureCode>,
    pub presigned_url_ttl: Duration,
    /// Page size when a list call sends no `maxResults` (AWS documents no default).
    pub default_max_results: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Watcher {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
}

impl Watcher {
    pub fn new(email: impl Into<String>) -> Self {
        Watcher {
            email: email.into(),
            name: None,
            job_title: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreatActorIp {
    pub ip_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// A presigned URL's secret and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub secret: String,
    pub expires: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub attachment_id: String,
    pub file_name: String,
    pub status: AttachmentStatus,
    pub creator: Principal,
    pub created_date: Timestamp,
    /// What GetCaseAttachmentUploadUrl declared; the upload must send exactly this many bytes.
    pub content_length: u64,
    /// The bytes, once uploaded.
    pub content: Option<Vec<u8>>,
    pub upload_grant: Grant,
    pub download_grants: Vec<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub comment_id: String,
    pub body: String,
    pub created_date: Timestamp,
    pub last_updated_date: Timestamp,
    pub creator: Principal,
    pub last_updated_by: Principal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEdit {
    pub event_timestamp: Timestamp,
    pub principal: Principal,
    pub action: String,
    pub message: String,
}

/// A case and everything hanging off it. Test helpers return clones of these.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub case_id: String,
    pub case_arn: String,
    pub title: String,
    pub description: String,
    pub case_status: CaseStatus,
    pub engagement_type: EngagementType,
    pub reported_incident_start_date: Timestamp,
    pub actual_incident_start_date: Option<Timestamp>,
    pub impacted_aws_regions: Vec<String>,
    pub threat_actor_ip_addresses: Vec<ThreatActorIp>,
    pub pending_action: PendingAction,
    pub impacted_accounts: Vec<String>,
    pub watchers: Vec<Watcher>,
    pub created_date: Timestamp,
    pub last_updated_date: Timestamp,
    pub closure_code: Option<ClosureCode>,
    pub resolver_type: ResolverType,
    pub impacted_services: Vec<String>,
    pub attachments: Vec<Attachment>,
    pub closed_date: Option<Timestamp>,
    pub case_metadata: Vec<(String, String)>,
    pub tags: BTreeMap<String, String>,
    pub comments: Vec<Comment>,
    pub edits: Vec<CaseEdit>,
    pub created_by: Principal,
}

impl Case {
    pub fn is_closed(&self) -> bool {
        self.case_status == CaseStatus::Closed
    }

    pub fn comment(&self, comment_id: &str) -> Option<&Comment> {
        self.comments.iter().find(|c| c.comment_id == comment_id)
    }

    pub fn attachment(&self, attachment_id: &str) -> Option<&Attachment> {
        self.attachments
            .iter()
            .find(|a| a.attachment_id == attachment_id)
    }
}

/// What a new case starts with (CreateCase's members).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub title: String,
    pub description: String,
    pub engagement_type: EngagementType,
    pub resolver_type: ResolverType,
    pub reported_incident_start_date: Timestamp,
    pub impacted_accounts: Vec<String>,
    pub watchers: Vec<Watcher>,
    pub threat_actor_ip_addresses: Vec<ThreatActorIp>,
    pub impacted_services: Vec<String>,
    pub impacted_aws_regions: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

impl Default for NewCase {
    fn default() -> Self {
        NewCase {
            title: "Emulated security incident".to_string(),
            description: "Created by the SIR emulator.".to_string(),
            engagement_type: EngagementType::SecurityIncident,
            resolver_type: ResolverType::SelfManaged,
            reported_incident_start_date: Timestamp::now().minus(Duration::from_secs(3600)),
            impacted_accounts: vec!["123456789012".to_string()],
            watchers: vec![Watcher::new("secops@example.com")],
            threat_actor_ip_addresses: Vec::new(),
            impacted_services: Vec::new(),
            impacted_aws_regions: Vec::new(),
            tags: BTreeMap::new(),
        }
    }
}

/// UpdateCase's members: replacements and add/delete lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub reported_incident_start_date: Option<Timestamp>,
    pub actual_incident_start_date: Option<Timestamp>,
    pub engagement_type: Option<EngagementType>,
    pub watchers_to_add: Vec<Watcher>,
    pub watchers_to_delete: Vec<Watcher>,
    pub threat_actor_ip_addresses_to_add: Vec<ThreatActorIp>,
    pub threat_actor_ip_addresses_to_delete: Vec<ThreatActorIp>,
    pub impacted_services_to_add: Vec<String>,
    pub impacted_services_to_delete: Vec<String>,
    pub impacted_aws_regions_to_add: Vec<String>,
    pub impacted_aws_regions_to_delete: Vec<String>,
    pub impacted_accounts_to_add: Vec<String>,
    pub impacted_accounts_to_delete: Vec<String>,
    /// Replaces the whole metadata list when present.
    pub case_metadata: Option<Vec<(String, String)>>,
}

impl CaseUpdate {
    fn member_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut note = |present: bool, name: &'static str| {
            if present {
                names.push(name);
            }
        };
        note(self.title.is_some(), "title");
        note(self.description.is_some(), "description");
        note(
            self.reported_incident_start_date.is_some(),
            "reportedIncidentStartDate",
        );
        note(
            self.actual_incident_start_date.is_some(),
            "actualIncidentStartDate",
        );
        note(self.engagement_type.is_some(), "engagementType");
        note(
            !self.watchers_to_add.is_empty() || !self.watchers_to_delete.is_empty(),
            "watchers",
        );
        note(
            !self.threat_actor_ip_addresses_to_add.is_empty()
                || !self.threat_actor_ip_addresses_to_delete.is_empty(),
            "threatActorIpAddresses",
        );
        note(
            !self.impacted_services_to_add.is_empty()
                || !self.impacted_services_to_delete.is_empty(),
            "impactedServices",
        );
        note(
            !self.impacted_aws_regions_to_add.is_empty()
                || !self.impacted_aws_regions_to_delete.is_empty(),
            "impactedAwsRegions",
        );
        note(
            !self.impacted_accounts_to_add.is_empty()
                || !self.impacted_accounts_to_delete.is_empty(),
            "impactedAccounts",
        );
        note(self.case_metadata.is_some(), "caseMetadata");
        names
    }
}

/// A seeded case: a new case plus the parts a test wants to control directly.
#[derive(Debug, Clone)]
pub struct SeedCase {
    pub case: NewCase,
    pub status: CaseStatus,
    pub created_date: Option<Timestamp>,
    pub last_updated_date: Option<Timestamp>,
    pub closure_code: Option<ClosureCode>,
}

impl Default for SeedCase {
    fn default() -> Self {
        SeedCase {
            case: NewCase::default(),
            status: CaseStatus::Submitted,
            created_date: None,
            last_updated_date: None,
            closure_code: None,
        }
    }
}

/// A hands-out-only-once clock: every change gets a strictly later time than the previous one
/// and than the case's own `lastUpdatedDate`, even within one millisecond, so a watermark
/// comparison on `lastUpdatedDate` can never miss a change. `offset` lets tests move time.
#[derive(Debug, Default)]
struct Clock {
    last: i64,
    offset_ms: i64,
}

impl Clock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(Timestamp::now().as_millis() + self.offset_ms)
    }

    fn tick(&mut self, floor: Timestamp) -> Timestamp {
        let t = self
            .now()
            .as_millis()
            .max(self.last + 1)
            .max(floor.as_millis() + 1);
        self.last = t;
        Timestamp::from_millis(t)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct IdempotencyKey {
    operation: Operation,
    account_id: String,
    scope: String,
    token: String,
}

#[derive(Debug, Clone)]
struct IdempotencyEntry {
    fingerprint: String,
    result: String,
}

pub struct State {
    pub settings: Settings,
    pub principals: Principals,
    cases: Vec<Case>,
    by_id: HashMap<String, usize>,
    next_comment_id: u32,
    idempotency: HashMap<IdempotencyKey, IdempotencyEntry>,
    clock: Clock,
    outbox: Vec<SirEvent>,
}

/// Case ids look random (ten digits, as in case ARNs) but are a bijection of the creation
/// sequence, so they never collide and never sort in creation order by accident.
fn case_id_for(seq: usize) -> String {
    let n = 1_000_000_000u128 + ((seq as u128 + 4_242) * 7_777_777_777u128) % 9_000_000_000u128;
    n.to_string()
}

fn secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl State {
    pub fn new(settings: Settings, principals: Principals) -> Self {
        State {
            settings,
            principals,
            cases: Vec::new(),
            by_id: HashMap::new(),
            next_comment_id: 100_000,
            idempotency: HashMap::new(),
            clock: Clock::default(),
            outbox: Vec::new(),
        }
    }

    /// Events produced since the last call, to be emitted once the lock is released.
    pub(crate) fn take_events(&mut self) -> Vec<SirEvent> {
        std::mem::take(&mut self.outbox)
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn advance_clock(&mut self, by: Duration) {
        self.clock.offset_ms += by.as_millis() as i64;
    }

    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// Cases in creation order (oldest first).
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    fn index(&self, case_id: &str) -> Result<usize, ApiError> {
        self.by_id
            .get(case_id)
            .copied()
            .ok_or_else(|| ApiError::case_not_found(case_id))
    }

    pub fn case(&self, case_id: &str) -> Result<&Case, ApiError> {
        Ok(&self.cases[self.index(case_id)?])
    }

    /// Position of a case in creation order (what list paging tokens point at).
    pub fn position(&self, case_id: &str) -> Option<usize> {
        self.by_id.get(case_id).copied()
    }

    fn display(&self, p: &Principal) -> String {
        p.display(self.settings.principal_display)
    }

    fn event(&mut self, idx: usize, kind: EventKind, actor: &Principal, at: Timestamp) {
        let case = &self.cases[idx];
        let e = SirEvent::new(
            kind,
            &case.case_id,
            &case.case_arn,
            actor.display(self.settings.principal_display),
            actor.access_key_id.clone(),
            &self.settings.account_id,
            &self.settings.region,
            at,
        );
        self.outbox.push(e);
    }

    /// Records one change: a new `lastUpdatedDate`, an edit entry and an event.
    fn touch(
        &mut self,
        idx: usize,
        actor: &Principal,
        action: &str,
        message: String,
        kind: EventKind,
    ) -> Timestamp {
        let at = self.clock.tick(self.cases[idx].last_updated_date);
        let case = &mut self.cases[idx];
        case.last_updated_date = at;
        case.edits.push(CaseEdit {
            event_timestamp: at,
            principal: actor.clone(),
            action: action.to_string(),
            message,
        });
        self.event(idx, kind, actor, at);
        at
    }

    fn insert(&mut self, actor: &Principal, new: NewCase, at: Timestamp) -> usize {
        let idx = self.cases.len();
        let case_id = case_id_for(idx);
        let case_arn = format!(
            "arn:aws:security-ir:{}:{}:case/{}",
            self.settings.region, self.settings.account_id, case_id
        );
        self.cases.push(Case {
            case_id: case_id.clone(),
            case_arn,
            title: new.title,
            description: new.description,
            case_status: CaseStatus::Submitted,
            engagement_type: new.engagement_type,
            reported_incident_start_date: new.reported_incident_start_date,
            actual_incident_start_date: None,
            impacted_aws_regions: dedup(new.impacted_aws_regions),
            threat_actor_ip_addresses: new.threat_actor_ip_addresses,
            pending_action: PendingAction::None,
            impacted_accounts: dedup(new.impacted_accounts),
            watchers: new.watchers,
            created_date: at,
            last_updated_date: at,
            closure_code: None,
            resolver_type: new.resolver_type,
            impacted_services: dedup(new.impacted_services),
            attachments: Vec::new(),
            closed_date: None,
            case_metadata: Vec::new(),
            tags: new.tags,
            comments: Vec::new(),
            edits: vec![CaseEdit {
                event_timestamp: at,
                principal: actor.clone(),
                action: "CreateCase".to_string(),
                message: "Case created".to_string(),
            }],
            created_by: actor.clone(),
        });
        self.by_id.insert(case_id, idx);
        idx
    }

    pub fn create_case(&mut self, actor: &Principal, new: NewCase) -> String {
        let at = self.clock.tick(Timestamp::from_millis(0));
        let idx = self.insert(actor, new, at);
        self.event(idx, EventKind::CaseCreated, actor, at);
        self.cases[idx].case_id.clone()
    }

    /// Inserts a case as if it had existed for a while: no event, dates as given. A seeded
    /// `lastUpdatedDate` may be in the past; later changes still move it forward.
    pub fn seed_case(&mut self, actor: &Principal, seed: SeedCase) -> String {
        let now = self.clock.now();
        // A case cannot be updated before it exists: without a creation date, it was created
        // when it was last updated.
        let created = seed.created_date.or(seed.last_updated_date).unwrap_or(now);
        let last_updated = seed.last_updated_date.unwrap_or(created).max(created);
        let idx = self.insert(actor, seed.case, created);
        let case = &mut self.cases[idx];
        case.last_updated_date = last_updated;
        case.case_status = seed.status;
        if seed.status == CaseStatus::Closed {
            case.closed_date = Some(last_updated);
            case.closure_code = seed.closure_code;
        }
        case.case_id.clone()
    }

    fn open_case(&self, case_id: &str, what: &str) -> Result<usize, ApiError> {
        let idx = self.index(case_id)?;
        if self.cases[idx].is_closed() {
            return Err(ApiError::rule(format!(
                "Case {case_id} is closed: {what} is not allowed"
            )));
        }
        Ok(idx)
    }

    pub fn update_case(
        &mut self,
        case_id: &str,
        actor: &Principal,
        upd: CaseUpdate,
    ) -> Result<(), ApiError> {
        let idx = self.open_case(case_id, "updating it")?;
        let members = upd.member_names();
        let case = &mut self.cases[idx];
        if let Some(t) = upd.title {
            case.title = t;
        }
        if let Some(d) = upd.description {
            case.description = d;
        }
        if let Some(d) = upd.reported_incident_start_date {
            case.reported_incident_start_date = d;
        }
        if let Some(d) = upd.actual_incident_start_date {
            case.actual_incident_start_date = Some(d);
        }
        if let Some(e) = upd.engagement_type {
            case.engagement_type = e;
        }
        for w in upd.watchers_to_add {
            if !case.watchers.iter().any(|x| x.email == w.email) {
                case.watchers.push(w);
            }
        }
        case.watchers
            .retain(|x| !upd.watchers_to_delete.iter().any(|w| w.email == x.email));
        for ip in upd.threat_actor_ip_addresses_to_add {
            if !case
                .threat_actor_ip_addresses
                .iter()
                .any(|x| x.ip_address == ip.ip_address)
            {
                case.threat_actor_ip_addresses.push(ip);
            }
        }
        case.threat_actor_ip_addresses.retain(|x| {
            !upd.threat_actor_ip_addresses_to_delete
                .iter()
                .any(|ip| ip.ip_address == x.ip_address)
        });
        add_remove(
            &mut case.impacted_services,
            upd.impacted_services_to_add,
            &upd.impacted_services_to_delete,
        );
        add_remove(
            &mut case.impacted_aws_regions,
            upd.impacted_aws_regions_to_add,
            &upd.impacted_aws_regions_to_delete,
        );
        add_remove(
            &mut case.impacted_accounts,
            upd.impacted_accounts_to_add,
            &upd.impacted_accounts_to_delete,
        );
        if let Some(m) = upd.case_metadata {
            case.case_metadata = m;
        }
        // Every successful UpdateCase counts as a change, even one that sets equal values:
        // the stricter assumption for a caller that must avoid writing no-ops.
        let message = if members.is_empty() {
            "Case updated with no members".to_string()
        } else {
            format!("Updated {}", members.join(", "))
        };
        self.touch(idx, actor, "UpdateCase", message, EventKind::CaseUpdated);
        Ok(())
    }

    /// `UpdateCaseStatus`. With `enforce`, the API's rules apply: only self-managed statuses,
    /// only the documented transitions (when `strict_transitions`), never on a closed case.
    pub fn set_status(
        &mut self,
        case_id: &str,
        actor: &Principal,
        to: CaseStatus,
        enforce: bool,
    ) -> Result<CaseStatus, ApiError> {
        let idx = self.index(case_id)?;
        let from = self.cases[idx].case_status;
        if enforce {
            if from == CaseStatus::Closed {
                return Err(ApiError::rule(format!(
                    "Case {case_id} is closed: its status cannot be updated"
                )));
            }
            if !to.is_self_managed() {
                return Err(ApiError::rule(format!(
                    "Case status '{to}' cannot be set with UpdateCaseStatus; allowed: {}",
                    CaseStatus::self_managed_wire_values()
                )));
            }
            if self.settings.strict_transitions && !from.can_move_to(to) {
                return Err(ApiError::rule(format!(
                    "Invalid case status transition from '{from}' to '{to}'"
                )));
            }
        }
        if to == CaseStatus::Closed {
            return self
                .close(idx, actor, self.settings.api_close_closure_code)
                .map(|_| CaseStatus::Closed);
        }
        let case = &mut self.cases[idx];
        case.case_status = to;
        if from == CaseStatus::Closed {
            // Only a helper can reopen; the closure is then history.
            case.closed_date = None;
            case.closure_code = None;
        }
        self.touch(
            idx,
            actor,
            "UpdateCaseStatus",
            format!("Case status changed from {from} to {to}"),
            EventKind::CaseUpdated,
        );
        Ok(to)
    }

    /// `CloseCase`. The API passes no closure code, a helper may.
    pub fn close_case(
        &mut self,
        case_id: &str,
        actor: &Principal,
        closure_code: Option<ClosureCode>,
    ) -> Result<Timestamp, ApiError> {
        let idx = self.index(case_id)?;
        if self.cases[idx].is_closed() {
            return Err(ApiError::rule(format!("Case {case_id} is already closed")));
        }
        self.close(idx, actor, closure_code)
    }

    fn close(
        &mut self,
        idx: usize,
        actor: &Principal,
        closure_code: Option<ClosureCode>,
    ) -> Result<Timestamp, ApiError> {
        let from = self.cases[idx].case_status;
        let message = match closure_code {
            Some(code) => format!("Case closed from {from} with closure code {code}"),
            None => format!("Case closed from {from}"),
        };
        let at = self.touch(idx, actor, "CloseCase", message, EventKind::CaseClosed);
        let case = &mut self.cases[idx];
        case.case_status = CaseStatus::Closed;
        case.closed_date = Some(at);
        case.closure_code = closure_code;
        case.pending_action = PendingAction::None;
        Ok(at)
    }

    /// `UpdateResolverType`: one way only, from Self to AWS (the API reference says it cannot
    /// be reversed).
    pub fn update_resolver_type(
        &mut self,
        case_id: &str,
        actor: &Principal,
        to: ResolverType,
    ) -> Result<&Case, ApiError> {
        let idx = self.open_case(case_id, "changing its resolver type")?;
        let from = self.cases[idx].resolver_type;
        if from == ResolverType::Aws && to == ResolverType::SelfManaged {
            return Err(ApiError::rule(format!(
                "Case {case_id} is AWS-supported: the resolver type cannot be changed back to Self"
            )));
        }
        self.cases[idx].resolver_type = to;
        self.touch(
            idx,
            actor,
            "UpdateResolverType",
            format!("Resolver type changed from {from} to {to}"),
            EventKind::CaseUpdated,
        );
        Ok(&self.cases[idx])
    }

    /// Sets a case's pending action (only AWS responders do this; helpers use it).
    pub fn set_pending_action(
        &mut self,
        case_id: &str,
        actor: &Principal,
        action: PendingAction,
    ) -> Result<(), ApiError> {
        let idx = self.index(case_id)?;
        self.cases[idx].pending_action = action;
        self.touch(
            idx,
            actor,
            "UpdatePendingAction",
            format!("Pending action set to {action}"),
            EventKind::CaseUpdated,
        );
        Ok(())
    }

    fn commentable(&self, case_id: &str, what: &str) -> Result<usize, ApiError> {
        if self.settings.allow_comments_on_closed_cases {
            self.index(case_id)
        } else {
            self.open_case(case_id, what)
        }
    }

    pub fn add_comment(
        &mut self,
        case_id: &str,
        actor: &Principal,
        body: String,
    ) -> Result<String, ApiError> {
        let idx = self.commentable(case_id, "adding a comment")?;
        if self.next_comment_id >= 999_999 {
            return Err(ApiError::InternalServer(
                "The emulator ran out of six-digit comment ids".into(),
            ));
        }
        self.next_comment_id += 1;
        let comment_id = format!("{:06}", self.next_comment_id);
        let at = self.touch(
            idx,
            actor,
            "CreateCaseComment",
            format!("Comment {comment_id} added"),
            EventKind::CaseCommentAdded,
        );
        self.cases[idx].comments.push(Comment {
            comment_id: comment_id.clone(),
            body,
            created_date: at,
            last_updated_date: at,
            creator: actor.clone(),
            last_updated_by: actor.clone(),
        });
        Ok(comment_id)
    }

    pub fn update_comment(
        &mut self,
        case_id: &str,
        comment_id: &str,
        actor: &Principal,
        body: String,
    ) -> Result<(), ApiError> {
        let idx = self.commentable(case_id, "editing a comment")?;
        let Some(pos) = self.cases[idx]
            .comments
            .iter()
            .position(|c| c.comment_id == comment_id)
        else {
            return Err(ApiError::ResourceNotFound(format!(
                "Comment {comment_id} not found on case {case_id}"
            )));
        };
        let at = self.touch(
            idx,
            actor,
            "UpdateCaseComment",
            format!("Comment {comment_id} updated"),
            EventKind::CaseCommentUpdated,
        );
        let c = &mut self.cases[idx].comments[pos];
        c.body = body;
        c.last_updated_date = at;
        c.last_updated_by = actor.clone();
        Ok(())
    }

    /// Registers an attachment (status Pending) and returns its id and upload grant.
    pub fn add_attachment(
        &mut self,
        case_id: &str,
        actor: &Principal,
        file_name: String,
        content_length: u64,
    ) -> Result<(String, Grant), ApiError> {
        let idx = self.open_case(case_id, "adding an attachment")?;
        if self.cases[idx].attachments.len() >= 50 {
            return Err(ApiError::rule(format!(
                "Case {case_id} already has the maximum of 50 attachments"
            )));
        }
        let attachment_id = uuid::Uuid::new_v4().to_string();
        let grant = Grant {
            secret: secret(),
            expires: self.clock.now().plus(self.settings.presigned_url_ttl),
        };
        let at = self.touch(
            idx,
            actor,
            "GetCaseAttachmentUploadUrl",
            format!("Upload URL issued for attachment {file_name}"),
            EventKind::CaseUpdated,
        );
        self.cases[idx].attachments.push(Attachment {
            attachment_id: attachment_id.clone(),
            file_name,
            status: AttachmentStatus::Pending,
            creator: actor.clone(),
            created_date: at,
            content_length,
            content: None,
            upload_grant: grant.clone(),
            download_grants: Vec::new(),
        });
        Ok((attachment_id, grant))
    }

    pub fn upload_grant(&self, case_id: &str, attachment_id: &str) -> Option<Grant> {
        self.case(case_id)
            .ok()?
            .attachment(attachment_id)
            .map(|a| a.upload_grant.clone())
    }

    /// Issues a download grant for an uploaded attachment.
    pub fn grant_download(
        &mut self,
        case_id: &str,
        attachment_id: &str,
    ) -> Result<Grant, ApiError> {
        let idx = self.index(case_id)?;
        let expires = self.clock.now().plus(self.settings.presigned_url_ttl);
        let Some(att) = self.cases[idx]
            .attachments
            .iter_mut()
            .find(|a| a.attachment_id == attachment_id)
        else {
            return Err(ApiError::ResourceNotFound(format!(
                "Attachment {attachment_id} not found on case {case_id}"
            )));
        };
        if att.status != AttachmentStatus::Verified {
            return Err(ApiError::rule(format!(
                "Attachment {attachment_id} is not available for download (status {})",
                att.status
            )));
        }
        let grant = Grant {
            secret: secret(),
            expires,
        };
        att.download_grants.push(grant.clone());
        Ok(grant)
    }

    /// Checks a presigned request's secret and expiry.
    pub fn check_grant(&self, grant: Option<&Grant>, secret: &str) -> Result<(), PresignedError> {
        let Some(grant) = grant.filter(|g| g.secret == secret) else {
            return Err(PresignedError::SignatureDoesNotMatch);
        };
        if self.clock.now() > grant.expires {
            return Err(PresignedError::Expired);
        }
        Ok(())
    }

    /// Stores uploaded bytes: the attachment becomes Verified (no malware scan here).
    pub fn complete_upload(
        &mut self,
        case_id: &str,
        attachment_id: &str,
        secret: &str,
        bytes: Vec<u8>,
    ) -> Result<(), PresignedError> {
        let idx = self.index(case_id).map_err(|_| PresignedError::NoSuchKey)?;
        let Some(pos) = self.cases[idx]
            .attachments
            .iter()
            .position(|a| a.attachment_id == attachment_id)
        else {
            return Err(PresignedError::NoSuchKey);
        };
        let att = &self.cases[idx].attachments[pos];
        self.check_grant(Some(&att.upload_grant), secret)?;
        if bytes.len() as u64 != att.content_length {
            return Err(PresignedError::LengthMismatch {
                declared: att.content_length,
                sent: bytes.len() as u64,
            });
        }
        let creator = att.creator.clone();
        let file_name = att.file_name.clone();
        let att = &mut self.cases[idx].attachments[pos];
        att.content = Some(bytes);
        att.status = AttachmentStatus::Verified;
        self.touch(
            idx,
            &creator,
            "AttachmentUploaded",
            format!("Attachment {file_name} uploaded"),
            EventKind::CaseUpdated,
        );
        Ok(())
    }

    pub fn download(
        &self,
        case_id: &str,
        attachment_id: &str,
        secret: &str,
    ) -> Result<(String, Vec<u8>), PresignedError> {
        let case = self.case(case_id).map_err(|_| PresignedError::NoSuchKey)?;
        let att = case
            .attachment(attachment_id)
            .ok_or(PresignedError::NoSuchKey)?;
        let grant = att.download_grants.iter().find(|g| g.secret == secret);
        self.check_grant(grant, secret)?;
        let bytes = att.content.clone().ok_or(PresignedError::NoSuchKey)?;
        Ok((att.file_name.clone(), bytes))
    }

    /// The previous result of an idempotent call with this token, if any. The same token with
    /// different parameters is a `ConflictException`, as AWS answers a reused token.
    pub fn idempotent_result(
        &self,
        operation: Operation,
        actor: &Principal,
        scope: &str,
        token: Option<&str>,
        fingerprint: &str,
    ) -> Result<Option<String>, ApiError> {
        let Some(token) = token else { return Ok(None) };
        let key = IdempotencyKey {
            operation,
            account_id: actor.account_id.clone(),
            scope: scope.to_string(),
            token: token.to_string(),
        };
        match self.idempotency.get(&key) {
            None => Ok(None),
            Some(e) if e.fingerprint == fingerprint => Ok(Some(e.result.clone())),
            Some(_) => Err(ApiError::conflict(
                format!(
                    "clientToken {token} was already used with different parameters for {}",
                    operation.name()
                ),
                token,
                "clientToken",
            )),
        }
    }

    pub fn remember_idempotent(
        &mut self,
        operation: Operation,
        actor: &Principal,
        scope: &str,
        token: Option<&str>,
        fingerprint: &str,
        result: &str,
    ) {
        if let Some(token) = token {
            self.idempotency.insert(
                IdempotencyKey {
                    operation,
                    account_id: actor.account_id.clone(),
                    scope: scope.to_string(),
                    token: token.to_string(),
                },
                IdempotencyEntry {
                    fingerprint: fingerprint.to_string(),
                    result: result.to_string(),
                },
            );
        }
    }

    pub fn principal_value(&self, p: &Principal) -> String {
        self.display(p)
    }
}

/// Why a presigned-URL request was refused (answered with S3-style XML errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresignedError {
    SignatureDoesNotMatch,
    Expired,
    NoSuchKey,
    LengthMismatch { declared: u64, sent: u64 },
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

fn add_remove(list: &mut Vec<String>, add: Vec<String>, remove: &[String]) {
    for a in add {
        if !list.contains(&a) {
            list.push(a);
        }
    }
    list.retain(|x| !remove.contains(x));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            principal_display: PrincipalDisplay::AccountId,
            strict_transitions: true,
            allow_comments_on_closed_cases: false,
            api_close_closure_code: None,
            presigned_url_ttl: Duration::from_secs(300),
            default_max_results: 10,
        }
    }

    fn actor() -> Principal {
        Principal::new("AK", "123456789012", "arn:aws:iam::123456789012:user/AK")
    }

    #[test]
    fn case_ids_are_ten_digits_and_unique() {
        let ids: std::collections::HashSet<String> = (0..20_000).map(case_id_for).collect();
        assert_eq!(ids.len(), 20_000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 10 && crate::validate::is_case_id(id))
        );
    }

    #[test]
    fn every_change_moves_last_updated_forward() {
        let mut s = State::new(settings(), Principals::new("123456789012"));
        let a = actor();
        let id = s.create_case(&a, NewCase::default());
        let mut last = s.case(&id).unwrap().last_updated_date;
        for i in 0..50 {
            s.add_comment(&id, &a, format!("comment {i}")).unwrap();
            let now = s.case(&id).unwrap().last_updated_date;
            assert!(now > last);
            last = now;
        }
        assert_eq!(s.take_events().len(), 51);
    }

    #[test]
    fn seeded_past_dates_still_move_forward() {
        let mut s = State::new(settings(), Principals::new("123456789012"));
        let a = actor();
        let future = Timestamp::now().plus(Duration::from_secs(3600));
        let id = s.seed_case(
            &a,
            SeedCase {
                last_updated_date: Some(future),
                ..SeedCase::default()
            },
        );
        s.update_case(&id, &a, CaseUpdate::default()).unwrap();
        assert!(s.case(&id).unwrap().last_updated_date > future);
        assert!(s.take_events().len() == 1, "seeding emits nothing");
    }
}
