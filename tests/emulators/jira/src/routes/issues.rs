//! Issues: create, get, edit, delete, transitions and the changelog.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{Actor, Api, App, Params, json_body, no_content};
use crate::{
    error::{JiraError, JiraResult},
    fields,
    repr::{FieldSelection, IssueView, Repr, parse_list},
};

pub async fn create(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    let body = json_body(&headers, &body)?;
    let mut state = app.state();
    let mut new = fields::parse_create(&state, &body, api)?;
    new.properties = super::properties::from_create(&body)?;
    let issue = state.create_issue(&caller.account_id, new)?;
    let repr = Repr::for_api(api);
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": issue.id, "key": issue.key, "self": state.issue_self(&issue.id, repr)})),
    )
        .into_response())
}

pub fn view_from(
    params: &Params,
    api: crate::repr::ApiVersion,
    default: FieldSelection,
) -> IssueView {
    IssueView {
        repr: Repr::for_api(api),
        fields: FieldSelection::parse(params.all("fields"), default),
        expand: parse_list(params.all("expand")),
        properties: parse_list(params.all("properties")),
    }
}

pub async fn get(
    State(app): State<App>,
    Extension(api): Api,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let params = Params::from_query(query.as_deref());
    let state = app.state();
    let issue = state.issue_or_404(&key)?;
    let view = view_from(&params, api, FieldSelection::all());
    Ok(Json(state.issue_json(issue, &view)).into_response())
}

pub async fn edit(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    let params = Params::from_query(query.as_deref());
    let body = json_body(&headers, &body)?;
    let mut state = app.state();
    let issue = state.issue_or_404(&key)?.clone();
    let (changes, comments) = fields::parse_edit(&state, &issue, &body, api)?;
    state.edit_issue(&caller.account_id, &issue.key, changes)?;
    for c in comments {
        state.add_comment(&caller.account_id, &issue.key, c, None)?;
    }
    if params.flag("returnIssue") {
        let issue = state.issue_or_404(&issue.key)?;
        let view = view_from(&params, api, FieldSelection::all());
        return Ok(Json(state.issue_json(issue, &view)).into_response());
    }
    Ok(no_content())
}

pub async fn delete(
    State(app): State<App>,
    Extension(caller): Actor,
    Path(key): Path<String>,
) -> JiraResult<Response> {
    app.state().delete_issue(&caller.account_id, &key)?;
    Ok(no_content())
}

pub async fn transitions(
    State(app): State<App>,
    Extension(api): Api,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let params = Params::from_query(query.as_deref());
    let with_fields = parse_list(params.all("expand"))
        .iter()
        .any(|e| e == "transitions.fields");
    let only = params.get("transitionId");
    let state = app.state();
    let issue = state.issue_or_404(&key)?;
    let workflow = &state
        .site
        .project(&issue.project_key)
        .expect("issues belong to configured projects")
        .workflow;
    let repr = Repr::for_api(api);
    let list: Vec<_> = workflow
        .available_from(&issue.status_id)
        .into_iter()
        .filter(|t| only.is_none_or(|id| t.id == id))
        .map(|t| state.transition_json(t, workflow, repr, with_fields))
        .collect();
    Ok(Json(json!({"expand": "transitions", "transitions": list})).into_response())
}

pub async fn transition(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    let body = json_body(&headers, &body)?;
    let id = fields::transition_id(&body)?;
    let mut state = app.state();
    let issue = state.issue_or_404(&key)?.clone();
    let workflow = state
        .site
        .project(&issue.project_key)
        .expect("issues belong to configured projects")
        .workflow
        .clone();
    let t = workflow
        .find_available(&issue.status_id, &id)
        .ok_or_else(|| {
            JiraError::bad_request(format!("Transition id '{id}' is not valid for this issue."))
        })?;
    let request = fields::parse_transition(&state, &issue, t, &body, api)?;
    state.transition(&caller.account_id, &issue.key, &request.id, request.fields)?;
    for c in request.comments {
        state.add_comment(&caller.account_id, &issue.key, c, None)?;
    }
    Ok(no_content())
}

pub async fn changelog(
    State(app): State<App>,
    Extension(api): Api,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let params = Params::from_query(query.as_deref());
    let start = params.int("startAt")?.unwrap_or(0);
    let max = params.int("maxResults")?.unwrap_or(100).min(100);
    let state = app.state();
    let issue = state.issue_or_404(&key)?;
    let repr = Repr::for_api(api);
    let total = issue.changelog.len();
    let values: Vec<_> = issue
        .changelog
        .iter()
        .skip(start)
        .take(max)
        .map(|g| state.changelog_group_json(g, repr))
        .collect();
    let is_last = start + values.len() >= total;
    Ok(Json(json!({
        "self": format!("{}/changelog?startAt={start}&maxResults={max}", state.issue_self(&issue.id, repr)),
        "maxResults": max,
        "startAt": start,
        "total": total,
        "isLast": is_last,
        "values": values,
    }))
    .into_response())
}
