//! Native-style case events, as SIR publishes them to EventBridge's default bus.
//!
//! The detail is deliberately minimal (`caseId` plus `createdBy` or `updatedBy`), as in the
//! shared fixture: a consumer must call GetCase / ListComments to learn what changed. Events go
//! to an in-memory broadcast channel (and a history) that tests read, and optionally to an
//! EventBridge `PutEvents` endpoint (moto in tests) through a background task, so a slow or
//! absent bus never slows the API down.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, mpsc};

use crate::model::Timestamp;

pub const SOURCE: &str = "aws.security-ir";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EventKind {
    CaseCreated,
    CaseUpdated,
    CaseClosed,
    CaseCommentAdded,
    CaseCommentUpdated,
}

impl EventKind {
    pub fn detail_type(self) -> &'static str {
        match self {
            EventKind::CaseCreated => "Case Created",
            EventKind::CaseUpdated => "Case Updated",
            EventKind::CaseClosed => "Case Closed",
            EventKind::CaseCommentAdded => "Case Comment Added",
            EventKind::CaseCommentUpdated => "Case Comment Updated",
        }
    }

    /// The actor member of the detail: who created the thing, or who changed it.
    fn actor_key(self) -> &'static str {
        match self {
            EventKind::CaseCreated | EventKind::CaseCommentAdded => "createdBy",
            _ => "updatedBy",
        }
    }
}

/// One event, shaped like the EventBridge envelope a rule target receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SirEvent {
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub time: String,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: Value,
    /// Not part of the envelope: which change produced it, and the full caller, for tests.
    #[serde(skip)]
    pub kind: EventKind,
    #[serde(skip)]
    pub actor_access_key_id: String,
}

impl SirEvent {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        kind: EventKind,
        case_id: &str,
        case_arn: &str,
        actor: String,
        actor_access_key_id: String,
        account: &str,
        region: &str,
        at: Timestamp,
    ) -> Self {
        let mut detail = json!({ "caseId": case_id });
        detail[kind.actor_key()] = Value::String(actor);
        SirEvent {
            version: "0".to_string(),
            id: uuid::Uuid::new_v4().to_string(),
            detail_type: kind.detail_type().to_string(),
            source: SOURCE.to_string(),
            account: account.to_string(),
            time: at.to_rfc3339_seconds(),
            region: region.to_string(),
            resources: vec![case_arn.to_string()],
            detail,
            kind,
            actor_access_key_id,
        }
    }

    pub fn case_id(&self) -> Option<&str> {
        self.detail.get("caseId").and_then(Value::as_str)
    }

    /// The envelope as JSON (what an EventBridge rule target receives).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("events serialize")
    }
}

/// Where to PutEvents: an EventBridge endpoint (moto's URL in tests) and a bus name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBridgeTarget {
    pub endpoint_url: String,
    pub event_bus_name: String,
    pub region: String,
    pub access_key_id: String,
}

impl EventBridgeTarget {
    pub fn new(endpoint_url: impl Into<String>, event_bus_name: impl Into<String>) -> Self {
        EventBridgeTarget {
            endpoint_url: endpoint_url.into(),
            event_bus_name: event_bus_name.into(),
            region: "us-east-1".to_string(),
            access_key_id: "sir-emulator".to_string(),
        }
    }
}

pub(crate) struct Events {
    enabled: AtomicBool,
    sender: broadcast::Sender<SirEvent>,
    history: Mutex<Vec<SirEvent>>,
    bus: Mutex<Option<mpsc::UnboundedSender<SirEvent>>>,
    queued: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    drained: Notify,
}

