//! A small control surface under `/_emulator/`, for when the emulator runs as a separate
//! process (the binary) and a test or a person cannot reach the library handle: read the
//! request log and events, switch throttling, seed cases, act as the analyst.
//! These requests are not SIR API calls: they are neither logged nor throttled.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{App, parse_body};
use crate::errors::ApiError;
use crate::model::{CaseStatus, ClosureCode};
use crate::state::SeedCase;
use crate::throttle::ThrottleMode;

pub(super) async fn requests(app: App) -> Json<Value> {
    Json(json!(app.log.records()))
}

pub(super) async fn reset_requests(app: App) -> StatusCode {
    app.log.reset();
    StatusCode::NO_CONTENT
}

pub(super) async fn events(app: App) -> Json<Value> {
    Json(Value::Array(
        app.events.history().iter().map(|e| e.to_json()).collect(),
    ))
}

#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub(super) enum ThrottleIn {
    Off,
    EveryNth {
        k: u64,
    },
    Next {
        n: u64,
    },
    Budget {
        n: u64,
    },
    #[serde(rename_all = "camelCase")]
    Rate {
        per_second: f64,
        burst: f64,
    },
}

pub(super) async fn set_throttle(app: App, body: Bytes) -> Result<StatusCode, ApiError> {
    let mode = match parse_body::<ThrottleIn>(&body)? {
        ThrottleIn::Off => ThrottleMode::Off,
        ThrottleIn::EveryNth { k } => ThrottleMode::EveryNth(k),
        ThrottleIn::Next { n } => ThrottleMode::Next(n),
        ThrottleIn::Budget { n } => ThrottleMode::Budget(n),
        ThrottleIn::Rate { per_second, burst } => ThrottleMode::Rate { per_second, burst },
    };
    app.injector
        .lock()
        .expect("injector poisoned")
        .set_throttle(mode);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct SeedIn {
    count: usize,
}

pub(super) async fn seed(app: App, body: Bytes) -> Result<Response, ApiError> {
    let input: SeedIn = parse_body(&body)?;
    let ids: Vec<String> = app.mutate(|s| {
        let actor = s.principals.resolve(crate::ANALYST_ACCESS_KEY_ID);
        (0..input.count)
            .map(|_| s.seed_case(&actor, SeedCase::default()))
            .collect()
    });
    Ok((StatusCode::CREATED, Json(json!({ "caseIds": ids }))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AnalystIn {
    body: Option<String>,
    title: Option<String>,
    status: Option<String>,
    closure_code: Option<String>,
}

/// `POST /_emulator/analyst/cases/{id}/{action}` with `comment` {body}, `title` {title},
/// `status` {status: any CaseStatus}, `close` {closureCode}.
pub(super) async fn analyst(
    app: App,
    Path((case_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: AnalystIn = parse_body(&body)?;
    let bad = |what: &str| ApiError::rule(format!("missing or invalid {what}"));
    let result = app.mutate(|s| -> Result<Value, ApiError> {
        let actor = s.principals.resolve(crate::ANALYST_ACCESS_KEY_ID);
        match action.as_str() {
            "comment" => {
                let body = input.body.clone().ok_or_else(|| bad("body"))?;
                let id = s.add_comment(&case_id, &actor, body)?;
                Ok(json!({ "commentId": id }))
            }
            "title" => {
                let title = input.title.clone().ok_or_else(|| bad("title"))?;
                s.update_case(
                    &case_id,
                    &actor,
                    crate::state::CaseUpdate {
                        title: Some(title),
                        ..Default::default()
                    },
                )?;
                Ok(json!({}))
            }
            "status" => {
                let status = input
                    .status
                    .as_deref()
                    .and_then(CaseStatus::from_wire)
                    .ok_or_else(|| bad("status"))?;
                s.set_status(&case_id, &actor, status, false)?;
                Ok(json!({}))
            }
            "close" => {
                let code = input
                    .closure_code
                    .as_deref()
                    .and_then(ClosureCode::from_wire)
                    .ok_or_else(|| bad("closureCode"))?;
                s.close_case(&case_id, &actor, Some(code))?;
                Ok(json!({}))
            }
            other => Err(ApiError::UnknownOperation(format!(
                "unknown analyst action {other}"
            ))),
        }
    })?;
    Ok(Json(result).into_response())
}
