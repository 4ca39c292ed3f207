//! Entity properties on issues and comments: hidden JSON the integration uses to tag what it
//! wrote. PUT answers 201 when it creates a property and 200 when it replaces one.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Actor, Api, App, json_body, no_content};
use crate::{
    error::{JiraError, JiraResult},
    repr::Repr,
    state::property_not_found,
};

/// Jira's limit on a property value.
const MAX_VALUE_BYTES: usize = 32_768;
const MAX_KEY_CHARS: usize = 255;

fn check(key: &str, body: &Bytes) -> JiraResult<()> {
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(JiraError::bad_request(format!(
            "The property key can not be longer than {MAX_KEY_CHARS} characters."
        )));
    }
    if body.len() > MAX_VALUE_BYTES {
        return Err(JiraError::bad_request(format!(
            "The property value can not be longer than {MAX_VALUE_BYTES} characters."
        )));
    }
    Ok(())
}

fn keys_json(base: &str, keys: impl Iterator<Item = String>) -> Value {
    let keys: Vec<Value> = keys
        .map(|k| json!({"self": format!("{base}/properties/{k}"), "key": k}))
        .collect();
    json!({"keys": keys})
}

pub async fn issue_keys(
    State(app): State<App>,
    Extension(api): Api,
    Path(key): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let issue = state.issue_or_404(&key)?;
    let base = state.issue_self(&issue.id, Repr::for_api(api));
    Ok(Json(keys_json(&base, issue.properties.keys().cloned())).into_response())
}

pub async fn issue_get(
    State(app): State<App>,
    Path((key, prop)): Path<(String, String)>,
) -> JiraResult<Response> {
    let state = app.state();
    let issue = state.issue_or_404(&key)?;
    let value = issue
        .properties
        .get(&prop)
        .ok_or_else(|| property_not_found(&prop))?;
    Ok(Json(json!({"key": prop, "value": value})).into_response())
}

pub async fn issue_set(
    State(app): State<App>,
    Extension(caller): Actor,
    Path((key, prop)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    check(&prop, &body)?;
    let value = json_body(&headers, &body)?;
    let created = app
        .state()
        .set_issue_property(&caller.account_id, &key, &prop, value)?;
    Ok(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
    .into_response())
}

pub async fn issue_delete(
    State(app): State<App>,
    Extension(caller): Actor,
    Path((key, prop)): Path<(String, String)>,
) -> JiraResult<Response> {
    app.state()
        .delete_issue_property(&caller.account_id, &key, &prop)?;
    Ok(no_content())
}

pub async fn comment_keys(
    State(app): State<App>,
    Extension(api): Api,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let comment = state
        .comment(&id)
        .ok_or_else(|| JiraError::not_found(format!("Can not find a comment for the id: {id}.")))?;
    let base = format!(
        "{}/rest/api/{}/comment/{}",
        state.site.base_url,
        Repr::for_api(api).api.number(),
        comment.id
    );
    Ok(Json(keys_json(&base, comment.properties.keys().cloned())).into_response())
}

pub async fn comment_get(
    State(app): State<App>,
    Path((id, prop)): Path<(String, String)>,
) -> JiraResult<Response> {
    let state = app.state();
    let comment = state
        .comment(&id)
        .ok_or_else(|| JiraError::not_found(format!("Can not find a comment for the id: {id}.")))?;
    let value = comment
        .properties
        .get(&prop)
        .ok_or_else(|| property_not_found(&prop))?;
    Ok(Json(json!({"key": prop, "value": value})).into_response())
}

pub async fn comment_set(
    State(app): State<App>,
    Path((id, prop)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    check(&prop, &body)?;
    let value = json_body(&headers, &body)?;
    let mut state = app.state();
    let comment = state.comment_mut(&id)?;
    let created = comment.properties.insert(prop, value).is_none();
    Ok(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
    .into_response())
}

pub async fn comment_delete(
    State(app): State<App>,
    Path((id, prop)): Path<(String, String)>,
) -> JiraResult<Response> {
    let mut state = app.state();
    let comment = state.comment_mut(&id)?;
    comment
        .properties
        .remove(&prop)
        .ok_or_else(|| property_not_found(&prop))?;
    Ok(no_content())
}
