//! `POST /webhooks/jira` through real HTTP.

use serde_json::{Value, json};
use sir_jira_bridge::{
    bus::EventFilter,
    event::{Event, Origin},
};

use crate::helpers::*;

async fn only_event(app: &TestApp) -> sir_jira_bridge::bus::QueuedEvent {
    let events = app
        .queue
        .recent(&EventFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "expected exactly one queued event");
    events.into_iter().next().unwrap()
}

#[tokio::test]
async fn signed_issue_created_is_accepted_normalized_and_queued_with_its_raw_body() {
    let app = TestApp::spawn().await;
    let body = fixture("issue_created.json");
    let response = app.post_signed(&body, SECRET_NEW, "delivery-1").await;
    assert_eq!(response.status().as_u16(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "accepted");

    let queued = only_event(&app).await;
    assert_eq!(queued.state, "ready");
    let env = queued.envelope;
    assert_eq!(answer["event_ids"][0], env.id.to_string());
    assert_eq!(env.delivery_id, "delivery-1");
    assert_eq!(env.origin, Origin::JiraWebhook);
    let Event::JiraIssueCreated(e) = env.event else {
        panic!("wrong event type")
    };
    assert_eq!(e.issue.key, "SEC-42");
    assert_eq!(e.issue.id.as_deref(), Some("10042"));
    assert_eq!(e.issue.project_key.as_deref(), Some("SEC"));
    assert_eq!(
        e.issue.status.as_ref().unwrap().category.as_deref(),
        Some("new")
    );
    assert_eq!(
        e.issue.labels.as_deref(),
        Some(&["security-ir".to_owned()][..])
    );
    assert!(e.issue.description.unwrap().text.starts_with("Access key"));
    assert_eq!(
        e.actor.unwrap().account_id.as_deref(),
        Some("5b10a2844c20165700ede21g")
    );
    assert_eq!(e.occurred_at, Some(1764165600123));
    assert!(e.complete);
}

#[tokio::test]
async fn status_change_carries_the_changelog() {
    let app = TestApp::spawn().await;
    let response = app
        .post_signed(
            &fixture("issue_updated_status.json"),
            SECRET_NEW,
            "d-status",
        )
        .await;
    assert_eq!(response.status().as_u16(), 202);
    let Event::JiraIssueUpdated(e) = only_event(&app).await.envelope.event else {
        panic!("wrong event type")
    };
    assert_eq!(e.changes.len(), 1);
    assert_eq!(e.changes[0].field, "status");
    assert_eq!(e.changes[0].from_string.as_deref(), Some("To Do"));
    assert_eq!(e.changes[0].to_string.as_deref(), Some("In Progress"));
    assert_eq!(
        e.issue.status.unwrap().category.as_deref(),
        Some("indeterminate")
    );
    assert_eq!(e.changelog_id.as_deref(), Some("10151"));
}

#[tokio::test]
async fn comments_become_comment_events_from_either_webhook_shape() {
    for file in ["issue_commented.json", "comment_created.json"] {
        let Event::JiraCommentCreated(e) =
            sir_jira_bridge::event::jira::from_webhook(&fixture(file)).unwrap()
        else {
            panic!("{file}: wrong event type")
        };
        assert_eq!(e.issue.key, "SEC-42");
        assert_eq!(e.issue.project_key.as_deref(), Some("SEC"));
        assert_eq!(e.comment.id, "10077");
        // One fixture sends a string body, the other ADF; both give the same text.
        let body = e.comment.body.unwrap();
        assert_eq!(
            body.text,
            "Rotated the key and attached CloudTrail excerpt."
        );
        assert_eq!(
            e.actor.unwrap().account_id.as_deref(),
            Some("5b10a2844c20165700ede21g")
        );
    }

    // Jira sends both shapes for one comment, with different delivery ids: one event.
    let app = TestApp::spawn().await;
    let first = app
        .post_signed(&fixture("issue_commented.json"), SECRET_NEW, "d-c1")
        .await;
    assert_eq!(first.status().as_u16(), 202);
    let second = app
        .post_signed(&fixture("comment_created.json"), SECRET_NEW, "d-c2")
        .await;
    assert_eq!(second.status().as_u16(), 200);
    let ack: serde_json::Value = second.json().await.unwrap();
    assert_eq!(ack["status"], "duplicate", "{ack}");
    only_event(&app).await;

    // An edit of the comment is a new revision: its own event.
    let mut edited: serde_json::Value =
        serde_json::from_slice(&fixture("comment_created.json")).unwrap();
    edited["webhookEvent"] = "comment_updated".into();
    edited["comment"]["updated"] = "2026-11-26T14:25:00.000+0000".into();
    let body = serde_json::to_vec(&edited).unwrap();
    let r = app.post_signed(&body, SECRET_NEW, "d-c3").await;
    assert_eq!(r.status().as_u16(), 202);
}

#[tokio::test]
async fn every_active_secret_verifies_and_a_retired_one_does_not() {
    let app = TestApp::spawn().await;
    let body = fixture("issue_created.json");
    assert_eq!(
        app.post_signed(&body, SECRET_OLD, "r-1").await.status(),
        202
    );
    assert_eq!(
        app.post_signed(&body, SECRET_NEW, "r-2").await.status(),
        202
    );
    let r = app
        .post_signed(&body, "retired-webhook-secret-0123", "r-3")
        .await;
    expect_error(r, 401).await;
    assert_eq!(app.queued().await, 2);
}

#[tokio::test]
async fn rejections_have_their_status_a_json_reason_and_queue_nothing() {
    let app = TestApp::spawn().await;
    let body = fixture("issue_created.json");
    let post = || app.client.post(app.url("/webhooks/jira"));

    // No authentication at all.
    let msg = expect_error(post().body(body.clone()).send().await.unwrap(), 401).await;
    assert!(msg.contains("missing"), "{msg}");
    // Wrong signature.
    let r = post()
        .header("x-hub-signature", sign_hex("sha256", &[0u8; 32]))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(expect_error(r, 401).await.contains("does not match"));
    // A method we do not accept, even with a value that would match under sha256.
    let valid = sir_jira_bridge::verify::jira::sign(SECRET_NEW, &body);
    let r = post()
        .header("x-hub-signature", valid.replace("sha256=", "sha1="))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(expect_error(r, 401).await.contains("unsupported"));
    // Garbage signature value.
    let r = post()
        .header("x-hub-signature", "sha256=not-hex")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect_error(r, 401).await;
    // Wrong automation secret.
    let r = post()
        .header(AUTOMATION_HEADER, "not-the-automation-secret")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect_error(r, 401).await;

    // Signed but malformed JSON.
    let r = app
        .post_signed(b"{\"webhookEvent\": ", SECRET_NEW, "m-1")
        .await;
    assert!(expect_error(r, 400).await.contains("not valid JSON"));
    // Signed, valid JSON, unknown event.
    let r = app
        .post_signed(
            br#"{"webhookEvent":"jira:worklog_updated"}"#,
            SECRET_NEW,
            "m-2",
        )
        .await;
    assert!(expect_error(r, 400).await.contains("jira:worklog_updated"));
    // Signed, known event, missing what we need.
    let r = app
        .post_signed(
            br#"{"webhookEvent":"jira:issue_created","issue":{}}"#,
            SECRET_NEW,
            "m-3",
        )
        .await;
    assert!(expect_error(r, 400).await.contains("issue.key"));
    // Not an object.
    let r = app.post_signed(b"[1,2]", SECRET_NEW, "m-4").await;
    expect_error(r, 400).await;

    assert_eq!(app.queued().await, 0);
    let failures = |reason: &'static str| {
        format!("sir_jira_verification_failures_total{{source=\"jira\",reason=\"{reason}\"}}")
    };
    assert_eq!(app.metric(&failures("missing")).await, 1.0);
    assert_eq!(app.metric(&failures("bad_signature")).await, 1.0);
    assert_eq!(app.metric(&failures("unsupported_method")).await, 1.0);
}

