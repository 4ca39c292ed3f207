use jira_emulator::{
    EmulatorConfig, StatusCategory, StatusConfig, TransitionConfig, WorkflowConfig,
};
use serde_json::json;

use crate::helpers::*;

async fn available(client: &Client, key: &str) -> Vec<String> {
    let r = client
        .get(&format!("/rest/api/3/issue/{key}/transitions"))
        .await;
    assert_eq!(r.status, 200);
    r.body["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}>{}",
                t["id"].as_str().unwrap(),
                t["to"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

async fn go(client: &Client, key: &str, id: &str) -> Resp {
    client
        .post(
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": id}}),
        )
        .await
}

#[tokio::test]
async fn done_takes_three_steps_and_impossible_transitions_fail() {
    let (jira, client) = start().await;
    let key = client.create("walk", &[]).await;
    assert_eq!(available(&client, &key).await, ["11>In Progress"]);

    let skip = go(&client, &key, "31").await;
    assert_eq!(skip.status, 400);
    assert_eq!(
        skip.body["errorMessages"][0],
        "Transition id '31' is not valid for this issue."
    );
    assert_eq!(go(&client, &key, "999").await.status, 400);
    assert_eq!(jira.status_of(&key).unwrap(), "To Do");

    assert_eq!(go(&client, &key, "11").await.status, 204);
    assert_eq!(available(&client, &key).await, ["21>In Review", "41>To Do"]);
    assert_eq!(go(&client, &key, "21").await.status, 204);
    assert_eq!(go(&client, &key, "31").await.status, 204);
    assert_eq!(jira.status_of(&key).unwrap(), "Done");
    assert_eq!(
        jira.resolution_of(&key).as_deref(),
        Some("Done"),
        "the Done transition's post function"
    );
    let path: Vec<String> = jira
        .status_history(&key)
        .into_iter()
        .map(|c| c.to)
        .collect();
    assert_eq!(path, ["To Do", "In Progress", "In Review", "Done"]);

    let issue = client
        .get(&format!(
            "/rest/api/3/issue/{key}?fields=status,resolution,resolutiondate"
        ))
        .await;
    assert_eq!(
        issue.body["fields"]["status"]["statusCategory"]["key"],
        "done"
    );
    assert_eq!(issue.body["fields"]["resolution"]["name"], "Done");
    assert!(issue.body["fields"]["resolutiondate"].is_string());

    // Reopening clears the resolution.
    assert_eq!(go(&client, &key, "61").await.status, 204);
    assert_eq!(jira.resolution_of(&key), None);
}

#[tokio::test]
async fn resolution_can_be_set_on_the_done_transition_only() {
    let (jira, client) = start().await;
    let key = client.create("resolve", &[]).await;
    let with_resolution = client
        .post(
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": "11"}, "fields": {"resolution": {"name": "Won't Do"}}}),
        )
        .await;
    assert_eq!(
        with_resolution.status, 400,
        "not on the Start Progress screen"
    );
    go(&client, &key, "11").await;
    go(&client, &key, "21").await;
    let fields = client
        .get(&format!(
            "/rest/api/3/issue/{key}/transitions?expand=transitions.fields"
        ))
        .await;
    let done = fields.body["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "31")
        .unwrap()
        .clone();
    assert_eq!(done["hasScreen"], true);
    assert!(
        done["fields"]["resolution"]["allowedValues"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );
    let r = client
        .post(
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": 31}, "fields": {"resolution": {"name": "Won't Do"}},
                     "update": {"comment": [{"add": {"body": adf("closing")}}]}}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(jira.resolution_of(&key).as_deref(), Some("Won't Do"));
    assert_eq!(jira.comments(&key).len(), 1, "the transition's comment");
    let bad = client
        .post(
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": "x"}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let missing = client
        .post(&format!("/rest/api/3/issue/{key}/transitions"), json!({}))
        .await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn a_configured_workflow_replaces_the_default() {
    let workflow = WorkflowConfig {
        initial: "Open".into(),
        statuses: vec![
            StatusConfig {
                id: "1".into(),
                name: "Open".into(),
                category: StatusCategory::New,
            },
            StatusConfig {
                id: "2".into(),
                name: "Triage".into(),
                category: StatusCategory::Indeterminate,
            },
            StatusConfig {
                id: "3".into(),
                name: "Closed".into(),
                category: StatusCategory::Done,
            },
        ],
        transitions: vec![
            TransitionConfig {
                id: "5".into(),
                name: "Triage".into(),
                from: vec!["Open".into()],
                to: "Triage".into(),
                screen_fields: None,
                resolution: None,
                event: None,
            },
            TransitionConfig {
                id: "7".into(),
                name: "Close".into(),
                from: vec![],
                to: "Closed".into(),
                screen_fields: None,
                resolution: Some("Duplicate".into()),
                event: Some("issue_closed".into()),
            },
        ],
    };
    let (jira, client) = start_with(EmulatorConfig::default().with_workflow(workflow)).await;
    let key = client.create("custom", &[]).await;
    assert_eq!(jira.status_of(&key).unwrap(), "Open");
    assert_eq!(
        available(&client, &key).await,
        ["5>Triage", "7>Closed"],
        "7 is global"
    );
    assert_eq!(go(&client, &key, "7").await.status, 204);
    assert_eq!(jira.resolution_of(&key).as_deref(), Some("Duplicate"));
    assert!(
        available(&client, &key).await.is_empty(),
        "nothing leaves Closed"
    );
    assert!(
        jira.as_human().move_to(&key, "Open").is_err(),
        "unreachable"
    );
}

#[tokio::test]
async fn a_human_walks_the_shortest_path() {
    let (jira, client) = start().await;
    let key = client.create("human", &[]).await;
    let steps = jira.as_human().move_to(&key, "Done").unwrap();
    assert_eq!(steps, ["11", "21", "31"]);
    let authors: Vec<String> = jira
        .status_history(&key)
        .into_iter()
        .skip(1)
        .map(|c| c.author)
        .collect();
    assert!(
        authors
            .iter()
            .all(|a| *a == jira.human_account().account_id)
    );
    assert_eq!(
        jira.requests().write_count(),
        1,
        "only the test's create went through the API"
    );
}

#[tokio::test]
async fn administrators_read_the_project_workflow_with_its_transitions() {
    let (jira, client) = start().await;
    let schemes = client
        .get("/rest/api/3/workflowscheme/project?projectId=10000")
        .await;
    assert_eq!(schemes.status, 200);
    let scheme = &schemes.body["values"][0];
    assert_eq!(scheme["projectIds"], json!(["10000"]));
    let name = scheme["workflowScheme"]["defaultWorkflow"]
        .as_str()
        .unwrap();

    let found = client
        .get(&format!(
            "/rest/api/3/workflow/search?workflowName={name}&expand=transitions,statuses"
        ))
        .await;
    assert_eq!(found.status, 200);
    let wf = &found.body["values"][0];
    assert_eq!(wf["id"]["name"], name);
    let transitions = wf["transitions"].as_array().unwrap();
    let create = &transitions[0];
    assert_eq!(create["type"], "initial");
    assert_eq!(create["from"], json!([]));
    let to_do = wf["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "To Do")
        .unwrap();
    assert_eq!(create["to"], to_do["id"]);
    assert!(
        transitions
            .iter()
            .skip(1)
            .all(|t| t["type"] == "directed" || t["type"] == "global")
    );
    // Without expand, neither list is returned.
    let bare = client
        .get(&format!("/rest/api/3/workflow/search?workflowName={name}"))
        .await;
    assert!(bare.body["values"][0].get("transitions").is_none());

    let human = client.with_auth(Some(jira.auth_header_for(&jira.human_account().account_id)));
    assert_eq!(
        human
            .get("/rest/api/3/workflowscheme/project?projectId=10000")
            .await
            .status,
        403
    );
    assert_eq!(human.get("/rest/api/3/workflow/search").await.status, 403);
}

#[tokio::test]
async fn data_center_has_no_workflow_search() {
    let (_jira, client) = start_with(EmulatorConfig::data_center()).await;
    let r = client.get("/rest/api/2/workflow/search").await;
    assert_eq!(r.status, 404);
}
