//! Reliability: outages during a burst lose nothing; hostile input never panics.

use std::sync::atomic::Ordering;

use axum::{body::Body, http::Request};
use proptest::prelude::*;
use serde_json::{Value, json};
use sir_jira_bridge::{
    event::{adf, jira},
    http::router,
    verify::{jira::sign, sns::SnsMessage},
};
use tower::ServiceExt;

use crate::{helpers::*, intake::parts};

fn signed(body: &[u8], delivery: &str) -> Request<Body> {
    Request::post("/webhooks/jira")
        .header("x-atlassian-webhook-identifier", delivery)
        .header("x-hub-signature", sign(SECRET_NEW, body))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

#[tokio::test]
async fn a_bus_outage_during_a_burst_refuses_with_5xx_and_loses_nothing_after_recovery() {
    let p = parts();
    let body = fixture("issue_updated_status.json");
    let send_all = |state: sir_jira_bridge::http::AppState| {
        let body = body.clone();
        async move {
            let mut tasks = Vec::new();
            for i in 0..50 {
                let (state, body) = (state.clone(), body.clone());
                tasks.push(tokio::spawn(async move {
                    router(state)
                        .oneshot(signed(&body, &format!("outage-{i}")))
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
            statuses
        }
    };

    let during = send_all(p.state.clone()).await;
    assert!(during.iter().all(|s| *s == 503), "{during:?}");
    assert_eq!(p.queue.stats().await.unwrap().ready, 0);

    p.bus.up.store(true, Ordering::SeqCst);
    let after = send_all(p.state.clone()).await;
    assert!(after.iter().all(|s| *s == 202), "{after:?}");
    assert_eq!(p.queue.stats().await.unwrap().ready, 50);

    // Senders that retry once more see duplicates; nothing is queued twice.
    let again = send_all(p.state.clone()).await;
    assert!(again.iter().all(|s| *s == 200), "{again:?}");
    assert_eq!(p.queue.stats().await.unwrap().ready, 50);
}

#[tokio::test]
async fn deeply_nested_and_oversized_json_is_refused_cleanly() {
    let app = TestApp::spawn().await;
    // serde_json stops at 128 levels: a clean 400, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = app.post_signed(deep.as_bytes(), SECRET_NEW, "deep-1").await;
    expect_error(r, 400).await;
    // Deep ADF inside a valid webhook is rendered up to a depth limit.
    let mut node = json!({"type": "text", "text": "leaf"});
    for _ in 0..120 {
        node = json!({"type": "blockquote", "content": [node]});
    }
    let mut payload: Value = serde_json::from_slice(&fixture("comment_created.json")).unwrap();
    payload["comment"]["body"] = json!({"type": "doc", "version": 1, "content": [node]});
    let r = app
        .post_signed(payload.to_string().as_bytes(), SECRET_NEW, "deep-2")
        .await;
    assert!(r.status().as_u16() == 202 || r.status().as_u16() == 400);
    // A header value that is not a token does not reach the dedupe key unbounded.
    let long_id = "x".repeat(10_000);
    let r = app
        .post_signed(&fixture("issue_created.json"), SECRET_NEW, &long_id)
        .await;
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(
        app.metric(
            "sir_jira_http_requests_total{route=\"/webhooks/jira\",method=\"POST\",status=\"500\"}"
        )
        .await,
        0.0
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(Value::String),
        prop::sample::select(vec![
            "jira:issue_created",
            "jira:issue_updated",
            "jira:issue_deleted",
            "comment_created",
            "comment_updated",
            "comment_deleted",
            "doc",
            "text",
            "paragraph",
            "SEC-1",
            "SEC",
            "issue_commented",
            "issue_comment_edited",
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map(
                prop::sample::select(vec![
                    "webhookEvent",
                    "issue",
                    "key",
                    "id",
                    "fields",
                    "project",
                    "comment",
                    "body",
                    "type",
                    "content",
                    "text",
                    "changelog",
                    "items",
                    "user",
                    "automationData",
                    "IssueId",
                    "status",
                    "statusCategory",
                    "attrs",
                    "labels",
                    "x",
                ]),
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_jira_normalizers_never_panic_on_json(value in json_value()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let _ = jira::from_webhook(&bytes);
        let _ = jira::from_automation(&bytes);
        let _ = adf::to_text(&value);
    }

    #[test]
    fn the_jira_normalizers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = jira::from_webhook(&bytes);
        let _ = jira::from_automation(&bytes);
    }

    #[test]
    fn the_sns_parser_and_string_to_sign_never_panic(
        value in json_value(),
        fields in prop::collection::hash_map(
            prop::sample::select(vec![
                "Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion",
                "Signature", "SigningCertURL", "Subject", "SubscribeURL", "Token", "UnsubscribeURL",
            ]),
            ".{0,40}",
            0..12,
        ),
    ) {
        let _ = SnsMessage::parse(&serde_json::to_vec(&value).unwrap());
        let object: serde_json::Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect();
        if let Ok(msg) = SnsMessage::parse(&serde_json::to_vec(&object).unwrap()) {
            let _ = msg.string_to_sign();
        }
    }
}
