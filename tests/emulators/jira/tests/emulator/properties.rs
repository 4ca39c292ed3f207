use serde_json::json;

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
