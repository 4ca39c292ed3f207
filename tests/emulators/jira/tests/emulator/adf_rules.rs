use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_plain_string_description_on_v3_is_jiras_400() {
    let (jira, client) = start().await;
    let r = client
        .post(
            "/rest/api/3/issue",
            json!({"fields": {
            "project": {"key": "SEC"}, "issuetype": {"name": "Task"},
            "summary": "s", "description": "plain text"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"errorMessages": [], "errors": {
        "description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"}})
    );
    assert!(jira.issues().is_empty(), "nothing was created");
}

#[tokio::test]
async fn broken_documents_are_refused() {
    let (_jira, client) = start().await;
    let key = client.create("adf", &[]).await;
    for bad in [
        json!({"type": "doc", "content": []}),
        json!({"type": "doc", "version": 1, "content": [{"type": "unicorn"}]}),
        json!({"type": "doc", "version": 1, "content": [{"type": "text", "text": "inline at the top"}]}),
        json!({"type": "doc", "version": 1, "content": [{"type": "heading", "content": []}]}),
    ] {
        let r = client
            .put(
                &format!("/rest/api/3/issue/{key}"),
                json!({"fields": {"description": bad}}),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body["errors"]["description"].is_string());
    }
}

#[tokio::test]
async fn a_string_comment_body_on_v3_is_refused() {
    let (jira, client) = start().await;
    let key = client.create("comments", &[]).await;
    let r = client
        .post(
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": "plain"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"]["comment"], "Comment body is not valid!");
    assert!(jira.comments(&key).is_empty());
}

#[tokio::test]
async fn v2_takes_wiki_strings_and_v3_reads_them_as_documents() {
    let (_jira, client) = start().await;
    let r = client
        .post(
            "/rest/api/2/issue",
            json!({"fields": {
            "project": {"key": "SEC"}, "issuetype": {"id": "10001"},
            "summary": "wiki", "description": "first line\n\nh2. Details\n* a\n* b"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.body["key"].as_str().unwrap();
    let v3 = client
        .get(&format!("/rest/api/3/issue/{key}?fields=description"))
        .await;
    let doc = &v3.body["fields"]["description"];
    assert_eq!(doc["type"], "doc");
    assert_eq!(doc["content"][1]["type"], "heading");
    assert_eq!(doc["content"][2]["type"], "bulletList");
    let v2 = client
        .get(&format!("/rest/api/2/issue/{key}?fields=description"))
        .await;
    assert_eq!(
        v2.body["fields"]["description"], "first line\n\nh2. Details\n* a\n* b",
        "v2 reads back what v2 wrote"
    );
    let adf_on_v2 = client
        .put(
            &format!("/rest/api/2/issue/{key}"),
            json!({"fields": {"description": adf("x")}}),
        )
        .await;
    assert_eq!(adf_on_v2.status, 400, "v2 wants strings");
}
