//! The admin API under /v1, `/metrics`, and the shared error shape.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use serde_json::{Value, json};
use sir_jira_bridge::store::Mapping;

use crate::helpers::*;

#[tokio::test]
async fn every_admin_route_needs_the_bearer_token() {
    let app = TestApp::spawn().await;
    for path in [
        "/v1/status",
        "/v1/mappings",
        "/v1/events",
        "/v1/dead-letters",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert!(expect_error(r, 401).await.contains("missing"), "{path}");
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth("admin-token-0123456789abcdeX")
            .send()
            .await
            .unwrap();
        expect_error(r, 401).await;
    }
    let r = app
        .client
        .post(app.url("/v1/resync/cases/1234567890"))
        .send()
        .await
        .unwrap();
    expect_error(r, 401).await;
    assert_eq!(
        app.queued().await,
        0,
        "an unauthenticated resync queued nothing"
    );
    assert_eq!(app.admin_get("/v1/status").await.0, 200);
}

#[tokio::test]
async fn mappings_by_case_by_issue_and_paged() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.store
            .insert_mapping(&Mapping {
                case_id: format!("100000000{i}"),
                issue_key: format!("SEC-{i}"),
                issue_id: Some(format!("1000{i}")),
            })
            .await
            .unwrap();
    }
    let (status, page) = app.admin_get("/v1/mappings?limit=2").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let mut seen = vec![];
    let mut next = page["next"].as_str().map(str::to_owned);
    seen.extend(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["case_id"].clone()),
    );
    while let Some(after) = next {
        let (_, page) = app
            .admin_get(&format!("/v1/mappings?limit=2&after={after}"))
            .await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["case_id"].clone()),
        );
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);

    let (status, m) = app.admin_get("/v1/mappings/cases/1000000003").await;
    assert_eq!((status, m["issue_key"].as_str()), (200, Some("SEC-3")));
    let (status, m) = app.admin_get("/v1/mappings/issues/SEC-4").await;
    assert_eq!((status, m["case_id"].as_str()), (200, Some("1000000004")));
    let (status, e) = app.admin_get("/v1/mappings/issues/SEC-99").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, e) = app.admin_get("/v1/mappings/cases/12").await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    assert_eq!(app.admin_get("/v1/mappings?limit=0").await.0, 400);
    assert_eq!(app.admin_get("/v1/mappings?limit=abc").await.0, 400);
}

#[tokio::test]
async fn events_are_listed_newest_first_filtered_and_paged() {
    let app = TestApp::spawn().await;
    for (i, file) in [
        "issue_created.json",
        "issue_updated_status.json",
        "comment_created.json",
    ]
    .iter()
    .enumerate()
    {
        let r = app
            .post_signed(&fixture(file), SECRET_NEW, &format!("ev-{i}"))
            .await;
        assert_eq!(r.status().as_u16(), 202);
    }
    let (status, page) = app.admin_get("/v1/events").await;
    assert_eq!(status, 200);
    let types: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "jira.comment.created",
            "jira.issue.updated",
            "jira.issue.created"
        ]
    );
    assert_eq!(page["items"][0]["state"], "ready");
    assert_eq!(page["items"][0]["event"]["data"]["comment"]["id"], "10077");

    let (_, page) = app.admin_get("/v1/events?type=jira.issue.updated").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = app.admin_get("/v1/events?state=done").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);

    let (_, first) = app.admin_get("/v1/events?limit=2").await;
    let cursor = first["next"]
        .as_str()
        .expect("a next cursor on a full page");
    let (_, second) = app
        .admin_get(&format!("/v1/events?limit=2&before={cursor}"))
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["type"], "jira.issue.created");
    assert!(second["next"].is_null());

    assert_eq!(app.admin_get("/v1/events?type=nope").await.0, 400);
    assert_eq!(app.admin_get("/v1/events?limit=501").await.0, 400);
}

#[tokio::test]
async fn a_dead_letter_replayed_after_the_fix_is_applied_once() {
    let handler = Arc::new(BrokenUntilFixed::default());
    let app = TestApp::spawn_with_handler(|s| s.workers = Some(2), Some(handler.clone())).await;
    let r = app
        .post_signed(&fixture("issue_created.json"), SECRET_NEW, "dl-1")
        .await;
    let event_id = r.json::<Value>().await.unwrap()["event_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.stats().await.dead == 1
        })
        .await,
        "the event was not dead-lettered"
    );

    let (status, page) = app.admin_get("/v1/dead-letters").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["id"], event_id.as_str());
    let (status, letter) = app.admin_get(&format!("/v1/dead-letters/{event_id}")).await;
    assert_eq!(status, 200);
    assert!(
        letter["error"]
            .as_str()
            .unwrap()
            .contains("customfield_10050")
    );
    assert_eq!(letter["attempts"], 1);
    assert_eq!(letter["payload"]["type"], "jira.issue.created");
    assert!(
        letter["raw_text"]
            .as_str()
            .unwrap()
            .contains("jira:issue_created")
    );
    assert_eq!(
        app.metric("sir_jira_queue_events{state=\"dead\"}").await,
        1.0
    );

    handler.fixed.store(true, Ordering::SeqCst);
    let (status, body) = app
        .admin_post(&format!("/v1/dead-letters/{event_id}/replay"), json!(null))
        .await;
    assert_eq!(status, 202, "{body}");
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.stats().await.done == 1
        })
        .await,
        "the replayed event was not processed"
    );
    // Replaying again finds nothing; nothing is applied twice.
    let (status, _) = app
        .admin_post(&format!("/v1/dead-letters/{event_id}/replay"), json!(null))
        .await;
    assert_eq!(status, 404);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(handler.applied.load(Ordering::SeqCst), 1);
    assert_eq!(
        app.admin_get("/v1/dead-letters").await.1["items"],
        json!([])
    );
}

