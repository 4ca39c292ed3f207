//! The EventBridge publisher: per-entry failures and batching against a fake PutEvents
//! server (moto cannot answer with retryable codes), and the whole path through moto: signed
//! webhook → gateway → EventBridge → rule → SQS.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use sir_jira_bridge::{
    bus::{
        BusError, EventBridgeBus, EventBus, Outgoing, PublishRetry,
        eventbridge::{MAX_REQUEST_BYTES, envelope_key, raw_key, resolve_detail},
    },
    config::{BusKind, EventBridgeConfig, StoreKind},
    db::Db,
    event::{Event, EventEnvelope, Origin, jira},
    store::{SqliteStore, StateStore},
};

use crate::{
    fake_eventbridge::{FakeEventBridge, entry_size},
    helpers::*,
};

const SOURCE: &str = "sir-jira-bridge";

fn event(key: &str, summary_bytes: usize) -> Outgoing {
    Outgoing {
        envelope: EventEnvelope::new(
            Origin::JiraWebhook,
            format!("d-{key}"),
            Event::JiraIssueUpdated(jira::IssueEvent {
                issue: jira::Issue {
                    key: key.into(),
                    summary: Some("s".repeat(summary_bytes)),
                    ..Default::default()
                },
                complete: true,
                ..Default::default()
            }),
        ),
        raw: Some(bytes::Bytes::from(format!("{{\"raw\":\"{key}\"}}"))),
    }
}

/// The issue key inside an entry's detail (the tests' way to aim failures at entries).
fn key_of(entry: &Value) -> String {
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
    detail["data"]["issue"]["key"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

struct Setup {
    bus: EventBridgeBus,
    store: Arc<dyn StateStore>,
    _dir: tempfile::TempDir,
}

async fn setup(endpoint: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::new(
        Db::open(&dir.path().join("s.sqlite3")).unwrap(),
    ));
    let sdk = sdk_config_for(endpoint).await;
    let bus = EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        EventBridgeConfig {
            bus_name: "sir-test".into(),
            source: SOURCE.into(),
        },
        store.clone(),
    )
    .with_retry(PublishRetry {
        attempts: 4,
        base: Duration::from_millis(5),
        max: Duration::from_millis(20),
    });
    Setup {
        bus,
        store,
        _dir: dir,
    }
}

#[tokio::test]
async fn only_retryable_failures_are_sent_again_and_permanent_ones_become_dead_letters() {
    let fake = FakeEventBridge::start(|entry, before| match key_of(entry).as_str() {
        "THROTTLED-1" if before == 0 => Some(("ThrottlingException", "slow down".into())),
        "INTERNAL-1" if before < 2 => Some(("InternalFailure", "try again".into())),
        "REFUSED-1" => Some(("InvalidArgument", "bad entry".into())),
        _ => None,
    })
    .await;
    let s = setup(&fake.endpoint).await;
    let events = [
        event("OK-1", 10),
        event("THROTTLED-1", 10),
        event("REFUSED-1", 10),
        event("INTERNAL-1", 10),
    ];
    s.bus.publish(&events).await.unwrap();

    let calls: Vec<Vec<String>> = fake
        .calls()
        .iter()
        .map(|c| c.iter().map(key_of).collect())
        .collect();
    assert_eq!(
        calls,
        [
            vec!["OK-1", "THROTTLED-1", "REFUSED-1", "INTERNAL-1"],
            vec!["THROTTLED-1", "INTERNAL-1"],
            vec!["INTERNAL-1"],
        ]
    );
    let first = &fake.calls()[0][0];
    assert_eq!(first["Source"], SOURCE);
    assert_eq!(first["DetailType"], "jira.issue.updated");
    assert_eq!(first["EventBusName"], "sir-test");

    let refused = &events[2].envelope;
    let letter = s
        .store
        .dead_letter(&refused.id.to_string())
        .await
        .unwrap()
        .expect("the refused event is a dead letter");
    assert!(letter.error.contains("InvalidArgument"), "{}", letter.error);
    assert!(letter.error.contains("bad entry"), "{}", letter.error);
    assert_eq!(letter.event_type, "jira.issue.updated");
    assert_eq!(
        serde_json::from_str::<EventEnvelope>(&letter.payload).unwrap(),
        *refused
    );
    assert_eq!(letter.raw.as_deref(), Some(&b"{\"raw\":\"REFUSED-1\"}"[..]));
    assert_eq!(s.store.list_dead_letters(None, 10).await.unwrap().len(), 1);
    // Every raw delivery is kept for replay.
    for e in &events {
        let raw = s
            .store
            .blob(&raw_key(&e.envelope.id.to_string()))
            .await
            .unwrap();
        assert_eq!(raw.as_deref(), e.raw.as_deref());
    }
}

