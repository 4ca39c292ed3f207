//! Outgoing admin webhooks: payloads shaped like Jira's, signed with `X-Hub-Signature`, sent in
//! order of the changes, retried like Jira retries, and optionally duplicated or reordered so
//! tests can prove the receiver copes.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc};

use crate::{
    config::{WebhookBodyFormat, WebhookConfig},
    jql,
    model::{Attachment, ChangeGroup, Comment, Issue},
    repr::{ApiVersion, FieldSelection, IssueView, Repr, RichFormat},
    state::State,
};

/// A change worth telling webhooks about, with the entities as they were at that moment.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    pub name: &'static str,
    pub issue_event_type: Option<String>,
    pub actor: String,
    pub at: OffsetDateTime,
    pub issue: Option<Issue>,
    pub changelog: Option<ChangeGroup>,
    pub comment: Option<Comment>,
    pub attachment: Option<Attachment>,
    pub property: Option<(String, Option<Value>)>,
}

impl WebhookEvent {
    pub fn issue(
        name: &'static str,
        event_type: &str,
        actor: &str,
        issue: &Issue,
        changelog: Option<ChangeGroup>,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            name,
            issue_event_type: Some(event_type.to_owned()),
            actor: actor.to_owned(),
            at,
            issue: Some(issue.clone()),
            changelog,
            comment: None,
            attachment: None,
            property: None,
        }
    }

    /// A comment change: `comment_*` plus the `jira:issue_updated` Jira also fires for it.
    pub fn comment(
        name: &'static str,
        event_type: &str,
        actor: &str,
        issue: &Issue,
        comment: &Comment,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            name,
            issue_event_type: Some(event_type.to_owned()),
            actor: actor.to_owned(),
            at,
            issue: Some(issue.clone()),
            changelog: None,
            comment: Some(comment.clone()),
            attachment: None,
            property: None,
        }
    }

    pub fn attachment(
        name: &'static str,
        actor: &str,
        attachment: &Attachment,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            name,
            issue_event_type: None,
            actor: actor.to_owned(),
            at,
            issue: None,
            changelog: None,
            comment: None,
            attachment: Some(attachment.clone()),
            property: None,
        }
    }

    pub fn property(
        name: &'static str,
        actor: &str,
        issue: &Issue,
        key: &str,
        value: Option<Value>,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            name,
            issue_event_type: None,
            actor: actor.to_owned(),
            at,
            issue: Some(issue.clone()),
            changelog: None,
            comment: None,
            attachment: None,
            property: Some((key.to_owned(), value)),
        }
    }
}

/// One delivery to one webhook: the exact bytes, signed once, identical across retries.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub identifier: String,
    pub webhook_id: u64,
    pub url: String,
    pub event: String,
    pub body: Bytes,
    pub signature: Option<String>,
}

/// Where `State` hands deliveries; the dispatcher task drains it in order.
#[derive(Clone)]
pub struct DeliverySink {
    tx: mpsc::UnboundedSender<Delivery>,
    pending: Arc<Pending>,
}

impl DeliverySink {
    pub fn send(&self, delivery: Delivery) {
        self.pending.add(1);
        if self.tx.send(delivery).is_err() {
            self.pending.done();
        }
    }
}

/// Counts deliveries not yet finished (including retries), so tests can wait for quiet.
#[derive(Default)]
struct Pending {
    count: AtomicU64,
    notify: Notify,
}

