use axum::{Json, extract::State, http::StatusCode};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, events::EventType, page_size, rfc3339_ms};
use crate::{
    bus::Outgoing,
    event::EventEnvelope,
    http::{
        ApiError, AppState, ErrorBody,
        extract::{Json as JsonBody, Path, Query},
    },
    store::DeadLetter,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDeadLetters {
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    pub event_type: Option<EventType>,
    /// Return dead letters whose id sorts after this one (the `next` of the previous page).
    #[param(format = Uuid)]
    pub after: Option<uuid::Uuid>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterSummary {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub error: String,
    pub attempts: u32,
    /// When it failed for good (RFC 3339).
    pub failed_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    #[serde(flatten)]
    pub summary: DeadLetterSummary,
    /// The event envelope that failed.
    pub payload: serde_json::Value,
    /// The raw delivery it came from, when it is UTF-8 text.
    pub raw_text: Option<String>,
    /// The raw delivery, base64, when it is not UTF-8.
    pub raw_base64: Option<String>,
}

fn summary(l: &DeadLetter) -> DeadLetterSummary {
    DeadLetterSummary {
        id: l.id.clone(),
        event_type: l.event_type.clone(),
        error: l.error.clone(),
        attempts: l.attempts,
        failed_at: rfc3339_ms(l.failed_at_ms),
    }
}

/// Dead letters, oldest event first.
#[utoipa::path(operation_id = "list_dead_letters", get, path = "/dead-letters", tag = "admin", security(("admin_token" = [])),
    params(ListDeadLetters),
    responses(
        (status = 200, description = "OK", body = Page<DeadLetterSummary>),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListDeadLetters>,
) -> Result<Json<Page<DeadLetterSummary>>, ApiError> {
    let limit = page_size(q.limit)?;
    let wanted = q.event_type.map(EventType::as_str);
    let mut items = Vec::new();
    let mut cursor = q.after.map(|u| u.to_string());
    // Filter while paging through the store, so a filtered page is still full.
    loop {
        let batch = state
            .store
            .list_dead_letters(cursor.as_deref(), limit)
            .await?;
        let exhausted = batch.len() < limit;
        for l in batch {
            cursor = Some(l.id.clone());
            if wanted.is_none_or(|t| t == l.event_type) {
                items.push(summary(&l));
                if items.len() == limit {
                    break;
                }
            }
        }
        if exhausted || items.len() == limit {
            let next = (items.len() == limit).then_some(cursor).flatten();
            return Ok(Json(Page { items, next }));
        }
    }
}

/// One dead letter with its error, attempts, payload and raw delivery.
#[utoipa::path(operation_id = "get_dead_letter", get, path = "/dead-letters/{id}", tag = "admin", security(("admin_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "The event id")),
    responses(
        (status = 200, description = "OK", body = DeadLetterView),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<DeadLetterView>, ApiError> {
    let l = state
        .store
        .dead_letter(&id.to_string())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no dead letter {id}")))?;
    let (raw_text, raw_base64) = match &l.raw {
        None => (None, None),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ),
        },
    };
    Ok(Json(DeadLetterView {
        summary: summary(&l),
        payload: serde_json::from_str(&l.payload).unwrap_or(serde_json::Value::Null),
        raw_text,
        raw_base64,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// Ids of the events put back on the bus.
    pub event_ids: Vec<String>,
}

/// Puts one dead letter back on the bus (after its cause is fixed) and removes it from the
/// dead letters. The event keeps its id, so handlers apply it once.
#[utoipa::path(operation_id = "replay_dead_letter", post, path = "/dead-letters/{id}/replay", tag = "admin", security(("admin_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "The event id")),
    responses(
        (status = 202, description = "Accepted", body = Replayed),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn replay_one(
    State(state): State<AppState>,
    Path(id): Path<uuid::Uuid>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    let l = state
        .store
        .dead_letter(&id.to_string())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no dead letter {id}")))?;
    replay(&state, l).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Replayed {
            event_ids: vec![id.to_string()],
        }),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFilter {
    /// Only dead letters of this event type.
    #[serde(rename = "type")]
    #[schema(inline)]
    pub event_type: Option<EventType>,
    /// Only dead letters whose error contains this text.
    #[schema(max_length = 200)]
    pub error_contains: Option<String>,
}

/// Replays every dead letter matching the filter (an empty filter replays all).
#[utoipa::path(operation_id = "replay_dead_letters", post, path = "/dead-letters/replay", tag = "admin", security(("admin_token" = [])),
    request_body = ReplayFilter,
    responses(
        (status = 202, description = "Accepted", body = Replayed),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody), (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn replay_matching(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    // Serde would also read a struct from a JSON array; only an object is a filter.
    if !body.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object (use {} to replay everything)".into(),
        ));
    }
    let filter: ReplayFilter = serde_json::from_value(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid filter: {e}")))?;
    if filter
        .error_contains
        .as_ref()
        .is_some_and(|s| s.chars().count() > 200)
    {
        return Err(ApiError::BadRequest(
            "error_contains is longer than 200 characters".into(),
        ));
    }
    let mut replayed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let batch = state
            .store
            .list_dead_letters(cursor.as_deref(), 100)
            .await?;
        let Some(last) = batch.last() else { break };
        cursor = Some(last.id.clone());
        for l in batch {
            let type_ok = filter.event_type.is_none_or(|t| t.as_str() == l.event_type);
            let error_ok = filter
                .error_contains
                .as_deref()
                .is_none_or(|s| l.error.contains(s));
            if type_ok && error_ok {
                let id = l.id.clone();
                replay(&state, l).await?;
                replayed.push(id);
            }
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Replayed {
            event_ids: replayed,
        }),
    ))
}

/// Publishes first, deletes second: a failure in between leaves the dead letter in place, and
/// replaying it again republishes the same event id, which the bus does not duplicate.
async fn replay(state: &AppState, l: DeadLetter) -> Result<(), ApiError> {
    let envelope: EventEnvelope = serde_json::from_str(&l.payload).map_err(|e| {
        ApiError::BadRequest(format!(
            "dead letter {} has an unreadable payload: {e}",
            l.id
        ))
    })?;
    state
        .bus
        .publish(&[Outgoing {
            envelope,
            raw: l.raw.map(Into::into),
        }])
        .await?;
    state.store.delete_dead_letter(&l.id).await?;
    tracing::info!(event_id = %l.id, event_type = %l.event_type, "dead letter replayed");
    Ok(())
}
