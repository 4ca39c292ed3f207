use jira_emulator::EmulatorConfig;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn issue_properties_create_replace_read_and_delete() {
    let (jira, client) = start().await;
    let key = client.create("props", &[]).await;
    let path = format!("/rest/api/3/issue/{key}/properties/sir.sync");
    assert_eq!(client.get(&path).await.status, 404);
    assert_eq!(client.put(&path, json!({"caseId": "1"})).await.status, 201);
    assert_eq!(client.put(&path, json!({"caseId": "2"})).await.status, 200);
    let got = client.get(&path).await;
    assert_eq!(
        got.body,
        json!({"key": "sir.sync", "value": {"caseId": "2"}})
    );
    assert_eq!(
        jira.issue_property(&key, "sir.sync"),
        Some(json!({"caseId": "2"}))
    );
    let keys = client
        .get(&format!("/rest/api/3/issue/{key}/properties"))
        .await;
    assert_eq!(keys.body["keys"][0]["key"], "sir.sync");
    let with = client
        .get(&format!(
            "/rest/api/3/issue/{key}?fields=summary&properties=sir.sync"
        ))
        .await;
    assert_eq!(with.body["properties"]["sir.sync"]["caseId"], "2");
    let huge = client.put(&path, json!("x".repeat(40_000))).await;
    assert_eq!(huge.status, 400);
    assert_eq!(client.delete(&path).await.status, 204);
    assert_eq!(client.delete(&path).await.status, 404);
    assert_eq!(
        client
            .put("/rest/api/3/issue/SEC-99/properties/x", json!(1))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn comment_properties() {
    let (jira, client) = start().await;
    let key = client.create("props", &[]).await;
    let c = client
        .post(
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": adf("mirrored")}),
        )
        .await;
    let id = c.body["id"].as_str().unwrap();
    let path = format!("/rest/api/3/comment/{id}/properties/sir.comment");
    assert_eq!(
        client
            .put(&path, json!({"sirCommentId": "c-1"}))
            .await
            .status,
        201
    );
    assert_eq!(client.get(&path).await.body["value"]["sirCommentId"], "c-1");
    assert_eq!(
        jira.comment_property(id, "sir.comment"),
        Some(json!({"sirCommentId": "c-1"}))
    );
    assert_eq!(
        client
            .get(&format!("/rest/api/3/comment/{id}/properties"))
            .await
            .body["keys"][0]["key"],
        "sir.comment"
    );
    assert_eq!(client.delete(&path).await.status, 204);
    assert_eq!(
        client
            .get("/rest/api/3/comment/424242/properties/x")
            .await
            .status,
        404
    );
}

/// A create carries its properties (Cloud v3 and Data Center v2 alike); a malformed one refuses
/// the whole create, so no issue exists without them.
#[tokio::test]
async fn a_create_sets_its_properties_or_creates_nothing() {
    for (config, api) in [
        (EmulatorConfig::default(), 3),
        (EmulatorConfig::data_center(), 2),
    ] {
        let (jira, client) = start_with(config).await;
        let create = |properties: Value| {
            let description = match api {
                3 => adf("with properties"),
                _ => json!("with properties"),
            };
            json!({
                "fields": {
                    "project": {"key": "SEC"},
                    "issuetype": {"name": "Task"},
                    "summary": "tagged at birth",
                    "description": description,
                },
                "properties": properties,
            })
        };
        let path = format!("/rest/api/{api}/issue");
        let r = client
            .post(
                &path,
                create(json!([
                    {"key": "sir", "value": {"caseId": "1234567890"}},
                    {"key": "flag", "value": true},
                ])),
            )
            .await;
        assert_eq!(r.status, 201, "v{api}: {}", r.body);
        let key = r.body["key"].as_str().unwrap();
        assert_eq!(
            jira.issue_property(key, "sir"),
            Some(json!({"caseId": "1234567890"}))
        );
        assert_eq!(jira.issue_property(key, "flag"), Some(json!(true)));
        let read = client
            .get(&format!("/rest/api/{api}/issue/{key}/properties/sir"))
            .await;
        assert_eq!(read.body["value"]["caseId"], "1234567890");

        let refused = [
            json!({"key": "sir", "value": 1}),
            json!([{"key": "", "value": 1}]),
            json!([{"key": "k".repeat(256), "value": 1}]),
            json!([{"value": 1}]),
            json!([{"key": "sir"}]),
            json!([{"key": "sir", "value": "x".repeat(40_000)}]),
            json!([{"key": "ok", "value": 1}, {"key": "big", "value": "x".repeat(40_000)}]),
        ];
        let before = jira.issues().len();
        for (i, properties) in refused.into_iter().enumerate() {
            let r = client.post(&path, create(properties)).await;
            assert_eq!(r.status, 400, "v{api}, refusal #{i}: {}", r.body);
        }
        assert_eq!(
            jira.issues().len(),
            before,
            "v{api}: a refusal creates nothing"
        );
        // At the limits: accepted.
        let at_limit = json!([{"key": "k".repeat(255), "value": "x".repeat(32_766)}]);
        let r = client.post(&path, create(at_limit)).await;
        assert_eq!(r.status, 201, "v{api}: {}", r.body);
    }
}
