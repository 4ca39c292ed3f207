use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn create_answers_201_with_numeric_string_id_and_sequential_keys() {
    let (jira, client) = start().await;
    let r = client
        .post(
            "/rest/api/3/issue",
            json!({"fields": {
            "project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "first",
            "description": adf("d"), "labels": ["security-ir", "aws-sir-1"],
            "priority": {"name": "High"}, "customfield_10050": "arn:aws:security-ir:1"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["key"], "SEC-1");
    let id = r.body["id"].as_str().unwrap();
    assert!(id.parse::<u64>().is_ok());
    assert_eq!(
        r.body["self"],
        format!("{}/rest/api/3/issue/{id}", jira.base_url())
    );
    assert_eq!(client.create("second", &[]).await, "SEC-2");

    let issue = jira.issue("SEC-1").unwrap();
    assert_eq!(issue.labels, ["security-ir", "aws-sir-1"]);
    assert_eq!(
        issue.custom_fields["customfield_10050"],
        "arn:aws:security-ir:1"
    );
    assert_eq!(jira.status_of("SEC-1").unwrap(), "To Do");
    assert_eq!(
        jira.issue(id).unwrap().key,
        "SEC-1",
        "ids address issues too"
    );
}

#[tokio::test]
async fn create_reports_every_field_problem_at_once() {
    let (_jira, client) = start().await;
    let r = client
        .post("/rest/api/3/issue", json!({"fields": {
            "project": {"key": "NOPE"}, "summary": "", "customfield_99999": "x", "status": {"name": "Done"}}}))
        .await;
    assert_eq!(r.status, 400);
    let errors = r.body["errors"].as_object().unwrap();
    assert!(errors.contains_key("project"));
    assert!(errors.contains_key("issuetype"));
    assert_eq!(
        errors["summary"],
        "You must specify a summary of the issue."
    );
    assert_eq!(
        errors["customfield_99999"],
        "Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or unknown."
    );
    assert!(errors.contains_key("status"));
    let wrong_type = client
        .post(
            "/rest/api/3/issue",
            json!({"fields": {
            "project": {"key": "SEC"}, "issuetype": {"name": "Epic"}, "summary": "x"}}),
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    assert!(wrong_type.body["errors"]["issuetype"].is_string());
}

#[tokio::test]
async fn get_honours_fields_and_expand() {
    let (_jira, client) = start().await;
    let key = client.create("read me", &["a"]).await;
    let r = client
        .get(&format!(
            "/rest/api/3/issue/{key}?fields=summary,status&expand=names,transitions,changelog"
        ))
        .await;
    assert_eq!(r.status, 200);
    let fields = r.body["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields["status"]["name"], "To Do");
    assert_eq!(fields["status"]["statusCategory"]["key"], "new");
    assert_eq!(r.body["names"]["summary"], "Summary");
    assert_eq!(r.body["transitions"][0]["id"], "11");
    assert_eq!(r.body["changelog"]["total"], 0);

    let all = client.get(&format!("/rest/api/3/issue/{key}")).await;
    let f = &all.body["fields"];
    for name in [
        "summary",
        "description",
        "labels",
        "priority",
        "status",
        "issuetype",
        "project",
        "comment",
        "attachment",
        "customfield_10050",
        "reporter",
    ] {
        assert!(f.get(name).is_some(), "{name} missing from *all");
    }
    assert_eq!(f["project"]["key"], "SEC");
    let excluded = client
        .get(&format!("/rest/api/3/issue/{key}?fields=*all,-comment"))
        .await;
    assert!(excluded.body["fields"].get("comment").is_none());
    assert_eq!(client.get("/rest/api/3/issue/SEC-999").await.status, 404);
    assert_eq!(
        client.get("/rest/api/3/issue/sec-1").await.status,
        200,
        "keys are case-insensitive"
    );
}

#[tokio::test]
async fn edit_sets_fields_and_label_operations() {
    let (jira, client) = start().await;
    let key = client.create("before", &["keep", "drop"]).await;
    let r = client
        .put(
            &format!("/rest/api/3/issue/{key}"),
            json!({
            "fields": {"summary": "after", "customfield_10050": "arn:2"},
            "update": {"labels": [{"add": "new"}, {"remove": "drop"}]}}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let issue = jira.issue(&key).unwrap();
    assert_eq!(issue.summary, "after");
    assert_eq!(issue.labels, ["keep", "new"]);
    let set = client
        .put(
            &format!("/rest/api/3/issue/{key}"),
            json!({"update": {"labels": [{"set": ["only"]}]}}),
        )
        .await;
    assert_eq!(set.status, 204);
    assert_eq!(jira.issue(&key).unwrap().labels, ["only"]);

    let history = client
        .get(&format!("/rest/api/3/issue/{key}/changelog"))
        .await;
    let mut items: Vec<String> = history.body["values"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["field"].as_str().unwrap().to_owned())
        })
        .collect();
    items.sort();
    assert_eq!(items, ["Case ARN", "labels", "labels", "summary"]);

    let returned = client
        .put(
            &format!("/rest/api/3/issue/{key}?returnIssue=true"),
            json!({"fields": {"summary": "again"}}),
        )
        .await;
    assert_eq!(returned.status, 200);
    assert_eq!(returned.body["fields"]["summary"], "again");
}

#[tokio::test]
async fn status_and_resolution_cannot_be_set_by_editing() {
    let (jira, client) = start().await;
    let key = client.create("s", &[]).await;
    let r = client
        .put(
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"status": {"name": "Done"}}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["errors"]["status"],
        "Field 'status' cannot be set. It is not on the appropriate screen, or unknown."
    );
    let r = client
        .put(
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"resolution": {"name": "Done"}}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(jira.status_of(&key).unwrap(), "To Do");
    let both = client
        .put(
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"labels": ["a"]}, "update": {"labels": [{"add": "b"}]}}),
        )
        .await;
    assert_eq!(both.status, 400);
    let spaces = client
        .put(
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"labels": ["has space"]}}),
        )
        .await;
    assert_eq!(spaces.status, 400);
    let bad_json = client
        .http
        .put(format!("{}/rest/api/3/issue/{key}", client.base))
        .header("authorization", client.auth.clone().unwrap())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
}

