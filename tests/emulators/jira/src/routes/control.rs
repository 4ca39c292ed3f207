//! `/_emulator/…`: the control surface for runs of the binary (benchmarks, manual sessions),
//! mirroring what the library handle offers tests. Not part of Jira; never logged.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use crate::{
    config::{DEFAULT_WEBHOOK_EVENTS, RateLimitConfig},
    webhooks::AttemptOutcome,
};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/_emulator/health", get(|| async { "ok" }))
        .route("/_emulator/requests", get(requests).delete(reset_requests))
        .route("/_emulator/rate-limit", get(rate_limit).put(set_rate_limit))
        .route(
            "/_emulator/webhook",
            axum::routing::put(set_webhook).delete(remove_webhook),
        )
        .route("/_emulator/deliveries", get(deliveries))
        .route("/_emulator/issues", get(issues))
}

async fn requests(State(app): State<App>) -> Response {
    let list: Vec<Value> = app
        .log
        .all()
        .into_iter()
        .map(|r| {
            json!({"seq": r.seq, "method": r.method, "path": r.path, "query": r.query,
                   "status": r.status, "account": r.account, "write": r.write})
        })
        .collect();
    Json(list).into_response()
}

async fn reset_requests(State(app): State<App>) -> Response {
    app.log.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn rate_limit(State(app): State<App>) -> Response {
    let config = app.limiter.lock().expect("limiter lock").config().clone();
    Json(config).into_response()
}

async fn set_rate_limit(State(app): State<App>, Json(config): Json<RateLimitConfig>) -> Response {
    app.limiter.lock().expect("limiter lock").set(config);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct WebhookTarget {
    url: String,
    secret: Option<String>,
    events: Option<Vec<String>>,
    jql: Option<String>,
}

async fn set_webhook(State(app): State<App>, Json(t): Json<WebhookTarget>) -> Response {
    let events = t.events.unwrap_or_else(|| {
        DEFAULT_WEBHOOK_EVENTS
            .iter()
            .map(|e| (*e).to_owned())
            .collect()
    });
    app.state()
        .set_configured_webhook(t.url, t.secret, events, t.jql);
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_webhook(State(app): State<App>) -> Response {
    app.state().remove_configured_webhook();
    StatusCode::NO_CONTENT.into_response()
}

async fn deliveries(State(app): State<App>) -> Response {
    let list: Vec<Value> = app
        .dispatcher
        .records()
        .into_iter()
        .map(|d| {
            let attempts: Vec<Value> = d
                .attempts
                .iter()
                .map(|a| match &a.outcome {
                    AttemptOutcome::Status(s) => json!({"retry": a.retry, "status": s}),
                    AttemptOutcome::Failed(e) => json!({"retry": a.retry, "error": e}),
                })
                .collect();
            json!({"identifier": d.identifier, "webhookId": d.webhook_id, "event": d.event,
                   "url": d.url, "duplicated": d.duplicated, "attempts": attempts})
        })
        .collect();
    Json(list).into_response()
}

async fn issues(State(app): State<App>) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .issues()
        .map(|i| {
            json!({"id": i.id, "key": i.key, "summary": i.summary, "status": state.status_name(&i.status_id),
                   "labels": i.labels, "comments": i.comment_ids.len(), "attachments": i.attachment_ids.len()})
        })
        .collect();
    Json(list).into_response()
}
