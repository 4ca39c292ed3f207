//! The consumer and poller roles: the handlers the Lambda binary serves, invoked with the
//! events EventBridge sends.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use common::*;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use sir_emulator::{EmulatorConfig, SeedCase, SirEmulator, Timestamp};
use sir_jira_bridge::{
    app::{Components, UnsetSecrets},
    bus::{Failure, eventbridge::envelope_key},
    config::Config,
    event::{Event, EventEnvelope, Origin, jira},
    worker::EventHandler,
};
use sir_jira_bridge_lambda::{InvocationError, consumer, poller};

/// A handler that records what it is given and answers as told.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<EventEnvelope>>,
    fail: Option<Failure>,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        self.seen.lock().unwrap().push(envelope.clone());
        match &self.fail {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }
}

/// A consumer role's components (no secrets needed) running `handler`.
async fn components(handler: Arc<Recorder>) -> (Components, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.jira_webhook_secrets = None;
    s.admin_token = None;
    let mut components = Components::build(Config::from_settings(s).unwrap(), UnsetSecrets::Ignore)
        .await
        .unwrap();
    components.handler = handler;
    (components, dir)
}

fn envelope(summary: &str) -> EventEnvelope {
    EventEnvelope::new(
        Origin::JiraWebhook,
        "d-consumer".into(),
        Event::JiraIssueUpdated(jira::IssueEvent {
            issue: jira::Issue {
                key: "SEC-7".into(),
                summary: Some(summary.into()),
                ..Default::default()
            },
            complete: true,
            ..Default::default()
        }),
    )
}

/// The EventBridge event a rule hands to the function, carrying `detail`.
fn eventbridge_event(detail: Value) -> EventBridgeEvent<Value> {
    let mut event = fixture_json("eventbridge_event.json");
    event["detail"] = detail;
    serde_json::from_value(event).expect("an EventBridge event")
}

async fn invoke(
    components: &Components,
    event: EventBridgeEvent<Value>,
) -> Result<Value, InvocationError> {
    consumer::handle(
        &components.consumer(),
        LambdaEvent::new(event, Context::default()),
    )
    .await
}

