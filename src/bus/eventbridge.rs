//! Publishing to Amazon EventBridge: each event is one `PutEvents` entry with the configured
//! `source`, the event type as `detail-type` and the versioned envelope as `detail`
//! (`docs/events.md`).
//!
//! Entries go in batches of at most 10 and under 256 KB. Entries that fail with a retryable
//! code (`InternalFailure`, `ThrottlingException`) are sent again, alone, with backoff; other
//! codes are permanent and the event becomes a dead letter in the store. What EventBridge
//! cannot carry stays in the state store: the raw delivery (for replay), and the whole envelope
//! of an event over the size limit, which is published as a reference (`payload_ref`) that
//! consumers resolve. Nothing is truncated.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use aws_sdk_eventbridge::{Client, primitives::DateTime, types::PutEventsRequestEntry};
use serde_json::{Value, json};

use super::{BusError, EventBus, Outgoing};
use crate::retry::Backoff;
use crate::{
    aws::{Fault, describe, fault},
    db::now_ms,
    event::{
        EventEnvelope,
        sir::{self, Native},
    },
    store::{DeadLetter, StateStore},
};

/// At most this many entries per `PutEvents` call.
pub const MAX_ENTRIES: usize = 10;
/// A call's entries must add up to less than this many bytes (Source, DetailType, Detail,
/// Resources as UTF-8, and 14 for Time).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Bytes `Time` adds to an entry.
const TIME_BYTES: usize = 14;
/// Entry error codes worth sending again; every other code is permanent.
const RETRYABLE: &[&str] = &["InternalFailure", "ThrottlingException"];
/// How long the store keeps raw deliveries and oversize envelopes: SQS's longest message
/// retention, so a consumer can always resolve what the queue still holds.
pub const BLOB_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

/// Store key of an event's raw delivery.
pub fn raw_key(event_id: &str) -> String {
    format!("raw/{event_id}")
}

/// Store key of an oversize event's full envelope.
pub fn envelope_key(event_id: &str) -> String {
    format!("event/{event_id}")
}

/// Pattern of the rule that routes every Jira-side event this service publishes (all types
/// `jira.*` from `source`) to a consumer, such as the SQS queue of the container deployment.
pub fn jira_events_pattern(source: &str) -> Value {
    json!({"source": [source], "detail-type": [{"prefix": "jira."}]})
}

/// Pattern of the rule that routes the SIR-side events this service publishes (the poller's
/// and the backfill's `sir.case.changed`) from `source` to a consumer.
pub fn sir_events_pattern(source: &str) -> Value {
    json!({"source": [source], "detail-type": [{"prefix": "sir."}]})
}

/// Pattern of the rule (on the default bus, where AWS puts them) that routes SIR's own case
/// events to a consumer. Membership events are left out; a consumer drops any that arrive.
pub fn native_sir_events_pattern() -> Value {
    json!({
        "source": [crate::event::sir::NATIVE_SOURCE],
        "detail-type": [
            "Case Created", "Case Updated", "Case Closed",
            "Case Comment Added", "Case Comment Updated"
        ]
    })
}

/// How failed entries are retried.
/// Where events are put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBridgeConfig {
    /// Bus name or ARN.
    pub bus_name: String,
    pub source: String,
}

#[derive(Debug, Clone, Copy)]
pub struct PublishRetry {
    /// Calls per entry, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for PublishRetry {
    /// About 1.5 s in all: a webhook sender is waiting for the answer.
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(800),
        }
    }
}

pub struct EventBridgeBus {
    client: Client,
    config: EventBridgeConfig,
    store: Arc<dyn StateStore>,
    retry: PublishRetry,
}

/// One event ready to send.
struct Entry<'a> {
    outgoing: &'a Outgoing,
    /// The envelope, or its reference when it is too large.
    detail: String,
    size: usize,
}

impl EventBridgeBus {
    pub fn new(client: Client, config: EventBridgeConfig, store: Arc<dyn StateStore>) -> Self {
        Self {
            client,
            config,
            store,
            retry: PublishRetry::default(),
        }
    }

