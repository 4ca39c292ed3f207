//! The SQS consumer against moto: visibility as the lease, deletes on success, backoff and the
//! queue's redrive policy for retryable failures, store dead letters for permanent ones.

use std::{sync::Arc, time::Duration};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use sir_jira_bridge::{
    bus::{
        Delivery, EventBridgeBus, EventBus, EventSource, Failure, Outgoing, SqsSource,
        eventbridge::raw_key,
    },
    config::{BusKind, ConsumerKind, EventBridgeConfig, QueueConfig},
    db::Db,
    event::{Event, EventEnvelope, Origin, jira},
    store::{SqliteStore, StateStore},
};

use crate::helpers::*;

fn envelope(key: &str, summary_bytes: usize) -> EventEnvelope {
    EventEnvelope::new(
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
    )
}

struct Setup {
    sdk: aws_config::SdkConfig,
    sqs: aws_sdk_sqs::Client,
    url: String,
    dlq_url: String,
    source: SqsSource,
    store: Arc<dyn StateStore>,
    _dir: tempfile::TempDir,
}

/// A queue whose redrive policy dead-letters after two receives, and a consumer with a
/// two-second lease.
async fn setup() -> Setup {
    let sdk = moto_sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq_url = create_queue(&sdk, &unique("sir-dlq"), None).await;
    let dlq_arn = queue_arn(&sqs, &dlq_url).await;
    let url = create_queue(&sdk, &unique("sir-work"), Some((dlq_arn, 2))).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::new(
        Db::open(&dir.path().join("s.sqlite3")).unwrap(),
    ));
    let config = QueueConfig {
        workers: 1,
        max_attempts: 8,
        lease: Duration::from_secs(2),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(2),
        retention: Duration::from_secs(3600),
    };
    let source =
        SqsSource::new(sqs.clone(), &url, store.clone(), config).with_wait(Duration::from_secs(1));
    Setup {
        sdk,
        sqs,
        url,
        dlq_url,
        source,
        store,
        _dir: dir,
    }
}

