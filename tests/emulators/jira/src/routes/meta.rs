//! The site's catalogue: the caller, server info, projects, issue types, statuses,
//! priorities, resolutions and fields (including create metadata).

use axum::{
    Extension, Json,
    extract::{Path, RawQuery, State},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Actor, Api, App, Params};
use crate::{
    config::{CustomFieldKind, StatusCategory},
    error::{JiraError, JiraResult},
    repr::{Repr, SYSTEM_FIELDS},
    site::Project,
    state::State as Site,
};

pub async fn myself(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
) -> Response {
    let state = app.state();
    let mut me = state.user_json(&caller.account_id, Repr::for_api(api));
    me["locale"] = json!("en_US");
    me["groups"] = json!({"size": 1, "items": []});
    me["applicationRoles"] = json!({"size": 1, "items": []});
    Json(me).into_response()
}

pub async fn server_info(State(app): State<App>) -> Response {
    let state = app.state();
    let base = &state.site.base_url;
    let info = if state.site.mode.is_data_center() {
        json!({"baseUrl": base, "version": "9.12.0", "versionNumbers": [9, 12, 0],
               "deploymentType": "Server", "buildNumber": 912000, "serverTitle": "Jira"})
    } else {
        json!({"baseUrl": base, "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
               "deploymentType": "Cloud", "buildNumber": 100000, "serverTitle": "Jira"})
    };
    Json(info).into_response()
}

pub async fn user(
    State(app): State<App>,
    Extension(api): Api,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let p = Params::from_query(query.as_deref());
    let state = app.state();
    let account = p
        .get("accountId")
        .and_then(|id| state.account(id))
        .or_else(|| {
            p.get("username")
                .or_else(|| p.get("key"))
                .and_then(|n| state.accounts.iter().find(|a| a.name == n))
        })
        .ok_or_else(|| JiraError::not_found("The user does not exist."))?;
    Ok(Json(state.user_json(&account.account_id, Repr::for_api(api))).into_response())
}

fn project_or_404<'a>(state: &'a Site, key: &str) -> JiraResult<&'a Project> {
    state
        .site
        .project(key)
        .ok_or_else(|| JiraError::not_found(format!("No project could be found with key '{key}'.")))
}

pub async fn projects(State(app): State<App>, Extension(api): Api) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .site
        .projects
        .iter()
        .map(|p| state.project_json(p, Repr::for_api(api)))
        .collect();
    Json(list).into_response()
}

pub async fn project_search(
    State(app): State<App>,
    Extension(api): Api,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let p = Params::from_query(query.as_deref());
    let start = p.int("startAt")?.unwrap_or(0);
    let max = p.int("maxResults")?.unwrap_or(50).min(100);
    let state = app.state();
    let all = &state.site.projects;
    let values: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|p| state.project_json(p, Repr::for_api(api)))
        .collect();
    Ok(Json(json!({
        "startAt": start,
        "maxResults": max,
        "total": all.len(),
        "isLast": start + values.len() >= all.len(),
        "values": values,
    }))
    .into_response())
}

pub async fn project(
    State(app): State<App>,
    Extension(api): Api,
    Path(key): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let p = project_or_404(&state, &key)?;
    Ok(Json(state.project_json(p, Repr::for_api(api))).into_response())
}

pub async fn project_statuses(
    State(app): State<App>,
    Extension(api): Api,
    Path(key): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let repr = Repr::for_api(api);
    let p = project_or_404(&state, &key)?;
    let statuses: Vec<Value> = p
        .workflow
        .statuses
        .iter()
        .map(|s| state.status_json(s, repr))
        .collect();
    let list: Vec<Value> = p
        .issue_type_ids
        .iter()
        .filter_map(|id| state.site.issue_type(id))
        .map(|t| {
            json!({
                "self": format!("{}/rest/api/{}/issuetype/{}", state.site.base_url, api.number(), t.id),
                "id": t.id,
                "name": t.name,
                "subtask": t.subtask,
                "statuses": statuses,
            })
        })
        .collect();
    Ok(Json(list).into_response())
}

