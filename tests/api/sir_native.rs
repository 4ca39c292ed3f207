//! SIR's own EventBridge events (`source: aws.security-ir`) from the SIR emulator: converted
//! in memory, and delivered through moto's EventBridge → SQS to the container deployment's
//! consumer, next to the poller's events.

use std::{collections::HashSet, sync::Arc, time::Duration};

use serde_json::json;
use sir_emulator::{
    CaseStatus as EmuStatus, ClosureCode, EmulatorConfig, EventBridgeTarget, SirEmulator,
};
use sir_jira_bridge::{
    bus::{EventSource, SqsSource, eventbridge},
    config::{BusKind, ConsumerKind, QueueConfig},
    event::{
        Event, Origin,
        sir::{CaseChange, Native, from_native},
    },
    metrics::Metrics,
};

use crate::helpers::*;

#[tokio::test]
async fn every_case_event_of_the_emulator_becomes_sir_case_changed() {
    let emu = sir_emulator().await;
    let mut rx = emu.subscribe_events();
    let client = emu.sdk_client();
    let case_id = client
        .create_case()
        .title("Native")
        .description("From the API")
        .engagement_type(aws_sdk_securityir::types::EngagementType::SecurityIncident)
        .resolver_type(aws_sdk_securityir::types::ResolverType::SelfValue)
        .reported_incident_start_date(aws_sdk_securityir::primitives::DateTime::from_secs(
            1_764_000_000,
        ))
        .impacted_accounts("123456789012")
        .watchers(
            aws_sdk_securityir::types::Watcher::builder()
                .email("secops@example.com")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .case_id;
    let analyst = emu.analyst();
    let comment = analyst.add_comment(&case_id, "Scoping").unwrap();
    analyst
        .edit_comment(&case_id, &comment, "Scoping, edited")
        .unwrap();
    analyst
        .set_status(&case_id, EmuStatus::DetectionAndAnalysis)
        .unwrap();
    analyst.close(&case_id, ClosureCode::FalsePositive).unwrap();

    let mut changes = Vec::new();
    for _ in 0..5 {
        let native = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let Native::Changed(env) = from_native(&native.to_json()).unwrap() else {
            panic!("{native:?}");
        };
        assert_eq!(env.origin, Origin::SirNative);
        assert_eq!(env.delivery_id, native.id, "the EventBridge event id");
        let Event::SirCaseChanged(c) = env.event else {
            panic!("{env:?}")
        };
        assert_eq!(c.case_id, case_id);
        // The emulator shows account ids, as SIR's events do.
        assert_eq!(c.actor.as_deref(), Some("123456789012"));
        changes.push(c.change);
    }
    assert_eq!(
        changes,
        [
            CaseChange::Created,
            CaseChange::CommentAdded,
            CaseChange::CommentUpdated,
            CaseChange::Updated,
            CaseChange::Closed
        ]
    );
}

/// A bus in moto with the native rule (and the rule for the service's own `sir.*` events)
/// targeting a new queue. Returns the bus name and the queue URL.
async fn sir_bus_to_queue(sdk: &aws_config::SdkConfig) -> (String, String) {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let bus = unique("sir-native");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue_url = create_queue(sdk, &unique("sir-native"), None).await;
    let arn = queue_arn(&sqs, &queue_url).await;
    for (rule, pattern) in [
        ("native", eventbridge::native_sir_events_pattern()),
        ("own", eventbridge::sir_events_pattern("sir-jira-bridge")),
    ] {
        events
            .put_rule()
            .name(rule)
            .event_bus_name(&bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule(rule)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(&arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    (bus, queue_url)
}

#[tokio::test]
async fn native_events_through_eventbridge_and_sqs_become_case_events_and_others_are_dropped() {
    let sdk = moto_sdk().await;
    let (bus, queue_url) = sir_bus_to_queue(&sdk).await;
    let emu = SirEmulator::start(
        EmulatorConfig::default().with_event_bridge(EventBridgeTarget::new(moto_endpoint(), &bus)),
    )
    .await
    .unwrap();
    let case_id = emu.analyst().create_case(Default::default());
    emu.analyst().add_comment(&case_id, "Hello").unwrap();
    assert!(emu.flush_events(Duration::from_secs(10)).await);

    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let source = SqsSource::new(
        sqs.clone(),
        &queue_url,
        sqlite_store(dir.path()),
        QueueConfig {
            workers: 1,
            max_attempts: 8,
            lease: Duration::from_secs(30),
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(2),
            retention: Duration::from_secs(3600),
        },
    )
    .with_wait(Duration::from_secs(1))
    .with_metrics(metrics.clone());

    let mut got = Vec::new();
    for _ in 0..20 {
        got.extend(source.receive(10).await.unwrap());
        if got.len() >= 2 {
            break;
        }
    }
    assert_eq!(got.len(), 2);
    // EventBridge gives each event its own id on delivery: that is the delivery id.
    let delivery_ids: HashSet<String> =
        got.iter().map(|d| d.envelope.delivery_id.clone()).collect();
    assert_eq!(delivery_ids.len(), 2);
    assert!(
        delivery_ids
            .iter()
            .all(|id| uuid::Uuid::parse_str(id).is_ok())
    );
    let mut changes = Vec::new();
    for d in &got {
        assert_eq!(d.envelope.origin, Origin::SirNative);
        let Event::SirCaseChanged(c) = &d.envelope.event else {
            panic!("{:?}", d.envelope)
        };
        assert_eq!(c.case_id, case_id);
        changes.push(c.change);
        source.ack(d).await.unwrap();
    }
    changes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(changes, [CaseChange::CommentAdded, CaseChange::Created]);

    // A SIR event that is not about a case: acknowledged (deleted), counted, never handed on.
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body(
            json!({
                "version": "0", "id": "11111111-2222-3333-4444-555555555555",
                "detail-type": "Membership Updated", "source": "aws.security-ir",
                "account": "123456789012", "time": "2026-11-26T14:30:00Z", "region": "us-east-1",
                "resources": [], "detail": {"membershipId": "m-1"}
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(source.receive(10).await.unwrap().is_empty());
    }
    let text = metrics.render(None);
    assert!(
        text.contains(
            r#"sir_jira_ignored_deliveries_total{source="sir",reason="unhandled_detail_type"} 1"#
        ),
        "{text}"
    );
    let left = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(left.messages.unwrap_or_default().is_empty(), "deleted");
}

/// The container deployment: SIR's events and the poller's both reach the workers through
/// EventBridge and SQS.
#[tokio::test]
async fn in_the_container_deployment_native_and_polled_events_reach_the_workers() {
    let sdk = moto_sdk().await;
    let (bus, queue_url) = sir_bus_to_queue(&sdk).await;
    let emu = SirEmulator::start(
        EmulatorConfig::default().with_event_bridge(EventBridgeTarget::new(moto_endpoint(), &bus)),
    )
    .await
    .unwrap();
    let seeded = emu.seed_cases(3, |_| Default::default());
    let recorder = Arc::new(Recorder::default());
    let endpoint = emu.endpoint_url();
    let app = AwsApp::spawn(
        &sdk,
        |s| {
            s.bus = Some(BusKind::EventBridge);
            s.eventbridge_bus_name = Some(bus);
            s.consumer = Some(ConsumerKind::Sqs);
            s.sqs_queue_url = Some(queue_url);
            s.workers = Some(1);
            s.sir_enabled = Some(true);
            s.sir_endpoint_url = Some(endpoint);
            s.sir_poll_interval_secs = Some(1);
        },
        Some(recorder.clone()),
    )
    .await;

    // The poller's first run backfills the three seeded cases.
    let backfilled = eventually(Duration::from_secs(20), || async {
        recorder.0.lock().unwrap().len() >= 3
    })
    .await;
    assert!(backfilled, "the backfill never reached the workers");
    let new = emu.analyst().create_case(Default::default());
    assert!(emu.flush_events(Duration::from_secs(10)).await);
    let native = eventually(Duration::from_secs(20), || async {
        recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.origin == Origin::SirNative && e.event.case_id() == Some(new.as_str()))
    })
    .await;
    assert!(native, "the native event never reached the workers");
    let seen = recorder.0.lock().unwrap().clone();
    for id in &seeded {
        assert!(seen.iter().any(|e| e.origin == Origin::SirPoller
            && e.event.case_id() == Some(id.as_str())
            && matches!(&e.event, Event::SirCaseChanged(c) if c.change == CaseChange::Backfill)));
    }
    app.stop().await;
}
