//! Workflow administration as Jira Cloud exposes it: which workflow a project's issue types use
//! (`GET /workflowscheme/project?projectId=`) and a workflow's statuses and transitions
//! (`GET /workflow/search?workflowName=&expand=transitions,statuses`). Administrators only, as
//! in Jira ("Administer Jira" global permission); Data Center has neither route.

use axum::{
    Extension, Json,
    extract::{RawQuery, State},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Actor, Api, App, Params};
use crate::error::{JiraError, JiraResult};

fn require_admin(caller: &crate::auth::Caller) -> JiraResult<()> {
    if caller.admin {
        Ok(())
    } else {
        Err(JiraError::forbidden(
            "You are not authorized to perform this action. Administrator privileges are required.",
        ))
    }
}

fn page(values: Vec<Value>) -> Value {
    json!({
        "maxResults": 50,
        "startAt": 0,
        "total": values.len(),
        "isLast": true,
        "values": values,
    })
}

pub async fn schemes_for_project(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    require_admin(&caller)?;
    let p = Params::from_query(query.as_deref());
    let ids = p.all("projectId");
    if ids.is_empty() {
        return Err(JiraError::bad_request("projectId is required."));
    }
    let state = app.state();
    let base = &state.site.base_url;
    // Each project has a scheme of its own here: its one workflow for every issue type.
    let values = ids
        .iter()
        .filter_map(|id| state.site.projects.iter().find(|p| p.id == *id))
        .map(|p| {
            json!({
                "projectIds": [p.id],
                "workflowScheme": {
                    "id": 10000 + p.id.parse::<u64>().unwrap_or(0),
                    "name": format!("{}: Workflow Scheme", p.key),
                    "description": "",
                    "defaultWorkflow": p.workflow_name,
                    "issueTypeMappings": {},
                    "self": format!("{base}/rest/api/{}/workflowscheme/{}", api.number(), 10000 + p.id.parse::<u64>().unwrap_or(0)),
                },
            })
        })
        .collect();
    Ok(Json(page(values)).into_response())
}

pub async fn search(
    State(app): State<App>,
    Extension(caller): Actor,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    require_admin(&caller)?;
    let p = Params::from_query(query.as_deref());
    let names = p.all("workflowName");
    let expand: Vec<&str> = p
        .all("expand")
        .into_iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .collect();
    let state = app.state();
    let mut seen = Vec::new();
    let mut values = Vec::new();
    for project in &state.site.projects {
        let name = &project.workflow_name;
        if seen.contains(name) || (!names.is_empty() && !names.contains(&name.as_str())) {
            continue;
        }
        seen.push(name.clone());
        let wf = &project.workflow;
        let mut v = json!({
            "id": {"name": name, "entityId": format!("wf-{name}")},
            "description": "",
        });
        if expand.contains(&"transitions") {
            let mut transitions = vec![json!({
                "id": "1", "name": "Create", "description": "",
                "from": [], "to": wf.initial, "type": "initial",
            })];
            transitions.extend(wf.transitions.iter().map(|t| {
                json!({
                    "id": t.id, "name": t.name, "description": "",
                    "from": t.from, "to": t.to,
                    "type": if t.is_global() { "global" } else { "directed" },
                })
            }));
            v["transitions"] = Value::Array(transitions);
        }
        if expand.contains(&"statuses") {
            v["statuses"] = wf
                .statuses
                .iter()
                .map(|s| json!({"id": s.id, "name": s.name}))
                .collect();
        }
        values.push(v);
    }
    Ok(Json(page(values)).into_response())
}
