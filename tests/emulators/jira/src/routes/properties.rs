//! Entity properties on issues and comments: hidden JSON the integration uses to tag what it
//! wrote. PUT answers 201 when it creates a property and 200 when it replaces one; a create can
//! carry them too (`properties` beside `fields`).

use std::collections::BTreeMap;

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

/// Jira's limits on a property (developer.atlassian.com/server/jira/platform/entity-properties:
/// "The key has a maximum length of 255 characters. The value must be a valid JSON Object and
/// have a maximum size of 32 KB"; the REST reference gives 32768 characters).
const MAX_VALUE_BYTES: usize = 32_768;
const MAX_KEY_CHARS: usize = 255;

fn check_key(key: &str) -> JiraResult<()> {
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(JiraError::bad_request(format!(
            "The property key can not be longer than {MAX_KEY_CHARS} characters."
        )));
    }
    Ok(())
}

fn check_size(value_bytes: usize) -> JiraResult<()> {
    if value_bytes > MAX_VALUE_BYTES {
        return Err(JiraError::bad_request(format!(
            "The property value can not be longer than {MAX_VALUE_BYTES} characters."
        )));
    }
    Ok(())
}

fn check(key: &str, body: &Bytes) -> JiraResult<()> {
    check_key(key)?;
    check_size(body.len())
}

/// The `properties` of a create request (`[{key, value}]`, Cloud's `IssueUpdateDetails` and
/// Data Center's `IssueUpdateBean` alike), under the same limits as a PUT of each one. Checked
/// before anything is created: a bad property refuses the whole create, so an issue never
/// exists without the properties it was created with.
pub fn from_create(body: &Value) -> JiraResult<BTreeMap<String, Value>> {
    let list = match body.get("properties") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(JiraError::bad_request(
                "properties must be an array of {key, value} objects",
            ));
        }
    };
    let mut properties = BTreeMap::new();
    for p in list {
        let key = p
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| JiraError::bad_request("The property key must be specified."))?;
        let value = p.get("value").ok_or_else(|| {
            JiraError::bad_request(format!(
                "The value of the property '{key}' must be specified."
            ))
        })?;
        check_key(key)?;
        check_size(value.to_string().len())?;
        properties.insert(key.to_owned(), value.clone());
    }
    Ok(properties)
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
