//! Admin webhook registration, `/rest/webhooks/1.0/webhook[/{id}]`: administrators only.

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use super::{Actor, App, json_body, no_content};
use crate::{
    auth::Caller,
    error::{JiraError, JiraResult},
    jql,
    model::WebhookRegistration,
    state::{State as Site, now},
};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/rest/webhooks/1.0/webhook", get(list).post(create))
        .route(
            "/rest/webhooks/1.0/webhook/{id}",
            get(one).put(replace).delete(remove),
        )
}

/// A site without the resource answers every method on it with a 404, before any permission
/// check: there is nothing to be allowed to.
fn require_resource(app: &App) -> JiraResult<()> {
    if app.state().webhook_rest_resource {
        Ok(())
    } else {
        Err(JiraError::not_found(
            "null for uri: /rest/webhooks/1.0/webhook",
        ))
    }
}

fn require_admin(caller: &Caller) -> JiraResult<()> {
    if caller.admin {
        Ok(())
    } else {
        Err(JiraError::forbidden(
            "You do not have the permission to manage webhooks: Jira administrators only.",
        ))
    }
}

fn webhook_json(state: &Site, w: &WebhookRegistration) -> Value {
    let user = state.account(&w.last_updated_user);
    json!({
        "name": w.name,
        "url": w.url,
        "excludeBody": w.exclude_body,
        "filters": {"issue-related-events-section": w.jql.clone().unwrap_or_default()},
        "events": w.events,
        "enabled": w.enabled,
        "self": format!("{}/rest/webhooks/1.0/webhook/{}", state.site.base_url, w.id),
        "lastUpdatedUser": w.last_updated_user,
        "lastUpdatedDisplayName": user.map(|u| u.display_name.clone()).unwrap_or_default(),
        "lastUpdated": (w.last_updated.unix_timestamp_nanos() / 1_000_000) as i64,
    })
}

fn parse_registration(
    state: &Site,
    caller: &Caller,
    body: &Value,
    id: u64,
) -> JiraResult<WebhookRegistration> {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| JiraError::field("name", "The webhook name is required."))?;
    let url = body
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| {
            JiraError::field("url", "The webhook URL must be an absolute http(s) URL.")
        })?;
    let events = match body.get("events") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|e| e.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| JiraError::field("events", "Events must be strings."))?,
        Some(_) => return Err(JiraError::field("events", "Events must be an array.")),
    };
    let jql = body
        .pointer("/filters/issue-related-events-section")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|j| !j.is_empty())
        .map(str::to_owned);
    if let Some(q) = &jql {
        jql::compile(q, state).map_err(|e| {
            let mut err = JiraError::new(StatusCode::BAD_REQUEST);
            err.errors.insert(
                "filters".into(),
                e.messages
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "Invalid JQL".into()),
            );
            err
        })?;
    }
    Ok(WebhookRegistration {
        id,
        name: name.to_owned(),
        url: url.to_owned(),
        events,
        jql,
        exclude_body: body
            .get("excludeBody")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        secret: body
            .get("secret")
            .and_then(Value::as_str)
            .map(str::to_owned),
        enabled: body.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        via_rest: true,
        last_updated_user: caller.account_id.clone(),
        last_updated: now(),
    })
}

fn webhook_id(id: &str) -> JiraResult<u64> {
    id.parse()
        .map_err(|_| JiraError::not_found(format!("Webhook with id {id} does not exist.")))
}

pub async fn list(State(app): State<App>, Extension(caller): Actor) -> JiraResult<Response> {
    require_resource(&app)?;
    require_admin(&caller)?;
    let state = app.state();
    let list: Vec<Value> = state
        .webhook_registrations()
        .map(|w| webhook_json(&state, w))
        .collect();
    Ok(Json(list).into_response())
}

pub async fn create(
    State(app): State<App>,
    Extension(caller): Actor,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    require_resource(&app)?;
    require_admin(&caller)?;
    let body = json_body(&headers, &body)?;
    let mut state = app.state();
    let registration = parse_registration(&state, &caller, &body, 0)?;
    let w = state.register_webhook(registration);
    Ok((StatusCode::CREATED, Json(webhook_json(&state, &w))).into_response())
}

pub async fn one(
    State(app): State<App>,
    Extension(caller): Actor,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    require_resource(&app)?;
    require_admin(&caller)?;
    let id = webhook_id(&id)?;
    let state = app.state();
    let w = state
        .webhook_registrations()
        .find(|w| w.id == id)
        .ok_or_else(|| JiraError::not_found(format!("Webhook with id {id} does not exist.")))?;
    Ok(Json(webhook_json(&state, w)).into_response())
}

pub async fn replace(
    State(app): State<App>,
    Extension(caller): Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    require_resource(&app)?;
    require_admin(&caller)?;
    let id = webhook_id(&id)?;
    let body = json_body(&headers, &body)?;
    let mut state = app.state();
    let registration = parse_registration(&state, &caller, &body, id)?;
    let w = state
        .replace_webhook(registration)
        .ok_or_else(|| JiraError::not_found(format!("Webhook with id {id} does not exist.")))?;
    Ok(Json(webhook_json(&state, &w)).into_response())
}

pub async fn remove(
    State(app): State<App>,
    Extension(caller): Actor,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    require_resource(&app)?;
    require_admin(&caller)?;
    let id = webhook_id(&id)?;
    if app.state().delete_webhook(id) {
        Ok(no_content())
    } else {
        Err(JiraError::not_found(format!(
            "Webhook with id {id} does not exist."
        )))
    }
}