#[tokio::test]
async fn replay_matching_takes_only_what_the_filter_names() {
    let handler = Arc::new(BrokenUntilFixed::default());
    let app = TestApp::spawn_with_handler(|s| s.workers = Some(1), Some(handler.clone())).await;
    for (file, id) in [
        ("issue_created.json", "m-1"),
        ("comment_created.json", "m-2"),
    ] {
        app.post_signed(&fixture(file), SECRET_NEW, id).await;
    }
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.stats().await.dead == 2
        })
        .await
    );
    handler.fixed.store(true, Ordering::SeqCst);

    let (status, body) = app
        .admin_post(
            "/v1/dead-letters/replay",
            json!({"type": "jira.comment.created"}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(body["event_ids"].as_array().unwrap().len(), 1);
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.stats().await.done == 1
        })
        .await
    );
    let (_, page) = app
        .admin_get("/v1/dead-letters?type=jira.issue.created")
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let (status, _) = app
        .admin_post(
            "/v1/dead-letters/replay",
            json!({"error_contains": "customfield"}),
        )
        .await;
    assert_eq!(status, 202);
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.stats().await.done == 2
        })
        .await
    );
    assert_eq!(handler.applied.load(Ordering::SeqCst), 2);

    let (status, _) = app
        .admin_post("/v1/dead-letters/replay", json!({"unknown": 1}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn resync_queues_a_sync_request_event() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .admin_post("/v1/resync/cases/1234567890", json!(null))
        .await;
    assert_eq!(status, 202);
    let (status, _) = app
        .admin_post("/v1/resync/issues/SEC-42", json!(null))
        .await;
    assert_eq!(status, 202);
    let (_, page) = app.admin_get("/v1/events").await;
    assert_eq!(page["items"][1]["id"], body["event_id"]);
    assert_eq!(page["items"][1]["type"], "sync.case.requested");
    assert_eq!(page["items"][1]["event"]["data"]["case_id"], "1234567890");
    assert_eq!(page["items"][1]["event"]["origin"], "admin_api");
    assert_eq!(page["items"][0]["type"], "sync.issue.requested");

    assert_eq!(
        app.admin_post("/v1/resync/cases/abc", json!(null)).await.0,
        400
    );
    assert_eq!(
        app.admin_post("/v1/resync/issues/sec-1", json!(null))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn status_reports_the_queue_the_poller_and_the_peers() {
    let app = TestApp::spawn().await;
    app.post_signed(&fixture("issue_created.json"), SECRET_NEW, "st-1")
        .await;
    let (status, body) = app.admin_get("/v1/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["queue"]["depth"], 1);
    assert_eq!(body["queue"]["ready"], 1);
    assert!(body["queue"]["oldest_pending_age_secs"].as_f64().unwrap() >= 0.0);
    assert!(body["poller"]["last_run"].is_null());
    assert!(body["peers"]["jira"]["last_error"].is_null());
    assert!(body["peers"]["sir"]["last_error"].is_null());
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_json_error_shape() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/nope")).send().await.unwrap();
    expect_error(r, 404).await;
    let r = app
        .client
        .delete(app.url("/webhooks/jira"))
        .send()
        .await
        .unwrap();
    expect_error(r, 405).await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.post_signed(&fixture("issue_created.json"), SECRET_NEW, "me-1")
        .await;
    app.post_signed(&fixture("issue_created.json"), SECRET_NEW, "me-1")
        .await;
    let sample =
        "sir_jira_http_requests_total{route=\"/webhooks/jira\",method=\"POST\",status=\"202\"}";
    assert_eq!(app.metric(sample).await, 1.0);
    let dup = "sir_jira_duplicate_deliveries_total{source=\"jira\"}";
    assert_eq!(app.metric(dup).await, 1.0);
    let accepted = "sir_jira_events_accepted_total{event_type=\"jira.issue.created\"}";
    assert_eq!(app.metric(accepted).await, 1.0);
    assert_eq!(
        app.metric("sir_jira_queue_events{state=\"ready\"}").await,
        1.0
    );
}
