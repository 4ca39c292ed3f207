//! Event delivery to a real EventBridge API: moto's server, which `scripts/test` starts and
//! names in `MOTO_ENDPOINT`. Without it these tests say so and pass vacuously.

use std::time::Duration;

use serde_json::{Value, json};
use sir_emulator::{EmulatorConfig, EventBridgeTarget, SirEmulator};

fn moto() -> Option<String> {
    let endpoint = std::env::var("MOTO_ENDPOINT").ok();
    if endpoint.is_none() {
        eprintln!("MOTO_ENDPOINT is not set: skipping the EventBridge delivery test");
    }
    endpoint
}

/// One call in the AWS JSON protocol (moto checks no signature, but reads the scope).
async fn aws_json(
    endpoint: &str,
    service: &str,
    target: &str,
    version: &str,
    body: Value,
) -> Value {
    let resp = reqwest::Client::new()
        .post(endpoint)
        .header("content-type", format!("application/x-amz-json-{version}"))
        .header("x-amz-target", target)
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20261126/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"),
        )
        .body(body.to_string())
        .send()
        .await
        .expect("moto answers");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{target} failed: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn events_reach_an_eventbridge_rule_target() {
    let Some(moto) = moto() else { return };
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let bus = format!("sir-emu-{suffix}");
    let queue = format!("sir-emu-{suffix}");
    aws_json(
        &moto,
        "events",
        "AWSEvents.CreateEventBus",
        "1.1",
        json!({ "Name": bus }),
    )
    .await;
    let q = aws_json(
        &moto,
        "sqs",
        "AmazonSQS.CreateQueue",
        "1.0",
        json!({ "QueueName": queue }),
    )
    .await;
    let queue_url = q["QueueUrl"].as_str().unwrap().to_string();
    aws_json(
        &moto,
        "events",
        "AWSEvents.PutRule",
        "1.1",
        json!({
            "Name": "sir-cases",
            "EventBusName": bus,
            "EventPattern": json!({ "source": ["aws.security-ir"] }).to_string(),
        }),
    )
    .await;
    aws_json(
        &moto,
        "events",
        "AWSEvents.PutTargets",
        "1.1",
        json!({
            "Rule": "sir-cases",
            "EventBusName": bus,
            "Targets": [{ "Id": "q", "Arn": format!("arn:aws:sqs:us-east-1:123456789012:{queue}") }],
        }),
    )
    .await;

    let emu = SirEmulator::start(
        EmulatorConfig::default().with_event_bridge(EventBridgeTarget::new(&moto, &bus)),
    )
    .await
    .unwrap();
    let id = crate::create(&emu.sdk_client(), "Delivered").await;
    emu.analyst().add_comment(&id, "and a comment").unwrap();
    assert!(emu.flush_events(Duration::from_secs(10)).await);
    let stats = emu.event_delivery();
    assert_eq!((stats.delivered, stats.failed), (2, 0), "{stats:?}");

    let mut bodies = Vec::new();
    for _ in 0..10 {
        let got = aws_json(
            &moto,
            "sqs",
            "AmazonSQS.ReceiveMessage",
            "1.0",
            json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10 }),
        )
        .await;
        for m in got["Messages"].as_array().cloned().unwrap_or_default() {
            bodies.push(serde_json::from_str::<Value>(m["Body"].as_str().unwrap()).unwrap());
        }
        if bodies.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut types: Vec<&str> = bodies
        .iter()
        .map(|b| b["detail-type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["Case Comment Added", "Case Created"]);
    for b in &bodies {
        assert_eq!(b["source"], "aws.security-ir");
        assert_eq!(b["detail"]["caseId"], id);
        assert_eq!(b["resources"][0], emu.case(&id).unwrap().case_arn);
    }
}

#[tokio::test]
async fn a_missing_bus_counts_as_failed_delivery() {
    let Some(moto) = moto() else { return };
    let emu = SirEmulator::start(EmulatorConfig::default().with_event_bridge(
        EventBridgeTarget::new(
            &moto,
            format!("no-such-bus-{}", uuid::Uuid::new_v4().simple()),
        ),
    ))
    .await
    .unwrap();
    crate::create(&emu.sdk_client(), "Undeliverable").await;
    assert!(emu.flush_events(Duration::from_secs(10)).await);
    let stats = emu.event_delivery();
    assert_eq!(stats.failed, 1, "{stats:?}");
    assert!(stats.last_error.is_some());
    // The API call itself was not affected, and the in-memory history still has the event.
    assert_eq!(emu.events().len(), 1);
}