impl Setup {
    /// Sends what an EventBridge rule would deliver for `envelope`.
    async fn send(&self, envelope: &EventEnvelope) {
        let body = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": envelope.event.type_name(),
            "source": "sir-jira-bridge",
            "time": "2026-11-26T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": envelope,
        });
        self.send_raw(&body.to_string()).await;
    }

    async fn send_raw(&self, body: &str) {
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    async fn receive_one(&self) -> Delivery {
        for _ in 0..10 {
            if let Some(d) = self.source.receive(1).await.unwrap().pop() {
                return d;
            }
        }
        panic!("no message arrived");
    }

    /// (visible, in flight) message counts of a queue.
    async fn counts(&self, url: &str) -> (u64, u64) {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let n = |k: QueueAttributeName| attrs[&k].parse::<u64>().unwrap();
        (
            n(QueueAttributeName::ApproximateNumberOfMessages),
            n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }
}

#[tokio::test]
async fn a_released_event_comes_back_at_once_and_an_acked_one_is_deleted() {
    let s = setup().await;
    let sent = envelope("SQS-1", 10);
    s.send(&sent).await;

    let first = s.receive_one().await;
    assert_eq!(first.envelope, sent);
    assert_eq!(first.attempt, 1);
    assert_eq!(s.counts(&s.url).await, (0, 1), "hidden while leased");

    s.source.release(&first).await.unwrap();
    let second = s.receive_one().await;
    assert_eq!(second.envelope, sent);
    assert_eq!(second.attempt, 2, "SQS counts every receive");

    s.source.ack(&second).await.unwrap();
    assert_eq!(s.counts(&s.url).await, (0, 0));
}

#[tokio::test]
async fn extending_keeps_slow_work_hidden_past_the_lease() {
    let s = setup().await;
    s.send(&envelope("SQS-SLOW", 10)).await;
    let d = s.receive_one().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.source.extend(&d).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // 2.5 s after receiving, past the 2 s lease: still hidden.
    assert_eq!(s.counts(&s.url).await, (0, 1));
    s.source.ack(&d).await.unwrap();
    assert_eq!(s.counts(&s.url).await, (0, 0));
}

#[tokio::test]
async fn retryable_failures_back_off_and_the_redrive_policy_dead_letters_them() {
    let s = setup().await;
    let sent = envelope("SQS-RETRY", 10);
    s.send(&sent).await;
    let retry = Failure {
        error: "jira said 503".into(),
        retryable: true,
    };

    let d = s.receive_one().await;
    s.source.nack(&d, &retry).await.unwrap();
    assert_eq!(s.counts(&s.url).await, (0, 1), "hidden for the backoff");
    let d = s.receive_one().await;
    assert_eq!(d.attempt, 2);
    s.source.nack(&d, &retry).await.unwrap();

    // A third receive exceeds maxReceiveCount (2): SQS moves it to the dead-letter queue.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(s.source.receive(1).await.unwrap().is_empty());
    let moved = drain_queue(&s.sdk, &s.dlq_url, 1, Duration::from_secs(5)).await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["detail"]["id"], sent.id.to_string().as_str());
    // Retryable failures are the queue's to dead-letter, not the store's.
    assert!(
        s.store
            .list_dead_letters(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_permanent_failure_becomes_a_store_dead_letter_with_its_raw_delivery() {
    let s = setup().await;
    let sent = envelope("SQS-BAD", 10);
    let id = sent.id.to_string();
    s.store
        .put_blob(&raw_key(&id), b"{\"raw\":1}", Duration::from_secs(60))
        .await
        .unwrap();
    s.send(&sent).await;

    let d = s.receive_one().await;
    s.source
        .nack(
            &d,
            &Failure {
                error: "issue type does not exist".into(),
                retryable: false,
            },
        )
        .await
        .unwrap();
    let letter = s.store.dead_letter(&id).await.unwrap().unwrap();
    assert_eq!(letter.error, "issue type does not exist");
    assert_eq!(letter.raw.as_deref(), Some(&b"{\"raw\":1}"[..]));
    assert_eq!(letter.attempts, 1);
    assert_eq!(
        serde_json::from_str::<EventEnvelope>(&letter.payload).unwrap(),
        sent
    );
    assert_eq!(s.counts(&s.url).await, (0, 0), "deleted from the queue");
}

#[tokio::test]
async fn an_unreadable_message_is_set_aside_not_retried_forever() {
    let s = setup().await;
    s.send_raw("this is not an event").await;
    assert!(s.source.receive(1).await.unwrap().is_empty());
    let letters = s.store.list_dead_letters(None, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event_type, "unreadable");
    assert_eq!(letters[0].payload, "this is not an event");
    assert_eq!(s.counts(&s.url).await, (0, 0));
}

#[tokio::test]
async fn an_oversize_event_arrives_whole_through_eventbridge_and_sqs() {
    let s = setup().await;
    let (bus_name, queue_url) = bus_to_queue(&s.sdk, "sir-jira-bridge").await;
    let bus = EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&s.sdk),
        EventBridgeConfig {
            bus_name,
            source: "sir-jira-bridge".into(),
        },
        s.store.clone(),
    );
    let huge = envelope("SQS-HUGE", 400 * 1024);
    bus.publish(&[Outgoing {
        envelope: huge.clone(),
        raw: None,
    }])
    .await
    .unwrap();

    let source = SqsSource::new(
        s.sqs.clone(),
        &queue_url,
        s.store.clone(),
        QueueConfig {
            workers: 1,
            max_attempts: 8,
            lease: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(1),
            retention: Duration::from_secs(3600),
        },
    )
    .with_wait(Duration::from_secs(1));
    let mut got = Vec::new();
    for _ in 0..10 {
        got = source.receive(1).await.unwrap();
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envelope, huge);
}

#[tokio::test]
async fn sqs_workers_process_what_the_gateway_published() {
    let sdk = moto_sdk().await;
    let (bus, queue_url) = bus_to_queue(&sdk, "sir-jira-bridge").await;
    let recorder = Arc::new(Recorder::default());
    let url = queue_url.clone();
    let app = AwsApp::spawn(
        &sdk,
        |s| {
            s.bus = Some(BusKind::EventBridge);
            s.eventbridge_bus_name = Some(bus);
            s.consumer = Some(ConsumerKind::Sqs);
            s.sqs_queue_url = Some(url);
            s.workers = Some(1);
        },
        Some(recorder.clone()),
    )
    .await;
    let response = app
        .post_signed(&fixture("issue_created.json"), SECRET_NEW, &unique("d"))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    let processed = eventually(Duration::from_secs(15), || async {
        !recorder.0.lock().unwrap().is_empty()
    })
    .await;
    assert!(processed, "the worker never received the event");
    assert_eq!(
        recorder.0.lock().unwrap()[0].event.jira_issue_key(),
        Some("SEC-42")
    );

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let deleted = eventually(Duration::from_secs(5), || async {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        attrs[&QueueAttributeName::ApproximateNumberOfMessages] == "0"
            && attrs[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible] == "0"
    })
    .await;
    assert!(deleted, "acknowledged messages are deleted");
    app.stop().await;
}
