//! Dead letters for events taken from AWS (an SQS message, an EventBridge invocation): shared by
//! the container's SQS consumer and the Lambda consumers, so an event that fails for good ends
//! up in the same place, with the same content, in either deployment.

use super::{BusError, eventbridge};
use crate::{
    db::now_ms,
    event::EventEnvelope,
    metrics::{Metrics, ReasonLabels},
    store::{DeadLetter, StateStore},
};

/// Records a SIR event this service does not act on (membership events): logged and counted,
/// then acknowledged by the caller.
pub fn ignored(metrics: Option<&Metrics>, detail_type: &str, id: &str) {
    tracing::info!(
        detail_type,
        message_id = id,
        "SIR event that is not about a case: acknowledged and ignored"
    );
    if let Some(metrics) = metrics {
        metrics
            .ignored
            .get_or_create(&ReasonLabels {
                source: "sir",
                reason: "unhandled_detail_type",
            })
            .inc();
    }
}

/// Keeps an event that cannot be read (no retry makes it readable) as a dead letter of type
/// `unreadable`, with the text as it arrived.
pub async fn dead_letter_unreadable(
    store: &dyn StateStore,
    id: &str,
    payload: String,
    error: &str,
    attempts: u32,
) -> Result<(), BusError> {
    tracing::error!(message_id = %id, error, "unreadable event dead-lettered");
    store
        .put_dead_letter(&DeadLetter {
            id: id.to_owned(),
            event_type: "unreadable".into(),
            payload,
            raw: None,
            error: format!("cannot decode the message: {error}"),
            attempts,
            failed_at_ms: now_ms(),
        })
        .await
        .map_err(|e| BusError::backend(None, e))
}

/// Keeps an event whose handling failed for good as a dead letter, with its raw delivery when
/// the publisher kept one, so the admin API can show and replay it.
pub async fn dead_letter_event(
    store: &dyn StateStore,
    envelope: &EventEnvelope,
    error: &str,
    attempts: u32,
) -> Result<(), BusError> {
    let id = envelope.id.to_string();
    let raw = store
        .blob(&eventbridge::raw_key(&id))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(event_id = %id, error = %e, "cannot read the raw delivery");
            None
        });
    store
        .put_dead_letter(&DeadLetter {
            id: id.clone(),
            event_type: envelope.event.type_name().to_owned(),
            payload: serde_json::to_string(envelope).map_err(BusError::undecodable)?,
            raw,
            error: error.to_owned(),
            attempts,
            failed_at_ms: now_ms(),
        })
        .await
        .map_err(|e| BusError::backend(None, e))?;
    tracing::error!(event_id = %id, event_type = envelope.event.type_name(), attempts, error, "event dead-lettered");
    Ok(())
}