pub async fn issue_types(State(app): State<App>, Extension(api): Api) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .site
        .issue_types
        .iter()
        .map(|t| state.issue_type_json(t, Repr::for_api(api)))
        .collect();
    Json(list).into_response()
}

pub async fn issue_types_for_project(
    State(app): State<App>,
    Extension(api): Api,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let p = Params::from_query(query.as_deref());
    let state = app.state();
    let id = p
        .get("projectId")
        .ok_or_else(|| JiraError::bad_request("The projectId parameter is required."))?;
    let project = project_or_404(&state, id)?;
    let list: Vec<Value> = project
        .issue_type_ids
        .iter()
        .filter_map(|id| state.site.issue_type(id))
        .map(|t| state.issue_type_json(t, Repr::for_api(api)))
        .collect();
    Ok(Json(list).into_response())
}

pub async fn issue_type(
    State(app): State<App>,
    Extension(api): Api,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let t = state
        .site
        .issue_type(&id)
        .ok_or_else(|| JiraError::not_found("The issue type ID specified is not found."))?;
    Ok(Json(state.issue_type_json(t, Repr::for_api(api))).into_response())
}

fn paged(state: &Site, key: &str, values: Vec<Value>) -> Value {
    let total = values.len();
    // Cloud names the list after what it holds; Data Center calls it `values`.
    let list_key = if state.site.mode.is_data_center() {
        "values"
    } else {
        key
    };
    let mut v = json!({"maxResults": 50, "startAt": 0, "total": total});
    v[list_key] = Value::Array(values);
    if state.site.mode.is_data_center() {
        v["isLast"] = json!(true);
    }
    v
}

pub async fn createmeta_issue_types(
    State(app): State<App>,
    Extension(api): Api,
    Path(project): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let p = project_or_404(&state, &project)?;
    let types: Vec<Value> = p
        .issue_type_ids
        .iter()
        .filter_map(|id| state.site.issue_type(id))
        .map(|t| state.issue_type_json(t, Repr::for_api(api)))
        .collect();
    Ok(Json(paged(&state, "issueTypes", types)).into_response())
}

pub async fn createmeta_fields(
    State(app): State<App>,
    Extension(api): Api,
    Path((project, type_id)): Path<(String, String)>,
) -> JiraResult<Response> {
    let state = app.state();
    let p = project_or_404(&state, &project)?;
    if !p.issue_type_ids.contains(&type_id) {
        return Err(JiraError::not_found(
            "The issue type ID specified is not found.",
        ));
    }
    let repr = Repr::for_api(api);
    let mut fields = Vec::new();
    for (id, name) in SYSTEM_FIELDS {
        let required = matches!(*id, "summary" | "issuetype" | "project");
        let settable = matches!(
            *id,
            "summary"
                | "description"
                | "issuetype"
                | "project"
                | "priority"
                | "labels"
                | "assignee"
                | "reporter"
        );
        if !settable {
            continue;
        }
        let mut f = json!({
            "required": required,
            "schema": schema(id, &state),
            "name": name,
            "key": id,
            "fieldId": id,
            "hasDefaultValue": *id == "priority",
            "operations": if *id == "labels" { json!(["add", "set", "remove"]) } else { json!(["set"]) },
        });
        if *id == "priority" {
            f["allowedValues"] = Value::Array(
                state
                    .site
                    .priorities
                    .iter()
                    .map(|x| state.priority_json(x, repr))
                    .collect(),
            );
        }
        fields.push(f);
    }
    for cf in &state.site.custom_fields {
        fields.push(json!({
            "required": false,
            "schema": schema(&cf.id, &state),
            "name": cf.name,
            "key": cf.id,
            "fieldId": cf.id,
            "hasDefaultValue": false,
            "operations": if cf.kind == CustomFieldKind::Labels { json!(["add", "set", "remove"]) } else { json!(["set"]) },
        }));
    }
    Ok(Json(paged(&state, "fields", fields)).into_response())
}

pub async fn statuses(State(app): State<App>, Extension(api): Api) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .site
        .all_statuses()
        .into_iter()
        .map(|s| state.status_json(s, Repr::for_api(api)))
        .collect();
    Json(list).into_response()
}

