use jira_emulator::{EmulatorConfig, auth::basic_header};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_in_jira_shape() {
    let (jira, client) = start().await;
    let anonymous = client.with_auth(None).get("/rest/api/3/myself").await;
    assert_eq!(anonymous.status, 401);
    assert!(
        anonymous.body["errorMessages"][0]
            .as_str()
            .unwrap()
            .contains("not authenticated")
    );
    assert!(anonymous.body["errors"].is_object());

    let account = jira.integration_account();
    let wrong = client
        .with_auth(Some(basic_header(&account.email, "not-the-token")))
        .get("/rest/api/3/myself")
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.header("x-seraph-loginreason"),
        Some("AUTHENTICATED_FAILED")
    );

    let garbage = client
        .with_auth(Some("Basic !!!".into()))
        .get("/rest/api/3/myself")
        .await;
    assert_eq!(garbage.status, 401);

    let me = client.get("/rest/api/3/myself").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["accountId"], json!(account.account_id));
    assert_eq!(me.body["emailAddress"], json!(account.email));
}

#[tokio::test]
async fn cloud_refuses_bearer_tokens() {
    let (jira, client) = start().await;
    let pat = jira.integration_account().pat.unwrap();
    let r = client
        .with_auth(Some(format!("Bearer {pat}")))
        .get("/rest/api/3/myself")
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_rotated_token_or_deactivated_account_gets_401() {
    let (jira, client) = start().await;
    let id = jira.integration_account().account_id;
    assert_eq!(client.get("/rest/api/3/myself").await.status, 200);
    jira.set_api_token(&id, Some("rotated"));
    assert_eq!(
        client.get("/rest/api/3/myself").await.status,
        401,
        "old token expired"
    );
    let fresh = client.with_auth(Some(jira.auth_header()));
    assert_eq!(fresh.get("/rest/api/3/myself").await.status, 200);
    jira.set_account_active(&id, false);
    assert_eq!(fresh.get("/rest/api/3/myself").await.status, 401);
}

#[tokio::test]
async fn webhook_registration_needs_an_administrator() {
    let (jira, client) = start().await;
    let human = client.with_auth(Some(jira.auth_header_for(&jira.human_account().account_id)));
    let body = json!({"name": "bridge", "url": "http://127.0.0.1:1/hook", "events": ["jira:issue_created"],
                      "filters": {"issue-related-events-section": "project = SEC"}, "excludeBody": false});
    let refused = human.post("/rest/webhooks/1.0/webhook", body.clone()).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body["errorMessages"].is_array());
    assert_eq!(human.get("/rest/webhooks/1.0/webhook").await.status, 403);

    let created = client.post("/rest/webhooks/1.0/webhook", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let self_url = created.body["self"].as_str().unwrap().to_owned();
    let id = self_url.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        created.body["filters"]["issue-related-events-section"],
        "project = SEC"
    );

    let list = client.get("/rest/webhooks/1.0/webhook").await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    let updated = client
        .put(&format!("/rest/webhooks/1.0/webhook/{id}"),
             json!({"name": "bridge2", "url": "http://127.0.0.1:2/hook", "events": ["comment_created"]}))
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(
        client
            .get(&format!("/rest/webhooks/1.0/webhook/{id}"))
            .await
            .body["name"],
        "bridge2"
    );
    let bad_jql = client
        .post("/rest/webhooks/1.0/webhook",
              json!({"name": "x", "url": "http://127.0.0.1:1/", "filters": {"issue-related-events-section": "project = NOPE"}}))
        .await;
    assert_eq!(bad_jql.status, 400);
    assert_eq!(
        client
            .delete(&format!("/rest/webhooks/1.0/webhook/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        client
            .delete(&format!("/rest/webhooks/1.0/webhook/{id}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn data_center_takes_bearer_pats_only() {
    let (jira, client) = start_with(EmulatorConfig::data_center()).await;
    assert!(jira.auth_header().starts_with("Bearer "));
    assert_eq!(client.get("/rest/api/2/myself").await.status, 200);
    let account = jira.integration_account();
    let basic = client
        .with_auth(Some(basic_header(
            &account.email,
            account.api_token.as_deref().unwrap(),
        )))
        .get("/rest/api/2/myself")
        .await;
    assert_eq!(basic.status, 401);
    assert_eq!(
        client
            .with_auth(Some("Bearer nope".into()))
            .get("/rest/api/2/myself")
            .await
            .status,
        401
    );
}
