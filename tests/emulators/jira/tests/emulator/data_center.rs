use jira_emulator::EmulatorConfig;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn data_center_speaks_v2_with_wiki_text_and_classic_search() {
    let (jira, client) = start_with(EmulatorConfig::data_center()).await;
    assert_eq!(
        client.get("/rest/api/3/myself").await.status,
        404,
        "no v3 on Data Center"
    );
    let me = client.get("/rest/api/2/myself").await;
    assert_eq!(me.body["name"], "sir-bridge");
    assert!(
        me.body.get("accountId").is_none(),
        "DC users have names and keys, not account ids"
    );

    let r = client
        .post("/rest/api/2/issue", json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"},
                                                  "summary": "dc", "description": "h1. Title\nbody", "labels": ["x"]}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.body["key"].as_str().unwrap().to_owned();
    let c = client
        .post(
            &format!("/rest/api/2/issue/{key}/comment"),
            json!({"body": "wiki *comment*"}),
        )
        .await;
    assert_eq!(c.status, 201);
    assert_eq!(c.body["body"], "wiki *comment*");
    assert_eq!(c.body["author"]["name"], "sir-bridge");
    let adf_comment = client
        .post(
            &format!("/rest/api/2/issue/{key}/comment"),
            json!({"body": adf("x")}),
        )
        .await;
    assert_eq!(adf_comment.status, 400);

    let search = client
        .get("/rest/api/2/search?jql=project%20%3D%20SEC&startAt=0&maxResults=10")
        .await;
    assert_eq!(search.status, 200);
    assert_eq!(search.body["total"], 1);
    assert_eq!(search.body["issues"][0]["fields"]["summary"], "dc");
    assert_eq!(
        client
            .get("/rest/api/2/search/jql?jql=project%3DSEC")
            .await
            .status,
        404
    );
    assert_eq!(client.get("/rest/api/latest/myself").await.status, 200);

    let transitions = client
        .get(&format!("/rest/api/2/issue/{key}/transitions"))
        .await;
    assert_eq!(transitions.body["transitions"][0]["id"], "11");
    let assign = client
        .put(
            &format!("/rest/api/2/issue/{key}"),
            json!({"fields": {"assignee": {"name": "dana"}}}),
        )
        .await;
    assert_eq!(assign.status, 204, "{}", assign.body);
    assert_eq!(
        jira.issue(&key).unwrap().assignee.as_deref(),
        Some(jira.human_account().account_id.as_str())
    );
    assert_eq!(
        client.get("/rest/api/2/serverInfo").await.body["deploymentType"],
        "Server"
    );
}