fn sign_hex(method: &str, bytes: &[u8]) -> String {
    format!("{method}={}", hex::encode(bytes))
}

#[tokio::test]
async fn oversize_bodies_get_413_whether_declared_or_streamed() {
    let app = TestApp::spawn_with(|s| s.max_body_bytes = Some(4096)).await;
    let big = vec![b' '; 5000];

    let r = app.post_signed(&big, SECRET_NEW, "big-1").await;
    assert!(expect_error(r, 413).await.contains("4096"));

    // No Content-Length (chunked): the limit applies while streaming.
    let status = post_chunked(&app, &[b' '; 1000], 10).await;
    assert_eq!(status, 413);
    assert_eq!(app.queued().await, 0);
}

/// Sends a chunked request by hand: no client here sends a body without Content-Length.
async fn post_chunked(app: &TestApp, chunk: &[u8], count: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /webhooks/jira HTTP/1.1\r\nHost: {}\r\nx-hub-signature: sha256={}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr,
        "00".repeat(32)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..count {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break; // the server answered and closed early
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

#[tokio::test]
async fn twenty_concurrent_copies_of_a_delivery_make_one_event() {
    let app = TestApp::spawn().await;
    let body = fixture("issue_updated_status.json");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, body) = (app.client.clone(), app.url("/webhooks/jira"), body.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("x-atlassian-webhook-identifier", "same-delivery")
                .header(
                    "x-hub-signature",
                    sir_jira_bridge::verify::jira::sign(SECRET_NEW, &body),
                )
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| (200..300).contains(s)),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(app.queued().await, 1);

    // A later retry of the same delivery is still a duplicate.
    let r = app.post_signed(&body, SECRET_NEW, "same-delivery").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(app.queued().await, 1);
}

#[tokio::test]
async fn without_an_identifier_the_body_hash_dedupes() {
    let app = TestApp::spawn().await;
    let body = fixture("issue_created.json");
    for _ in 0..3 {
        let r = app
            .client
            .post(app.url("/webhooks/jira"))
            .header(
                "x-hub-signature",
                sir_jira_bridge::verify::jira::sign(SECRET_NEW, &body),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    assert_eq!(app.queued().await, 1);
    let env = app
        .queue
        .recent(&EventFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0)
        .envelope;
    assert!(
        env.delivery_id.starts_with("body-sha256:"),
        "{}",
        env.delivery_id
    );
}

#[tokio::test]
async fn events_of_other_projects_are_acknowledged_dropped_and_counted() {
    let app = TestApp::spawn_with(|s| s.jira_project_keys = Some(vec!["OPS".into()])).await;
    let r = app
        .post_signed(&fixture("issue_created.json"), SECRET_NEW, "p-1")
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");
    let r = app
        .post_signed(&fixture("comment_created.json"), SECRET_NEW, "p-2")
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.queued().await, 0);
    let ignored =
        "sir_jira_ignored_deliveries_total{source=\"jira\",reason=\"project_not_configured\"}";
    assert_eq!(app.metric(ignored).await, 2.0);

    let ops = String::from_utf8(fixture("issue_created.json"))
        .unwrap()
        .replace("SEC-42", "OPS-7")
        .replace("\"key\": \"SEC\"", "\"key\": \"OPS\"");
    let r = app.post_signed(ops.as_bytes(), SECRET_NEW, "p-3").await;
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(app.queued().await, 1);
}

#[tokio::test]
async fn automation_requests_authenticate_with_the_shared_secret_header() {
    let app = TestApp::spawn().await;
    let send = |body: Value, delivery: &'static str| {
        app.client
            .post(app.url("/webhooks/jira"))
            .header(AUTOMATION_HEADER, AUTOMATION_SECRET)
            .header("x-atlassian-webhook-identifier", delivery)
            .json(&body)
            .send()
    };
    // The key/value message the AWS sample's rules send: only the issue key.
    let r = send(json!({"automationData": {"IssueId": "SEC-42"}}), "a-1")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    // Automation's "Issue data" body.
    let issue = json!({"issue": {"id": "10043", "key": "SEC-43", "fields": {"summary": "s", "project": {"key": "SEC"}}}});
    let r = send(issue, "a-2").await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let r = send(json!({"hello": "world"}), "a-3").await.unwrap();
    expect_error(r, 400).await;

    let mut events = app
        .queue
        .recent(&EventFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    events.reverse();
    assert_eq!(events.len(), 2);
    for queued in &events {
        assert_eq!(queued.envelope.origin, Origin::JiraAutomation);
    }
    let Event::JiraIssueUpdated(e) = &events[0].envelope.event else {
        panic!("wrong type")
    };
    assert_eq!(e.issue.key, "SEC-42");
    assert!(
        !e.complete,
        "an IssueId-only message must tell consumers to fetch"
    );
    let Event::JiraIssueUpdated(e) = &events[1].envelope.event else {
        panic!("wrong type")
    };
    assert_eq!(e.issue.summary.as_deref(), Some("s"));
    assert!(e.complete);
}

#[tokio::test]
async fn automation_header_is_refused_when_no_automation_secret_is_configured() {
    let app = TestApp::spawn_with(|s| s.automation_secret = None).await;
    let r = app
        .client
        .post(app.url("/webhooks/jira"))
        .header(AUTOMATION_HEADER, AUTOMATION_SECRET)
        .json(&json!({"automationData": {"IssueId": "SEC-42"}}))
        .send()
        .await
        .unwrap();
    expect_error(r, 401).await;
}

#[tokio::test]
async fn health_readiness_and_unlisted_methods() {
    let app = TestApp::spawn().await;
    let get = |p: &str| app.client.get(app.url(p)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    assert_eq!(get("/webhooks/jira").await.unwrap().status(), 405);
    app.stop().await;
}

#[tokio::test]
async fn a_running_worker_processes_the_event() {
    let app = TestApp::spawn_with(|s| s.workers = Some(1)).await;
    let r = app
        .post_signed(&fixture("issue_created.json"), SECRET_NEW, "w-1")
        .await;
    assert_eq!(r.status().as_u16(), 202);
    let done = eventually(std::time::Duration::from_secs(5), || async {
        app.stats().await.done == 1
    })
    .await;
    assert!(done, "event not processed: {:?}", app.stats().await);
}
