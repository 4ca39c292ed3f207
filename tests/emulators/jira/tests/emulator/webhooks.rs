use std::time::Duration;

use hmac::{Hmac, Mac};
use jira_emulator::{AttemptOutcome, EmulatorConfig, WebhookBodyFormat};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::*;

const SECRET: &str = "webhook-secret-0123456789";

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn setup(script: Vec<u16>) -> (jira_emulator::JiraEmulator, Client, Receiver) {
    let (jira, client) = start().await;
    let receiver = Receiver::start(script).await;
    jira.webhooks().set_target(&receiver.url, Some(SECRET));
    jira.webhooks()
        .set_retry_delays(vec![Duration::from_millis(20); 3]);
    (jira, client, receiver)
}

fn events(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| {
            let v = r.json();
            match v["issue_event_type_name"].as_str() {
                Some(t) => format!("{}/{t}", v["webhookEvent"].as_str().unwrap()),
                None => v["webhookEvent"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

#[tokio::test]
async fn deliveries_are_signed_over_the_raw_body_and_shaped_like_jiras() {
    let (jira, client, receiver) = setup(vec![]).await;
    let key = client.create("signed", &["security-ir"]).await;
    settle(&jira).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let d = &got[0];
    let expected = format!("sha256={}", hmac_hex(SECRET, &d.body));
    assert_eq!(d.header("x-hub-signature"), Some(expected.as_str()));
    assert_ne!(
        d.header("x-hub-signature"),
        Some(format!("sha256={}", hmac_hex("other", &d.body)).as_str())
    );
    assert!(d.header("x-atlassian-webhook-identifier").is_some());
    assert_eq!(d.header("x-atlassian-webhook-retry"), None, "first attempt");
    assert_eq!(d.header("x-atlassian-webhook-flow"), Some("Primary"));
    assert_eq!(
        d.header("user-agent"),
        Some("Atlassian Webhook HTTP Client")
    );
    assert!(
        d.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );

    let p = d.json();
    assert!(p["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(p["webhookEvent"], "jira:issue_created");
    assert_eq!(p["issue_event_type_name"], "issue_created");
    assert_eq!(
        p["user"]["accountId"],
        jira.integration_account().account_id
    );
    assert_eq!(p["issue"]["key"], key);
    assert!(p["issue"]["id"].is_string());
    assert!(
        p["issue"]["self"]
            .as_str()
            .unwrap()
            .contains("/rest/api/2/issue/")
    );
    let f = &p["issue"]["fields"];
    assert_eq!(f["summary"], "signed");
    assert_eq!(
        f["description"], "created by the test",
        "admin webhooks carry wiki text"
    );
    assert_eq!(f["status"]["name"], "To Do");
    assert_eq!(f["status"]["statusCategory"]["key"], "new");
    assert_eq!(f["labels"], json!(["security-ir"]));
    assert_eq!(f["project"]["key"], "SEC");
    assert!(p["changelog"]["id"].is_string());

    jira.webhooks().set_body_format(WebhookBodyFormat::Adf);
    jira.as_human().edit_description(&key, "now ADF").unwrap();
    settle(&jira).await;
    let last = receiver.received().last().unwrap().json();
    assert_eq!(last["issue"]["fields"]["description"]["type"], "doc");
}

#[tokio::test]
async fn every_change_fires_whoever_made_it() {
    let (jira, client, receiver) = setup(vec![]).await;
    let key = client.create("changes", &[]).await;
    let human = jira.human_account().account_id;
    jira.as_human().move_to(&key, "In Progress").unwrap();
    jira.as_human().edit_summary(&key, "renamed").unwrap();
    assert!(
        !jira.as_human().edit_summary(&key, "renamed").unwrap(),
        "no change, no event"
    );
    let comment = client
        .post(
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": adf("api comment")}),
        )
        .await;
    let comment_id = comment.body["id"].as_str().unwrap().to_owned();
    jira.as_human()
        .edit_comment(&key, &comment_id, "edited by a person")
        .unwrap();
    client
        .delete(&format!("/rest/api/3/issue/{key}/comment/{comment_id}"))
        .await;
    client.delete(&format!("/rest/api/3/issue/{key}")).await;
    settle(&jira).await;

    let got = receiver.received();
    assert_eq!(
        events(&got),
        [
            "jira:issue_created/issue_created",
            "jira:issue_updated/issue_generic",
            "jira:issue_updated/issue_updated",
            "comment_created",
            "jira:issue_updated/issue_commented",
            "comment_updated",
            "jira:issue_updated/issue_comment_edited",
            "comment_deleted",
            "jira:issue_updated/issue_comment_deleted",
            "jira:issue_deleted/issue_deleted",
        ]
    );
    let status = got[1].json();
    assert_eq!(status["user"]["accountId"], human);
    assert_eq!(
        status["changelog"]["items"][0],
        json!({"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000",
               "fromString": "To Do", "to": "3", "toString": "In Progress"})
    );
    assert_eq!(
        status["issue"]["fields"]["status"]["statusCategory"]["key"],
        "indeterminate"
    );
    let summary = got[2].json();
    assert_eq!(summary["changelog"]["items"][0]["fromString"], "changes");
    assert_eq!(summary["changelog"]["items"][0]["toString"], "renamed");

    let created = got[3].json();
    assert!(
        created.get("user").is_none(),
        "comment_* payloads carry no user"
    );
    assert_eq!(created["comment"]["id"], comment_id);
    assert_eq!(created["comment"]["body"], "api comment");
    assert_eq!(created["issue"]["key"], key);
    let commented = got[4].json();
    assert_eq!(commented["comment"]["id"], comment_id);
    assert_eq!(
        commented["user"]["accountId"],
        jira.integration_account().account_id
    );
    let edited = got[5].json();
    assert_eq!(edited["comment"]["updateAuthor"]["accountId"], human);

    let ids: std::collections::HashSet<&str> = got
        .iter()
        .map(|r| r.header("x-atlassian-webhook-identifier").unwrap())
        .collect();
    assert_eq!(ids.len(), got.len(), "a unique identifier per delivery");
}

#[tokio::test]
async fn failures_are_retried_with_the_same_identifier_and_a_retry_count() {
    let (jira, client, receiver) = setup(vec![500, 429]).await;
    client.create("retry", &[]).await;
    settle(&jira).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let id = got[0].header("x-atlassian-webhook-identifier").unwrap();
    assert!(
        got.iter()
            .all(|r| r.header("x-atlassian-webhook-identifier") == Some(id))
    );
    assert!(got.iter().all(|r| r.body == got[0].body
        && r.header("x-hub-signature") == got[0].header("x-hub-signature")));
    let retries: Vec<Option<&str>> = got
        .iter()
        .map(|r| r.header("x-atlassian-webhook-retry"))
        .collect();
    assert_eq!(retries, [None, Some("1"), Some("2")]);
    let record = &jira.webhooks().deliveries()[0];
    assert!(record.delivered());
    assert_eq!(record.attempts.len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_connection_failures_are() {
    let (jira, client, receiver) = setup(vec![400]).await;
    client.create("refused", &[]).await;
    settle(&jira).await;
    assert_eq!(receiver.received().len(), 1);
    assert!(!jira.webhooks().deliveries()[0].delivered());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    jira.webhooks().set_target(&dead_url, Some(SECRET));
    jira.webhooks().clear_deliveries();
    client.create("unreachable", &[]).await;
    settle(&jira).await;
    let record = &jira.webhooks().deliveries()[0];
    assert_eq!(record.attempts.len(), 4, "first attempt and three retries");
    assert!(
        record
            .attempts
            .iter()
            .all(|a| matches!(a.outcome, AttemptOutcome::Failed(_)))
    );
}

#[tokio::test]
async fn the_duplicate_switch_sends_some_deliveries_twice() {
    let (jira, client, receiver) = setup(vec![]).await;
    jira.webhooks().duplicate_every(Some(2));
    client.create("one", &[]).await;
    client.create("two", &[]).await;
    settle(&jira).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3, "the second delivery arrived twice");
    assert_eq!(
        got[1].header("x-atlassian-webhook-identifier"),
        got[2].header("x-atlassian-webhook-identifier")
    );
    assert_eq!(got[1].body, got[2].body);
    assert_eq!(got[2].header("x-atlassian-webhook-retry"), Some("1"));
    assert_ne!(
        got[0].header("x-atlassian-webhook-identifier"),
        got[1].header("x-atlassian-webhook-identifier")
    );
    assert!(jira.webhooks().deliveries()[1].duplicated);
}

#[tokio::test]
async fn the_reorder_switch_sends_batches_newest_first() {
    let (jira, client, receiver) = setup(vec![]).await;
    jira.webhooks().reorder(Some(3), Duration::from_secs(5));
    let key = client.create("order", &[]).await;
    jira.as_human().edit_summary(&key, "second").unwrap();
    jira.as_human().edit_summary(&key, "third").unwrap();
    settle(&jira).await;
    let summaries: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r.json()["issue"]["fields"]["summary"].clone())
        .collect();
    assert_eq!(summaries, [json!("third"), json!("second"), json!("order")]);

    jira.webhooks().reorder(Some(10), Duration::from_millis(50));
    jira.as_human()
        .edit_summary(&key, "flushed by the timer")
        .unwrap();
    settle(&jira).await;
    assert_eq!(receiver.received().len(), 4);
}

#[tokio::test]
async fn event_and_jql_filters_choose_what_is_sent() {
    let (jira, client, receiver) = setup(vec![]).await;
    jira.webhooks().set_events(&["jira:issue_created"]);
    jira.webhooks().set_jql(Some("labels = wanted"));
    client.create("unwanted", &[]).await;
    let key = client.create("wanted", &["wanted"]).await;
    jira.as_human().add_comment(&key, "not subscribed").unwrap();
    settle(&jira).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["issue"]["key"], key);
}

#[tokio::test]
async fn rest_registered_webhooks_get_matched_ids_and_their_own_secret() {
    let (jira, client) = start().await;
    let receiver = Receiver::start(vec![]).await;
    let r = client
        .post(
            "/rest/webhooks/1.0/webhook",
            json!({"name": "bridge", "url": receiver.url, "events": ["jira:issue_created"],
                                                    "secret": "rest-secret", "excludeBody": false}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(r.body.get("secret").is_none(), "the secret is never echoed");
    let id: u64 = r.body["self"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    client.create("registered", &[]).await;
    settle(&jira).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["matchedWebhookIds"], json!([id]));
    let sig = format!("sha256={}", hmac_hex("rest-secret", &got[0].body));
    assert_eq!(got[0].header("x-hub-signature"), Some(sig.as_str()));
}

#[tokio::test]
async fn data_center_payloads_name_users_by_name() {
    let receiver = Receiver::start(vec![]).await;
    let mut config = EmulatorConfig::data_center();
    config.webhooks.url = Some(receiver.url.clone());
    config.webhooks.secret = Some(SECRET.into());
    let (jira, client) = start_with(config).await;
    client
        .post("/rest/api/2/issue", json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "dc"}}))
        .await;
    settle(&jira).await;
    let p = receiver.received()[0].json();
    assert_eq!(p["user"]["name"], "sir-bridge");
    assert!(p["user"].get("accountId").is_none());
}