pub async fn status_categories(State(app): State<App>, Extension(api): Api) -> Response {
    let state = app.state();
    let base = &state.site.base_url;
    let list: Vec<Value> = [
        StatusCategory::New,
        StatusCategory::Indeterminate,
        StatusCategory::Done,
    ]
    .into_iter()
    .map(|c| {
        json!({
            "self": format!("{base}/rest/api/{}/statuscategory/{}", api.number(), c.id()),
            "id": c.id(), "key": c.key(), "colorName": c.color(), "name": c.name(),
        })
    })
    .collect();
    Json(list).into_response()
}

pub async fn priorities(State(app): State<App>, Extension(api): Api) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .site
        .priorities
        .iter()
        .map(|p| {
            let mut v = state.priority_json(p, Repr::for_api(api));
            v["description"] = json!(p.description);
            v["statusColor"] = json!("#cccccc");
            v
        })
        .collect();
    Json(list).into_response()
}

pub async fn priority(
    State(app): State<App>,
    Extension(api): Api,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let p = state.site.priority(&id).ok_or_else(|| {
        JiraError::not_found(format!("The priority with ID '{id}' does not exist."))
    })?;
    Ok(Json(state.priority_json(p, Repr::for_api(api))).into_response())
}

pub async fn resolutions(State(app): State<App>, Extension(api): Api) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .site
        .resolutions
        .iter()
        .map(|r| state.resolution_json(r, Repr::for_api(api)))
        .collect();
    Json(list).into_response()
}

pub async fn resolution(
    State(app): State<App>,
    Extension(api): Api,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let r = state.site.resolution(&id).ok_or_else(|| {
        JiraError::not_found(format!("The resolution with ID '{id}' does not exist."))
    })?;
    Ok(Json(state.resolution_json(r, Repr::for_api(api))).into_response())
}

fn schema(id: &str, state: &Site) -> Value {
    if let Some(cf) = state.site.custom_field(id) {
        let number: u64 = id.trim_start_matches("customfield_").parse().unwrap_or(0);
        let (kind, custom, items) = match cf.kind {
            CustomFieldKind::String => ("string", "textfield", None),
            CustomFieldKind::Textarea => ("string", "textarea", None),
            CustomFieldKind::Number => ("number", "float", None),
            CustomFieldKind::Url => ("string", "url", None),
            CustomFieldKind::Labels => ("array", "labels", Some("string")),
            CustomFieldKind::Any => ("any", "textfield", None),
        };
        let mut s = json!({
            "type": kind,
            "custom": format!("com.atlassian.jira.plugin.system.customfieldtypes:{custom}"),
            "customId": number,
        });
        if let Some(items) = items {
            s["items"] = json!(items);
        }
        return s;
    }
    match id {
        "labels" => json!({"type": "array", "items": "string", "system": id}),
        "attachment" => json!({"type": "array", "items": "attachment", "system": id}),
        "comment" => json!({"type": "comments-page", "system": id}),
        "created" | "updated" | "resolutiondate" => json!({"type": "datetime", "system": id}),
        "assignee" | "reporter" | "creator" => json!({"type": "user", "system": id}),
        "summary" | "description" => json!({"type": "string", "system": id}),
        other => json!({"type": other, "system": other}),
    }
}

pub async fn fields(State(app): State<App>) -> Response {
    let state = app.state();
    let mut list: Vec<Value> = SYSTEM_FIELDS
        .iter()
        .map(|(id, name)| {
            json!({
                "id": id, "key": id, "name": name, "custom": false, "orderable": true,
                "navigable": *id != "comment", "searchable": true,
                "clauseNames": [id], "schema": schema(id, &state),
            })
        })
        .collect();
    for cf in &state.site.custom_fields {
        let number = cf.id.trim_start_matches("customfield_");
        list.push(json!({
            "id": cf.id, "key": cf.id, "name": cf.name, "custom": true, "orderable": true,
            "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{number}]"), cf.name],
            "schema": schema(&cf.id, &state),
        }));
    }
    Json(list).into_response()
}
