//! Search. Cloud: `/search/jql` with opaque `nextPageToken` paging and no total (the old
//! `/search` answers 410 Gone, as it does since its removal). Data Center: the classic
//! `/search` with `startAt`/`total`.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Actor, Api, App, Params, json_body};
use crate::{
    error::{JiraError, JiraResult},
    jql,
    model::Issue,
    repr::{ApiVersion, FieldSelection, IssueView, Repr, parse_list},
    state::State as Site,
};

const UNBOUNDED: &str =
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";

struct SearchRequest {
    jql: String,
    next_page_token: Option<String>,
    max_results: Option<usize>,
    /// `None`: the parameter was not sent (Cloud then returns ids only).
    fields: Option<Vec<String>>,
    expand: Vec<String>,
    properties: Vec<String>,
}

fn fingerprint(jql: &str) -> String {
    hex::encode(&Sha256::digest(jql.as_bytes())[..8])
}

fn encode_token(jql: &str, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{offset}:{}", fingerprint(jql)))
}

fn decode_token(jql: &str, token: &str) -> JiraResult<usize> {
    let invalid = || JiraError::bad_request("The provided next page token is invalid or expired.");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (offset, fp) = raw.split_once(':').ok_or_else(invalid)?;
    if fp != fingerprint(jql) {
        return Err(invalid());
    }
    offset.parse().map_err(|_| invalid())
}

fn matching<'a>(state: &'a Site, query: &jql::Query, me: &str) -> Vec<&'a Issue> {
    let mut issues: Vec<&Issue> = state
        .issues()
        .filter(|i| query.matches(state, i, Some(me)))
        .collect();
    query.sort(state, &mut issues);
    issues
}

fn run_enhanced(state: &Site, me: &str, api: ApiVersion, req: SearchRequest) -> JiraResult<Value> {
    if req.jql.trim().is_empty() {
        return Err(JiraError::bad_request(UNBOUNDED));
    }
    let query = jql::compile(&req.jql, state)?;
    if query.is_unbounded() {
        return Err(JiraError::bad_request(UNBOUNDED));
    }
    let selection = req
        .fields
        .as_ref()
        .map(|f| FieldSelection::parse(f.iter().map(String::as_str), FieldSelection::none()));
    let minimal = selection.as_ref().is_none_or(FieldSelection::is_minimal);
    let cap = if minimal {
        5000
    } else {
        state.limits.search_page_cap.max(1)
    };
    let max = req.max_results.unwrap_or(50).clamp(1, cap);
    let start = match &req.next_page_token {
        Some(t) if !t.is_empty() => decode_token(&req.jql, t)?,
        _ => 0,
    };
    let issues = matching(state, &query, me);
    let page: Vec<Value> = issues
        .iter()
        .skip(start)
        .take(max)
        .map(|issue| match &selection {
            None => json!({"id": issue.id}),
            Some(sel) => state.issue_json(
                issue,
                &IssueView {
                    repr: Repr::for_api(api),
                    fields: sel.clone(),
                    expand: req.expand.clone(),
                    properties: req.properties.clone(),
                },
            ),
        })
        .collect();
    let end = start + page.len();
    let is_last = end >= issues.len();
    let mut out = json!({"issues": page, "isLast": is_last});
    if !is_last {
        out["nextPageToken"] = json!(encode_token(&req.jql, end));
    }
    if req.expand.iter().any(|e| e == "names") {
        out["names"] = state.names_json();
    }
    Ok(out)
}

pub async fn jql_get(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let p = Params::from_query(query.as_deref());
    let fields = p.all("fields");
    let req = SearchRequest {
        jql: p.get("jql").unwrap_or("").to_owned(),
        next_page_token: p.get("nextPageToken").map(str::to_owned),
        max_results: p.int("maxResults")?,
        fields: (!fields.is_empty()).then(|| parse_list(fields)),
        expand: parse_list(p.all("expand")),
        properties: parse_list(p.all("properties")),
    };
    let state = app.state();
    Ok(Json(run_enhanced(&state, &caller.account_id, api, req)?).into_response())
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => parse_list([s.as_str()]),
        _ => Vec::new(),
    }
}