impl Pending {
    fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::SeqCst);
    }
    fn done(&self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

/// A webhook URL starting with this is not posted anywhere: each delivery is recorded as
/// accepted (202) at once, for tests that read [`DeliveryRecord`]s in-process.
pub const MEMORY_TARGET: &str = "memory:";

/// `sha256=<hex HMAC-SHA256(secret, body)>`, Jira's `X-Hub-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl State {
    /// The deliveries `event` causes: one per enabled webhook that subscribes to it and whose
    /// JQL filter matches the issue.
    pub(crate) fn deliveries_for(&self, event: &WebhookEvent) -> Vec<Delivery> {
        let mut out = Vec::new();
        for hook in self.webhooks.values() {
            if !hook.enabled || !hook.events.iter().any(|e| e == event.name) {
                continue;
            }
            if let (Some(filter), Some(issue)) = (&hook.jql, &event.issue) {
                let matches = jql::parse(filter)
                    .map(|q| q.matches(self, issue, None))
                    .unwrap_or(false);
                if !matches {
                    continue;
                }
            }
            let mut payload = self.payload(event);
            if hook.via_rest
                && let Some(obj) = payload.as_object_mut()
            {
                obj.insert("matchedWebhookIds".into(), json!([hook.id]));
            }
            let body = if hook.exclude_body {
                Bytes::new()
            } else {
                Bytes::from(serde_json::to_vec(&payload).expect("serializable"))
            };
            let signature = hook.secret.as_deref().map(|s| sign(s, &body));
            out.push(Delivery {
                identifier: uuid::Uuid::new_v4().to_string(),
                webhook_id: hook.id,
                url: hook.url.clone(),
                event: event.name.to_owned(),
                body,
                signature,
            });
        }
        out
    }

    fn payload(&self, event: &WebhookEvent) -> Value {
        // Admin webhooks carry the v2 representation; rich text is wiki unless configured.
        let repr = Repr {
            api: ApiVersion::V2,
            rich: match self.webhook_body_format {
                WebhookBodyFormat::Wiki => RichFormat::Wiki,
                WebhookBodyFormat::Adf => RichFormat::Adf,
            },
        };
        let timestamp = (event.at.unix_timestamp_nanos() / 1_000_000) as i64;
        let mut p = json!({"timestamp": timestamp, "webhookEvent": event.name});
        let full_issue = |issue: &Issue| {
            self.issue_json(
                issue,
                &IssueView {
                    repr,
                    fields: FieldSelection::all(),
                    expand: Vec::new(),
                    properties: Vec::new(),
                },
            )
        };
        match event.name {
            name if name.starts_with("jira:issue_") => {
                let issue = event.issue.as_ref().expect("issue events carry the issue");
                p["issue_event_type_name"] = json!(event.issue_event_type);
                p["user"] = self.user_json(&event.actor, repr);
                p["issue"] = strip_expand(full_issue(issue));
                if let Some(g) = &event.changelog {
                    let group = self.changelog_group_json(g, repr);
                    p["changelog"] = json!({"id": group["id"], "items": group["items"]});
                }
                if let Some(c) = &event.comment {
                    p["comment"] = self.comment_json(c, repr);
                }
            }
            name if name.starts_with("comment_") => {
                let issue = event
                    .issue
                    .as_ref()
                    .expect("comment events carry the issue");
                let c = event
                    .comment
                    .as_ref()
                    .expect("comment events carry the comment");
                p["comment"] = self.comment_json(c, repr);
                p["issue"] = self.reduced_issue_json(issue, repr);
            }
            name if name.starts_with("attachment_") => {
                let a = event
                    .attachment
                    .as_ref()
                    .expect("attachment events carry it");
                let mut attachment = self.attachment_json(a, repr);
                attachment["issueId"] = json!(a.issue_id);
                p["attachment"] = attachment;
            }
            name if name.starts_with("issue_property_") => {
                let issue = event
                    .issue
                    .as_ref()
                    .expect("property events carry the issue");
                let (key, value) = event.property.clone().expect("property events carry it");
                p["property"] = json!({"key": key, "value": value});
                p["issue"] = self.reduced_issue_json(issue, repr);
                p["user"] = self.user_json(&event.actor, repr);
            }
            _ => {}
        }
        p
    }

    /// The issue summary comment events carry.
    fn reduced_issue_json(&self, issue: &Issue, repr: Repr) -> Value {
        let mut sel_fields = serde_json::Map::new();
        let all = self.issue_fields_json(issue, &FieldSelection::all(), repr);
        for f in [
            "summary",
            "issuetype",
            "project",
            "assignee",
            "priority",
            "status",
        ] {
            if let Some(v) = all.get(f) {
                sel_fields.insert(f.to_owned(), v.clone());
            }
        }
        json!({
            "id": issue.id,
            "self": self.issue_self(&issue.id, repr),
            "key": issue.key,
            "fields": sel_fields,
        })
    }
}

fn strip_expand(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.remove("expand");
    }
    v
}

