//! The Lambda roles on the AWS backends, against moto (which `scripts/test` starts): the gateway
//! handler reads its secrets from SSM references, publishes to EventBridge; a rule delivers
//! the event; the consumer handler takes that exact EventBridge event and runs the handler.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use common::*;
use lambda_http::{Adapter, Context, LambdaEvent, Service, request::LambdaRequest};
use serde_json::Value;
use sir_jira_bridge::{
    app::{Components, UnsetSecrets},
    bus::Failure,
    config::{BusKind, Config, Settings, StoreKind},
    event::EventEnvelope,
    secret::Secret,
    store::DynamoStore,
    worker::EventHandler,
};
use sir_jira_bridge_lambda::consumer;

/// A resource name no other test uses (tests share one moto server).
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// moto's SDK configuration: fake credentials, a fixed region, the endpoint scripts/test set.
async fn moto() -> aws_config::SdkConfig {
    let endpoint = std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is unset: run scripts/test, which starts moto's server")
    });
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

#[derive(Default)]
struct Recorder(Mutex<Vec<EventEnvelope>>);

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        self.0.lock().unwrap().push(envelope.clone());
        Ok(())
    }
}

#[tokio::test]
async fn gateway_to_eventbridge_to_consumer_on_aws_backends() {
    let sdk = moto().await;
    // The stack's resources, as the template declares them.
    let table = unique("sir-state");
    DynamoStore::from_sdk(&sdk, &table)
        .create_table()
        .await
        .unwrap();
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = unique("sir-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    // moto cannot invoke a Lambda: an SQS target records the exact event a Lambda target gets.
    let queue_url = sqs
        .create_queue()
        .queue_name(unique("sir-events"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let rule = unique("issue-to-case");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["sir-jira-bridge"],"detail-type":[{"prefix":"jira."},{"prefix":"sync.issue."}]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("consumer")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // The secrets the deploy command writes, referenced as the template references them.
    let prefix = format!("/{}", unique("sir"));
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for (name, value) in [("jiraWebhookSecret", SECRET), ("adminToken", ADMIN_TOKEN)] {
        ssm.put_parameter()
            .name(format!("{prefix}/{name}"))
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let aws_settings = |s: Settings| Settings {
        bus: Some(BusKind::EventBridge),
        eventbridge_bus_name: Some(bus.clone()),
        store: Some(StoreKind::DynamoDb),
        dynamodb_table: Some(table.clone()),
        workers: Some(0),
        ..s
    };
    let gateway = Components::build_with_aws(
        Config::from_settings(aws_settings(Settings {
            jira_webhook_secrets: Some(vec![Secret::new(format!(
                "ssm:{prefix}/jiraWebhookSecret"
            ))]),
            admin_token: Some(Secret::new(format!("ssm:{prefix}/adminToken"))),
            data_dir: Some(dir.path().to_owned()),
            ..Settings::default()
        }))
        .unwrap(),
        Some(sdk.clone()),
        UnsetSecrets::Refuse,
    )
    .await
    .unwrap();

    let body = workspace_fixture("jira", "issue_updated_status.json");
    let event = Call::signed(&body, SECRET, "d-aws")
        .base64()
        .function_url_event();
    let request: LambdaRequest = serde_json::from_value(event).unwrap();
    let mut adapter = Adapter::from(gateway.router());
    std::future::poll_fn(|cx| adapter.poll_ready(cx))
        .await
        .unwrap();
    let response = serde_json::to_value(
        adapter
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(response["statusCode"], 202, "{response}");

    // The event EventBridge delivered.
    let mut delivered: Option<Value> = None;
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages.unwrap_or_default().into_iter().next() {
            delivered = Some(serde_json::from_str(m.body().unwrap()).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = delivered.expect("EventBridge delivered the event");
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(delivered).expect("an EventBridge event");
    assert_eq!(event.source, "sir-jira-bridge");

    // The consumer role, on the same backends and without any secret.
    let recorder = Arc::new(Recorder::default());
    let mut consumer_components = Components::build_with_aws(
        Config::from_settings(aws_settings(Settings {
            data_dir: Some(dir.path().join("consumer")),
            ..Settings::default()
        }))
        .unwrap(),
        Some(sdk.clone()),
        UnsetSecrets::Ignore,
    )
    .await
    .unwrap();
    consumer_components.handler = recorder.clone();
    let answer = consumer::handle(
        &consumer_components.consumer(),
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(answer["status"], "handled");
    let seen = recorder.0.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].delivery_id, "d-aws");
    assert_eq!(seen[0].event.jira_issue_key(), Some("SEC-42"));
}