#[tokio::test]
async fn delete_removes_the_issue_and_its_comments() {
    let (jira, client) = start().await;
    let key = client.create("gone", &[]).await;
    client
        .post(
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": adf("c")}),
        )
        .await;
    assert_eq!(
        client
            .delete(&format!("/rest/api/3/issue/{key}"))
            .await
            .status,
        204
    );
    assert!(jira.issue(&key).is_none());
    assert_eq!(
        client.get(&format!("/rest/api/3/issue/{key}")).await.status,
        404
    );
    assert_eq!(
        client
            .delete(&format!("/rest/api/3/issue/{key}"))
            .await
            .status,
        404
    );
    assert_eq!(
        client.create("next", &[]).await,
        "SEC-2",
        "keys are never reused"
    );
}

#[tokio::test]
async fn catalogue_endpoints_describe_the_site() {
    let (_jira, client) = start().await;
    let project = client.get("/rest/api/3/project/SEC").await;
    assert_eq!(project.status, 200);
    assert_eq!(project.body["key"], "SEC");
    assert!(
        project.body["issueTypes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "Task")
    );
    assert_eq!(client.get("/rest/api/3/project/NOPE").await.status, 404);
    let statuses = client.get("/rest/api/3/project/SEC/statuses").await;
    let names: Vec<&str> = statuses.body[0]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["To Do", "In Progress", "In Review", "Done"]);
    let resolutions = client.get("/rest/api/3/resolution").await;
    assert!(
        resolutions
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "Won't Do")
    );
    let priorities = client.get("/rest/api/3/priority").await;
    assert_eq!(priorities.body.as_array().unwrap().len(), 5);
    let types = client
        .get("/rest/api/3/issue/createmeta/SEC/issuetypes")
        .await;
    assert!(types.body["issueTypes"].as_array().unwrap().len() >= 2);
    let fields = client.get("/rest/api/3/field").await;
    assert!(
        fields
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "customfield_10050" && f["custom"] == true)
    );
    let info = client.get("/rest/api/3/serverInfo").await;
    assert_eq!(info.body["deploymentType"], "Cloud");
}