/// Jira fires two events for one comment change: `comment_*` (no `user`, a reduced issue) and
/// `jira:issue_updated` with `issue_event_type_name` `issue_commented`/… and the comment.
pub(crate) fn expand_comment_event(event: WebhookEvent) -> Vec<WebhookEvent> {
    if !event.name.starts_with("comment_") {
        return vec![event];
    }
    let mut twin = event.clone();
    twin.name = "jira:issue_updated";
    let mut original = event;
    original.issue_event_type = None;
    vec![original, twin]
}

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Status(u16),
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Attempt {
    /// 0 for the first attempt; the value of `X-Atlassian-Webhook-Retry` otherwise.
    pub retry: u32,
    pub outcome: AttemptOutcome,
}

/// The record of one delivery and every attempt at it.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub identifier: String,
    pub webhook_id: u64,
    pub url: String,
    pub event: String,
    pub body: Bytes,
    pub signature: Option<String>,
    /// Sent twice on purpose by the duplicate switch.
    pub duplicated: bool,
    pub attempts: Vec<Attempt>,
}

impl DeliveryRecord {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn delivered(&self) -> bool {
        self.attempts
            .iter()
            .any(|a| matches!(a.outcome, AttemptOutcome::Status(s) if (200..300).contains(&s)))
    }
}

/// Runtime delivery settings.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub retry_delays: Vec<Duration>,
    pub timeout: Duration,
    pub duplicate_every: Option<u32>,
    pub reorder_batch: Option<usize>,
    pub reorder_flush: Duration,
}

impl From<&WebhookConfig> for DeliverySettings {
    fn from(c: &WebhookConfig) -> Self {
        Self {
            retry_delays: c
                .retry_delays_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            timeout: Duration::from_millis(c.timeout_ms),
            duplicate_every: c.duplicate_every.filter(|k| *k > 0),
            reorder_batch: c.reorder_batch.filter(|n| *n > 1),
            reorder_flush: Duration::from_millis(c.reorder_flush_ms),
        }
    }
}

/// Shared between the dispatcher and the handle.
pub struct Dispatcher {
    settings: Mutex<DeliverySettings>,
    records: Mutex<Vec<DeliveryRecord>>,
    pending: Arc<Pending>,
    sent: AtomicU64,
    client: reqwest::Client,
}