impl Events {
    pub(crate) fn new(enabled: bool) -> Self {
        let (sender, _) = broadcast::channel(65_536);
        Events {
            enabled: AtomicBool::new(enabled),
            sender,
            history: Mutex::new(Vec::new()),
            bus: Mutex::new(None),
            queued: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_error: Mutex::new(None),
            drained: Notify::new(),
        }
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SirEvent> {
        self.sender.subscribe()
    }

    pub(crate) fn history(&self) -> Vec<SirEvent> {
        self.history.lock().expect("events poisoned").clone()
    }

    pub(crate) fn clear_history(&self) {
        self.history.lock().expect("events poisoned").clear();
    }

    pub(crate) fn emit(&self, event: SirEvent) {
        if !self.enabled() {
            return;
        }
        self.history
            .lock()
            .expect("events poisoned")
            .push(event.clone());
        if let Some(bus) = self.bus.lock().expect("events poisoned").as_ref() {
            self.queued.fetch_add(1, Ordering::SeqCst);
            if bus.send(event.clone()).is_err() {
                self.queued.fetch_sub(1, Ordering::SeqCst);
            }
        }
        // No subscriber is fine: the history keeps everything.
        let _ = self.sender.send(event);
    }

    /// Starts (or replaces) the background delivery to an EventBridge endpoint.
    pub(crate) fn set_bus(self: &std::sync::Arc<Self>, target: Option<EventBridgeTarget>) {
        let mut slot = self.bus.lock().expect("events poisoned");
        *slot = None;
        if let Some(target) = target {
            let (tx, rx) = mpsc::unbounded_channel();
            *slot = Some(tx);
            tokio::spawn(deliver(self.clone(), target, rx));
        }
    }

    pub(crate) fn delivery_stats(&self) -> DeliveryStats {
        DeliveryStats {
            queued: self.queued.load(Ordering::SeqCst),
            delivered: self.delivered.load(Ordering::SeqCst),
            failed: self.failed.load(Ordering::SeqCst),
            last_error: self.last_error.lock().expect("events poisoned").clone(),
        }
    }

    /// Waits until every event handed to the bus has been delivered or has failed.
    pub(crate) async fn flush(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.drained.notified();
            let s = self.delivery_stats();
            if s.delivered + s.failed >= s.queued {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }
}

/// How the EventBridge delivery is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryStats {
    pub queued: u64,
    pub delivered: u64,
    pub failed: u64,
    pub last_error: Option<String>,
}

async fn deliver(
    events: std::sync::Arc<Events>,
    target: EventBridgeTarget,
    mut rx: mpsc::UnboundedReceiver<SirEvent>,
) {
    let client = reqwest::Client::new();
    while let Some(first) = rx.recv().await {
        // PutEvents takes at most ten entries: send what has piled up, in order.
        let mut batch = vec![first];
        while batch.len() < 10 {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        match put_events(&client, &target, &batch).await {
            Ok(failed) => {
                events.delivered.fetch_add(n - failed, Ordering::SeqCst);
                events.failed.fetch_add(failed, Ordering::SeqCst);
            }
            Err(e) => {
                tracing::warn!(error = %e, "PutEvents failed");
                *events.last_error.lock().expect("events poisoned") = Some(e);
                events.failed.fetch_add(n, Ordering::SeqCst);
            }
        }
        events.drained.notify_waiters();
    }
}

/// One `PutEvents` call in the JSON 1.1 protocol. The signature is a placeholder: moto reads the
/// access key and region from the credential scope but verifies nothing.
async fn put_events(
    client: &reqwest::Client,
    target: &EventBridgeTarget,
    batch: &[SirEvent],
) -> Result<u64, String> {
    let entries: Vec<Value> = batch
        .iter()
        .map(|e| {
            json!({
                "Source": e.source,
                "DetailType": e.detail_type,
                "Detail": e.detail.to_string(),
                "Resources": e.resources,
                "EventBusName": target.event_bus_name,
            })
        })
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{}/events/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
        target.access_key_id,
        &amz_date[..8],
        target.region,
        "0".repeat(64)
    );
    let response = client
        .post(&target.endpoint_url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "AWSEvents.PutEvents")
        .header("x-amz-date", amz_date)
        .header("authorization", authorization)
        .body(json!({ "Entries": entries }).to_string())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("PutEvents request failed: {e}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("PutEvents answered {status}: {body}"));
    }
    let parsed: Value =
        serde_json::from_str(&body).map_err(|e| format!("PutEvents answer unreadable: {e}"))?;
    Ok(parsed
        .get("FailedEntryCount")
        .and_then(Value::as_u64)
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_matches_the_fixture_shape() {
        let e = SirEvent::new(
            EventKind::CaseUpdated,
            "1234567890",
            "arn:aws:security-ir:us-east-1:123456789012:case/1234567890",
            "123456789012".into(),
            "AKID".into(),
            "123456789012",
            "us-east-1",
            Timestamp::from_secs(1_764_167_400),
        );
        // The members of shared/fixtures/sir/event_case_updated.json that do not vary.
        let fixture = json!({
            "version": "0", "detail-type": "Case Updated", "source": "aws.security-ir",
            "account": "123456789012", "region": "us-east-1",
            "resources": ["arn:aws:security-ir:us-east-1:123456789012:case/1234567890"],
            "detail": {"caseId": "1234567890", "updatedBy": "123456789012"}
        });
        let got = e.to_json();
        for key in [
            "version",
            "detail-type",
            "source",
            "account",
            "region",
            "resources",
            "detail",
        ] {
            assert_eq!(got[key], fixture[key], "member {key}");
        }
        assert_eq!(got["time"], "2025-11-26T14:30:00Z");
    }
}