    pub fn with_retry(mut self, retry: PublishRetry) -> Self {
        self.retry = retry;
        self
    }

    fn entry_size(&self, detail_type: &str, detail: &str) -> usize {
        self.config.source.len() + detail_type.len() + detail.len() + TIME_BYTES
    }

    /// Keeps what EventBridge will not carry in the store, and sizes the entry.
    async fn prepare<'a>(&self, outgoing: &'a Outgoing) -> Result<Entry<'a>, BusError> {
        let envelope = &outgoing.envelope;
        let id = envelope.id.to_string();
        let detail_type = envelope.event.type_name();
        if let Some(raw) = &outgoing.raw {
            self.store
                .put_blob(&raw_key(&id), raw, BLOB_TTL)
                .await
                .map_err(|e| BusError::backend(Some("cannot keep the raw delivery".into()), e))?;
        }
        let mut detail = serde_json::to_string(envelope).map_err(BusError::rejected_by)?;
        if self.entry_size(detail_type, &detail) >= MAX_REQUEST_BYTES {
            let key = envelope_key(&id);
            self.store
                .put_blob(&key, detail.as_bytes(), BLOB_TTL)
                .await
                .map_err(|e| BusError::backend(Some("cannot keep an oversize event".into()), e))?;
            tracing::info!(event_id = %id, event_type = detail_type, bytes = detail.len(), store_key = %key, "event over the EventBridge size limit: publishing a reference");
            detail = reference(envelope, &key, detail.len())?;
        }
        let size = self.entry_size(detail_type, &detail);
        Ok(Entry {
            outgoing,
            detail,
            size,
        })
    }

    fn request_entry(&self, e: &Entry<'_>) -> PutEventsRequestEntry {
        let envelope = &e.outgoing.envelope;
        let at = envelope.received_at;
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.config.bus_name)
            .source(&self.config.source)
            .detail_type(envelope.event.type_name())
            .detail(&e.detail)
            .time(DateTime::from_secs_and_nanos(
                at.unix_timestamp(),
                at.nanosecond(),
            ))
            .build()
    }

    /// Sends one batch; retries its retryable failures, dead-letters its permanent ones.
    async fn put_batch(&self, batch: &[Entry<'_>]) -> Result<(), BusError> {
        let mut pending: Vec<&Entry<'_>> = batch.iter().collect();
        for attempt in 1..=self.retry.attempts {
            let out = self
                .client
                .put_events()
                .set_entries(Some(
                    pending.iter().map(|e| self.request_entry(e)).collect(),
                ))
                .send()
                .await
                .map_err(|e| {
                    let message = format!("PutEvents failed: {}", describe(&e));
                    match fault(&e) {
                        Fault::Transient => BusError::Unavailable(message),
                        Fault::Permanent => BusError::Rejected {
                            message,
                            source: Some(Box::new(e)),
                        },
                    }
                })?;
            let results = out.entries();
            if results.len() != pending.len() {
                return Err(BusError::Unavailable(format!(
                    "PutEvents answered {} results for {} entries",
                    results.len(),
                    pending.len()
                )));
            }
            let mut retry = Vec::new();
            let mut last_error = String::new();
            for (entry, result) in pending.into_iter().zip(results) {
                let Some(code) = result.error_code() else {
                    continue;
                };
                let error = format!(
                    "EventBridge refused the event: {code}: {}",
                    result.error_message().unwrap_or("")
                );
                if RETRYABLE.contains(&code) {
                    tracing::warn!(event_id = %entry.outgoing.envelope.id, attempt, error, "entry failed, will retry");
                    last_error = error;
                    retry.push(entry);
                } else {
                    self.dead_letter(entry, error, attempt).await?;
                }
            }
            if retry.is_empty() {
                return Ok(());
            }
            if attempt == self.retry.attempts {
                return Err(BusError::Unavailable(format!(
                    "{} events still failing after {attempt} attempts: {last_error}",
                    retry.len()
                )));
            }
            tokio::time::sleep(Backoff::new(self.retry.base, self.retry.max).delay(attempt)).await;
            pending = retry;
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        entry: &Entry<'_>,
        error: String,
        attempts: u32,
    ) -> Result<(), BusError> {
        let envelope = &entry.outgoing.envelope;
        tracing::error!(event_id = %envelope.id, event_type = envelope.event.type_name(), error, "event dead-lettered: EventBridge refused it");
        let letter = DeadLetter {
            id: envelope.id.to_string(),
            event_type: envelope.event.type_name().to_owned(),
            payload: serde_json::to_string(envelope).map_err(BusError::rejected_by)?,
            raw: entry.outgoing.raw.as_ref().map(|b| b.to_vec()),
            error,
            attempts,
            failed_at_ms: now_ms(),
        };
        // Only a dead letter that is safely stored lets the delivery be acknowledged.
        self.store
            .put_dead_letter(&letter)
            .await
            .map_err(|e| BusError::backend(Some("cannot store a dead letter".into()), e))
    }
}

/// Groups entries in order into batches of at most [`MAX_ENTRIES`] and under
/// [`MAX_REQUEST_BYTES`]. Every entry is already under the limit on its own.
fn batches<'e, 'a>(entries: &'e [Entry<'a>]) -> Vec<&'e [Entry<'a>]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        if i > start && (i - start == MAX_ENTRIES || bytes + e.size >= MAX_REQUEST_BYTES) {
            out.push(&entries[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += e.size;
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}

/// The detail published for an oversize event: the envelope without `data`, plus where the
/// whole envelope is kept.
fn reference(envelope: &EventEnvelope, key: &str, bytes: usize) -> Result<String, BusError> {
    let mut value = serde_json::to_value(envelope).map_err(BusError::rejected_by)?;
    if let Value::Object(map) = &mut value {
        map.remove("data");
        map.insert(
            "payload_ref".into(),
            json!({"store_key": key, "bytes": bytes}),
        );
    }
    Ok(value.to_string())
}

/// The envelope a detail carries, fetching it from the store when the detail is a reference.
pub async fn resolve_detail(
    detail: Value,
    store: &dyn StateStore,
) -> Result<EventEnvelope, BusError> {
    let key = detail
        .get("payload_ref")
        .and_then(|r| r.get("store_key"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match key {
        None => serde_json::from_value(detail).map_err(BusError::undecodable),
        Some(key) => {
            let bytes = store
                .blob(&key)
                .await
                .map_err(|e| BusError::backend(Some(format!("cannot read {key}")), e))?
                .ok_or_else(|| BusError::malformed(format!("referenced payload {key} is gone")))?;
            serde_json::from_slice(&bytes).map_err(BusError::undecodable)
        }
    }
}

/// What an EventBridge event holds for a consumer.
#[derive(Debug)]
pub enum Decoded {
    Event(Box<EventEnvelope>),
    /// A SIR event this service does not act on (its detail-type).
    Ignored(String),
}

/// The event an EventBridge event carries, as any target receives it: the whole event (a
/// Lambda target, an SQS target) or only its detail (a target with input path `$.detail`).
/// The detail is our envelope, or a reference to it in the store for oversize events; one of
/// SIR's own events becomes a `sir.case.changed` event. Every consumer decodes through here:
/// the container's SQS workers and the Lambda consumers.
pub async fn decode_event(mut event: Value, store: &dyn StateStore) -> Result<Decoded, BusError> {
    if sir::is_native(&event) {
        return match sir::from_native(&event) {
            Ok(Native::Changed(envelope)) => Ok(Decoded::Event(envelope)),
            Ok(Native::Ignored { detail_type }) => Ok(Decoded::Ignored(detail_type)),
            Err(e) => Err(BusError::undecodable(e)),
        };
    }
    let detail = match event.get_mut("detail") {
        Some(detail) => detail.take(),
        None => event,
    };
    resolve_detail(detail, store)
        .await
        .map(|e| Decoded::Event(Box::new(e)))
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[Outgoing]) -> Result<(), BusError> {
        let mut entries = Vec::with_capacity(events.len());
        for outgoing in events {
            entries.push(self.prepare(outgoing).await?);
        }
        for batch in batches(&entries) {
            self.put_batch(batch).await?;
        }
        Ok(())
    }
}