#[tokio::test]
async fn an_entry_still_throttled_after_the_retries_fails_the_publish() {
    let fake = FakeEventBridge::start(|entry, _| {
        (key_of(entry) == "HOT-1").then(|| ("ThrottlingException", "rate exceeded".to_owned()))
    })
    .await;
    let s = setup(&fake.endpoint).await;
    let err = s
        .bus
        .publish(&[event("COLD-1", 10), event("HOT-1", 10)])
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    let calls = fake.calls();
    assert_eq!(calls.len(), 4, "one call per attempt");
    assert_eq!(calls[0].len(), 2);
    assert!(
        calls[1..]
            .iter()
            .all(|c| c.len() == 1 && key_of(&c[0]) == "HOT-1")
    );
    // Not a permanent failure: no dead letter; the sender's retry will publish it again.
    assert!(
        s.store
            .list_dead_letters(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn batches_hold_at_most_10_entries_and_stay_under_256_kb() {
    let fake = FakeEventBridge::start(|_, _| None).await;
    let s = setup(&fake.endpoint).await;

    let small: Vec<_> = (0..25).map(|i| event(&format!("SMALL-{i}"), 10)).collect();
    s.bus.publish(&small).await.unwrap();
    let sizes: Vec<usize> = fake.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);

    // Seven events of ~100 KB: at most two fit under 256 KB.
    let large: Vec<_> = (0..7)
        .map(|i| event(&format!("LARGE-{i}"), 100 * 1024))
        .collect();
    s.bus.publish(&large).await.unwrap();
    let calls = fake.calls()[3..].to_vec();
    assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 1]);
    for call in &calls {
        let bytes: usize = call.iter().map(entry_size).sum();
        assert!(bytes < MAX_REQUEST_BYTES, "a call of {bytes} bytes");
    }
    // In order, each once.
    let keys: Vec<String> = fake.calls().iter().flatten().map(key_of).collect();
    let expected: Vec<String> = small
        .iter()
        .chain(&large)
        .map(|o| o.envelope.event.jira_issue_key().unwrap().to_owned())
        .collect();
    assert_eq!(keys, expected);
}

#[tokio::test]
async fn an_event_over_the_size_limit_is_published_as_a_reference_to_the_whole_envelope() {
    let fake = FakeEventBridge::start(|_, _| None).await;
    let s = setup(&fake.endpoint).await;
    let huge = event("HUGE-1", 300 * 1024);
    s.bus
        .publish(&[huge.clone(), event("SMALL-1", 10)])
        .await
        .unwrap();

    let calls = fake.calls();
    let entries: Vec<&Value> = calls.iter().flatten().collect();
    assert_eq!(entries.len(), 2);
    let entry = entries[0];
    assert!(entry_size(entry) < MAX_REQUEST_BYTES);
    assert_eq!(entry["DetailType"], "jira.issue.updated");
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
    let id = huge.envelope.id.to_string();
    assert_eq!(detail["id"], id.as_str());
    assert_eq!(detail["type"], "jira.issue.updated");
    assert!(
        detail.get("data").is_none(),
        "nothing truncated: data is left out whole"
    );
    assert_eq!(
        detail["payload_ref"]["store_key"],
        envelope_key(&id).as_str()
    );

    // A consumer resolves the reference to exactly what was published.
    let resolved = resolve_detail(detail, s.store.as_ref()).await.unwrap();
    assert_eq!(resolved, huge.envelope);
}

#[tokio::test]
async fn a_signed_webhook_reaches_an_sqs_queue_through_eventbridge_and_the_documented_rule() {
    let sdk = moto_sdk().await;
    let (bus, queue_url) = bus_to_queue(&sdk, SOURCE).await;
    let table = dynamo_store(&sdk).await.table().to_owned();
    let app = AwsApp::spawn(
        &sdk,
        |s| {
            s.bus = Some(BusKind::EventBridge);
            s.eventbridge_bus_name = Some(bus.clone());
            s.store = Some(StoreKind::DynamoDb);
            s.dynamodb_table = Some(table);
        },
        None,
    )
    .await;

    let body = fixture("issue_created.json");
    let response = app
        .post_signed(&body, SECRET_NEW, &unique("delivery"))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    let answer: Value = response.json().await.unwrap();
    let event_id = answer["event_ids"][0].as_str().unwrap().to_owned();

    let messages = drain_queue(&sdk, &queue_url, 1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["source"], SOURCE);
    assert_eq!(message["detail-type"], "jira.issue.created");
    let detail = &message["detail"];
    assert_eq!(detail["id"], event_id.as_str());
    assert_eq!(detail["schema_version"], 1);
    assert_eq!(detail["type"], "jira.issue.created");
    assert_eq!(detail["origin"], "jira_webhook");
    assert_eq!(detail["data"]["issue"]["key"], "SEC-42");
    let envelope: EventEnvelope = serde_json::from_value(detail.clone()).unwrap();
    assert_eq!(envelope.event.jira_issue_key(), Some("SEC-42"));
    app.stop().await;
}

#[tokio::test]
async fn a_bus_failure_answers_503_and_the_retry_is_accepted_once_the_bus_is_back() {
    let sdk = moto_sdk().await;
    let bus = unique("sir-bus-later");
    let app = AwsApp::spawn(
        &sdk,
        |s| {
            s.bus = Some(BusKind::EventBridge);
            s.eventbridge_bus_name = Some(bus.clone());
        },
        None,
    )
    .await;
    let body = fixture("issue_created.json");
    let delivery = unique("delivery");
    let response = app.post_signed(&body, SECRET_NEW, &delivery).await;
    let message = expect_error(response, 503).await;
    assert!(message.contains("ResourceNotFound"), "{message}");

    aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let response = app.post_signed(&body, SECRET_NEW, &delivery).await;
    assert_eq!(
        response.status().as_u16(),
        202,
        "the retry is not taken for a duplicate"
    );
    app.stop().await;
}