impl Dispatcher {
    /// Starts the dispatcher task; returns the sink `State` sends to.
    pub fn start(settings: DeliverySettings) -> (Arc<Self>, DeliverySink) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(Pending::default());
        let client = reqwest::Client::builder()
            .user_agent("Atlassian Webhook HTTP Client")
            .no_proxy()
            .build()
            .expect("HTTP client");
        let dispatcher = Arc::new(Self {
            settings: Mutex::new(settings),
            records: Mutex::new(Vec::new()),
            pending: pending.clone(),
            sent: AtomicU64::new(0),
            client,
        });
        tokio::spawn(dispatcher.clone().run(rx));
        (dispatcher, DeliverySink { tx, pending })
    }

    pub fn settings(&self) -> DeliverySettings {
        self.settings.lock().expect("lock").clone()
    }

    pub fn update_settings(&self, f: impl FnOnce(&mut DeliverySettings)) {
        f(&mut self.settings.lock().expect("lock"));
    }

    pub fn records(&self) -> Vec<DeliveryRecord> {
        self.records.lock().expect("lock").clone()
    }

    pub fn clear_records(&self) {
        self.records.lock().expect("lock").clear();
    }

    /// Deliveries (and their retries) not yet finished.
    pub fn pending(&self) -> u64 {
        self.pending.count.load(Ordering::SeqCst)
    }

    /// Waits until no delivery is in flight or queued; false on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.pending.notify.notified();
            if self.pending() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.pending() == 0;
            }
        }
    }

    async fn run(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Delivery>) {
        let mut held: Vec<Delivery> = Vec::new();
        loop {
            let settings = self.settings();
            let next = match (settings.reorder_batch, held.is_empty()) {
                (Some(_), false) => {
                    match tokio::time::timeout(settings.reorder_flush, rx.recv()).await {
                        Ok(d) => d.map(Some),
                        Err(_) => Some(None), // flush timer
                    }
                }
                _ => rx.recv().await.map(Some),
            };
            match next {
                None => break,
                Some(Some(delivery)) => {
                    let batch = settings.reorder_batch;
                    match batch {
                        Some(n) => {
                            held.push(delivery);
                            if held.len() >= n {
                                self.flush_reversed(&mut held).await;
                            }
                        }
                        None => {
                            if !held.is_empty() {
                                self.flush_reversed(&mut held).await;
                            }
                            self.first_attempt(delivery).await;
                        }
                    }
                }
                Some(None) => self.flush_reversed(&mut held).await,
            }
        }
    }

    async fn flush_reversed(self: &Arc<Self>, held: &mut Vec<Delivery>) {
        while let Some(d) = held.pop() {
            self.first_attempt(d).await;
        }
    }

    /// Sends the first attempt in order; a retriable failure continues in its own task, so a
    /// slow retry never holds back later deliveries (which is how Jira reorders in practice).
    async fn first_attempt(self: &Arc<Self>, delivery: Delivery) {
        let n = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        let settings = self.settings();
        let duplicate = settings
            .duplicate_every
            .is_some_and(|k| n.is_multiple_of(u64::from(k)));
        let index = {
            let mut records = self.records.lock().expect("lock");
            records.push(DeliveryRecord {
                identifier: delivery.identifier.clone(),
                webhook_id: delivery.webhook_id,
                url: delivery.url.clone(),
                event: delivery.event.clone(),
                body: delivery.body.clone(),
                signature: delivery.signature.clone(),
                duplicated: duplicate,
                attempts: Vec::new(),
            });
            records.len() - 1
        };
        let outcome = self.attempt(&delivery, 0, index).await;
        if duplicate {
            // The copy a receiver sees when Jira missed its acknowledgement: same identifier,
            // flagged as a retry.
            self.pending.add(1);
            self.attempt(&delivery, 1, index).await;
            self.pending.done();
        }
        if retriable(&outcome) && !settings.retry_delays.is_empty() {
            let this = self.clone();
            tokio::spawn(async move {
                let mut retry = u32::from(duplicate);
                for delay in settings.retry_delays {
                    tokio::time::sleep(delay).await;
                    retry += 1;
                    let outcome = this.attempt(&delivery, retry, index).await;
                    if !retriable(&outcome) {
                        break;
                    }
                }
                this.pending.done();
            });
        } else {
            self.pending.done();
        }
    }

    async fn attempt(&self, delivery: &Delivery, retry: u32, index: usize) -> AttemptOutcome {
        if delivery.url.starts_with(MEMORY_TARGET) {
            // Kept in the records only: the test reads them from `deliveries()` in-process.
            let outcome = AttemptOutcome::Status(202);
            if let Some(record) = self.records.lock().expect("lock").get_mut(index) {
                record.attempts.push(Attempt {
                    retry,
                    outcome: outcome.clone(),
                });
            }
            return outcome;
        }
        let timeout = self.settings().timeout;
        let mut request = self
            .client
            .post(&delivery.url)
            .timeout(timeout)
            .header("content-type", "application/json; charset=utf-8")
            .header("x-atlassian-webhook-identifier", &delivery.identifier)
            .header("x-atlassian-webhook-flow", "Primary")
            .body(delivery.body.clone());
        if retry > 0 {
            request = request.header("x-atlassian-webhook-retry", retry.to_string());
        }
        if let Some(sig) = &delivery.signature {
            request = request.header("x-hub-signature", sig);
        }
        let outcome = match request.send().await {
            Ok(response) => AttemptOutcome::Status(response.status().as_u16()),
            Err(e) => AttemptOutcome::Failed(e.to_string()),
        };
        if let Some(record) = self.records.lock().expect("lock").get_mut(index) {
            record.attempts.push(Attempt {
                retry,
                outcome: outcome.clone(),
            });
        }
        outcome
    }
}

/// Jira retries on 408, 409, 425, 429, 5xx and connection failures or time-outs.
fn retriable(outcome: &AttemptOutcome) -> bool {
    match outcome {
        AttemptOutcome::Status(s) => matches!(s, 408 | 409 | 425 | 429) || *s >= 500,
        AttemptOutcome::Failed(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retry_policy_matches_jira() {
        for s in [408, 409, 425, 429, 500, 502, 503] {
            assert!(retriable(&AttemptOutcome::Status(s)), "{s}");
        }
        for s in [200, 202, 400, 401, 403, 404, 410] {
            assert!(!retriable(&AttemptOutcome::Status(s)), "{s}");
        }
        assert!(retriable(&AttemptOutcome::Failed("refused".into())));
    }
}