#[tokio::test]
async fn the_consumer_runs_the_handler_on_the_envelope_in_the_detail() {
    let recorder = Arc::new(Recorder::default());
    let (components, _dir) = components(recorder.clone()).await;
    let sent = envelope("Suspicious login");
    let answer = invoke(
        &components,
        eventbridge_event(serde_json::to_value(&sent).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(answer["event_id"], sent.id.to_string());
    assert_eq!(answer["type"], "jira.issue.updated");
    assert_eq!(*recorder.seen.lock().unwrap(), vec![sent]);
}

#[tokio::test]
async fn an_oversize_event_is_read_back_from_the_store() {
    let recorder = Arc::new(Recorder::default());
    let (components, _dir) = components(recorder.clone()).await;
    let sent = envelope(&"x".repeat(300 * 1024));
    let key = envelope_key(&sent.id.to_string());
    components
        .store
        .put_blob(
            &key,
            serde_json::to_string(&sent).unwrap().as_bytes(),
            std::time::Duration::from_secs(3600),
        )
        .await
        .unwrap();
    // What the EventBridge publisher sends for it: the envelope without `data`, and where
    // the whole of it is kept.
    let mut detail = serde_json::to_value(&sent).unwrap();
    detail.as_object_mut().unwrap().remove("data");
    detail["payload_ref"] = json!({"store_key": key, "bytes": 307_300});
    invoke(&components, eventbridge_event(detail))
        .await
        .unwrap();
    assert_eq!(*recorder.seen.lock().unwrap(), vec![sent]);
}

#[tokio::test]
async fn a_retryable_failure_fails_the_invocation_for_eventbridge_to_retry() {
    let recorder = Arc::new(Recorder {
        fail: Some(Failure {
            error: "Jira answered 503".into(),
            retryable: true,
        }),
        ..Recorder::default()
    });
    let (components, _dir) = components(recorder.clone()).await;
    let sent = envelope("s");
    let err = invoke(
        &components,
        eventbridge_event(serde_json::to_value(&sent).unwrap()),
    )
    .await
    .unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Consume.Retryable");
    assert!(
        diagnostic.error_message.contains("Jira answered 503"),
        "{diagnostic:?}"
    );
    // Not a dead letter: the retry may succeed.
    assert!(
        components
            .store
            .dead_letter(&sent.id.to_string())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_and_still_fails_the_invocation() {
    let recorder = Arc::new(Recorder {
        fail: Some(Failure {
            error: "SIR refused the request: title too long".into(),
            retryable: false,
        }),
        ..Recorder::default()
    });
    let (components, _dir) = components(recorder.clone()).await;
    let sent = envelope("s");
    let err = invoke(
        &components,
        eventbridge_event(serde_json::to_value(&sent).unwrap()),
    )
    .await
    .unwrap_err();
    assert_eq!(Diagnostic::from(err).error_type, "Consume.DeadLettered");
    let letter = components
        .store
        .dead_letter(&sent.id.to_string())
        .await
        .unwrap()
        .expect("dead letter, replayable through the admin API");
    assert_eq!(letter.event_type, "jira.issue.updated");
    assert!(letter.error.contains("title too long"));
}

#[tokio::test]
async fn sirs_own_case_events_become_case_changes_and_others_are_acknowledged() {
    let recorder = Arc::new(Recorder::default());
    let (components, _dir) = components(recorder.clone()).await;

    // SIR's own event, as the native-events rule delivers it.
    let native: EventBridgeEvent<Value> =
        serde_json::from_value(fixture_json("sir_native_case_updated.json")).unwrap();
    let answer = invoke(&components, native).await.unwrap();
    assert_eq!(answer["status"], "handled");
    assert_eq!(answer["type"], "sir.case.changed");
    {
        let seen = recorder.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].origin, Origin::SirNative);
        assert_eq!(seen[0].event.case_id(), Some("1234567890"));
    }

    // A SIR event about something else than a case: acknowledged, the handler never runs.
    let mut membership = fixture_json("sir_native_case_updated.json");
    membership["detail-type"] = "Membership Updated".into();
    membership["detail"] = json!({"membershipId": "m-0123456789"});
    let answer = invoke(&components, serde_json::from_value(membership).unwrap())
        .await
        .unwrap();
    assert_eq!(answer["status"], "ignored");
    assert_eq!(recorder.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn events_that_are_not_ours_are_dead_lettered_as_unreadable_and_fail() {
    let recorder = Arc::new(Recorder::default());
    let (components, _dir) = components(recorder.clone()).await;
    let err = invoke(&components, eventbridge_event(json!({"hello": "world"})))
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Consume.Unreadable");
    let letter = components
        .store
        .dead_letter("5b2f6c1e-7a3d-4c8e-9f01-2d3e4f5a6b7c")
        .await
        .unwrap()
        .expect("kept under the EventBridge event id");
    assert_eq!(letter.event_type, "unreadable");
    assert!(
        recorder.seen.lock().unwrap().is_empty(),
        "the handler never ran"
    );
}

fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T19:08:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sir-jira-bridge-PollerSchedule"],
        "detail": {}
    })
}

#[tokio::test]
async fn the_poller_role_runs_one_cycle_of_the_sir_poller() {
    let emu = SirEmulator::start(EmulatorConfig::default()).await.unwrap();
    emu.seed_cases(30, |i| SeedCase {
        last_updated_date: Some(Timestamp::from_secs(1_764_000_000 + i as i64)),
        ..SeedCase::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.sir_enabled = Some(true);
    s.sir_endpoint_url = Some(emu.endpoint_url());
    s.sir_region = Some("us-east-1".into());
    // Fake credentials and a region, as on moto: nothing leaves this machine.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "AKIDLAMBDAPOLLER",
            "secret",
            None,
            None,
            "tests",
        ))
        .load()
        .await;
    let components = Components::build_with_aws(
        Config::from_settings(s).unwrap(),
        Some(sdk),
        UnsetSecrets::Ignore,
    )
    .await
    .unwrap();

    let answer = poller::handle(
        &components,
        LambdaEvent::new(scheduled_event(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(answer["status"], "polled", "{answer}");
    assert_eq!(answer["report"]["cases"], 30);
    assert_eq!(
        answer["report"]["changed"], 30,
        "the first run is a backfill"
    );
    assert_eq!(answer["report"]["pages"], 2);
    let queued = components.queue.clone().unwrap().stats().await.unwrap();
    assert_eq!(queued.ready, 30, "one sir.case.changed event per case");

    // The next scheduled run (possibly on another instance: the lease was given back) finds
    // nothing new.
    let answer = poller::handle(
        &components,
        LambdaEvent::new(scheduled_event(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(answer["report"]["changed"], 0, "{answer}");
    assert_eq!(answer["report"]["backfill"], false);
}

#[tokio::test]
async fn without_sir_the_poller_role_fails_loudly() {
    let (components, _dir) = components(Arc::new(Recorder::default())).await;
    let err = poller::handle(
        &components,
        LambdaEvent::new(scheduled_event(), Context::default()),
    )
    .await
    .unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Poll.NotConfigured");
    assert!(
        diagnostic.error_message.contains("sir_enabled"),
        "{diagnostic:?}"
    );
}