fn max_results(body: &Value) -> JiraResult<Option<usize>> {
    match body.get("maxResults") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(|n| Some(n.max(0) as usize))
            .ok_or_else(|| JiraError::bad_request("maxResults must be a number")),
    }
}

pub async fn jql_post(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    let body = json_body(&headers, &body)?;
    let req = SearchRequest {
        jql: body
            .get("jql")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        next_page_token: body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_owned),
        max_results: max_results(&body)?,
        fields: body
            .get("fields")
            .filter(|f| !f.is_null())
            .map(|f| string_list(Some(f))),
        expand: string_list(body.get("expand")),
        properties: string_list(body.get("properties")),
    };
    let state = app.state();
    Ok(Json(run_enhanced(&state, &caller.account_id, api, req)?).into_response())
}

pub async fn approximate_count(
    State(app): State<App>,
    Extension(caller): Actor,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    let body = json_body(&headers, &body)?;
    let text = body.get("jql").and_then(Value::as_str).unwrap_or("");
    let state = app.state();
    let query = jql::compile(text, &state)?;
    if query.is_unbounded() {
        return Err(JiraError::bad_request(UNBOUNDED));
    }
    let count = matching(&state, &query, &caller.account_id).len();
    Ok(Json(json!({"count": count})).into_response())
}

fn gone() -> JiraError {
    JiraError::message(
        StatusCode::GONE,
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.",
    )
}

fn run_legacy(state: &Site, me: &str, api: ApiVersion, p: LegacyRequest) -> JiraResult<Value> {
    let query = jql::compile(&p.jql, state)?;
    let issues = matching(state, &query, me);
    let max = p.max_results.unwrap_or(50).min(1000);
    let view = IssueView {
        repr: Repr::for_api(api),
        fields: FieldSelection::parse(
            p.fields.iter().map(String::as_str),
            FieldSelection::navigable(),
        ),
        expand: p.expand,
        properties: p.properties,
    };
    let page: Vec<Value> = issues
        .iter()
        .skip(p.start_at)
        .take(max)
        .map(|i| state.issue_json(i, &view))
        .collect();
    Ok(json!({
        "expand": "names,schema",
        "startAt": p.start_at,
        "maxResults": max,
        "total": issues.len(),
        "issues": page,
    }))
}

struct LegacyRequest {
    jql: String,
    start_at: usize,
    max_results: Option<usize>,
    fields: Vec<String>,
    expand: Vec<String>,
    properties: Vec<String>,
}

pub async fn legacy(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let state = app.state();
    if !state.site.mode.is_data_center() {
        return Err(gone());
    }
    let p = Params::from_query(query.as_deref());
    let req = LegacyRequest {
        jql: p.get("jql").unwrap_or("").to_owned(),
        start_at: p.int("startAt")?.unwrap_or(0),
        max_results: p.int("maxResults")?,
        fields: parse_list(p.all("fields")),
        expand: parse_list(p.all("expand")),
        properties: parse_list(p.all("properties")),
    };
    Ok(Json(run_legacy(&state, &caller.account_id, api, req)?).into_response())
}

pub async fn legacy_post(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult<Response> {
    if !app.state().site.mode.is_data_center() {
        return Err(gone());
    }
    let body = json_body(&headers, &body)?;
    let req = LegacyRequest {
        jql: body
            .get("jql")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        start_at: body.get("startAt").and_then(Value::as_u64).unwrap_or(0) as usize,
        max_results: max_results(&body)?,
        fields: string_list(body.get("fields")),
        expand: string_list(body.get("expand")),
        properties: string_list(body.get("properties")),
    };
    let state = app.state();
    Ok(Json(run_legacy(&state, &caller.account_id, api, req)?).into_response())
}
