//! Comments: paged listing (`startAt`/`maxResults`/`total`, capped like Jira caps pages), add,
//! get, update, delete. Bodies are ADF on v3 and strings on v2.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Actor, Api, App, Params, json_body, no_content};
use crate::{
    error::{JiraError, JiraResult},
    fields,
    repr::Repr,
};

pub async fn list(
    State(app): State<App>,
    Extension(api): Api,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let params = Params::from_query(query.as_deref());
    let state = app.state();
    let cap = state.limits.comments_page_cap.max(1);
    let start = params.int("startAt")?.unwrap_or(0);
    let max = params.int("maxResults")?.unwrap_or(cap).min(cap);
    let issue = state.issue_or_404(&key)?;
    let mut comments = state.comments_of(issue);
    match params.get("orderBy") {
        Some("-created") => comments.reverse(),
        None | Some("created") | Some("+created") => {}
        Some(other) => {
            return Err(JiraError::bad_request(format!(
                "The value '{other}' is not valid for orderBy."
            )));
        }
    }
    let repr = Repr::for_api(api);
    let page: Vec<Value> = comments
        .iter()
        .skip(start)
        .take(max)
        .map(|c| state.comment_json(c, repr))
        .collect();
    Ok(Json(json!({
        "startAt": start,
        "maxResults": max,
        "total": comments.len(),
        "comments": page,
    }))
    .into_response())
}

pub async fn add(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    let body = json_body(&headers, &body)?;
    let text = fields::comment_body(body.get("body"), api)?;
    let visibility = body.get("visibility").filter(|v| !v.is_null()).cloned();
    let mut state = app.state();
    let comment = state.add_comment(&caller.account_id, &key, text, visibility)?;
    Ok((
        StatusCode::CREATED,
        Json(state.comment_json(&comment, Repr::for_api(api))),
    )
        .into_response())
}

pub async fn get(
    State(app): State<App>,
    Extension(api): Api,
    Path((key, id)): Path<(String, String)>,
) -> JiraResult<Response> {
    let state = app.state();
    let issue = state.issue_or_404(&key)?;
    let comment = issue
        .comment_ids
        .contains(&id)
        .then(|| state.comment(&id))
        .flatten()
        .ok_or_else(|| JiraError::not_found(format!("Can not find a comment for the id: {id}.")))?;
    Ok(Json(state.comment_json(comment, Repr::for_api(api))).into_response())
}

pub async fn update(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    Path((key, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    let body = json_body(&headers, &body)?;
    let text = fields::comment_body(body.get("body"), api)?;
    let visibility = body
        .get("visibility")
        .map(|v| (!v.is_null()).then(|| v.clone()));
    let mut state = app.state();
    let comment = state.update_comment(&caller.account_id, &key, &id, text, visibility)?;
    Ok(Json(state.comment_json(&comment, Repr::for_api(api))).into_response())
}

pub async fn delete(
    State(app): State<App>,
    Extension(caller): Actor,
    Path((key, id)): Path<(String, String)>,
) -> JiraResult<Response> {
    app.state().delete_comment(&caller.account_id, &key, &id)?;
    Ok(no_content())
}
