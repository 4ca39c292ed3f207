//! Each role runs under exactly its documented policy with IAM enforced, in a moto server of its
//! own (MOTO_IAM_ENDPOINT: enforcement is server-wide and would fail every other test).
//!
//! The Lambda roles' policies are the template's statements, the container's is the action list
//! deploy/container.md documents. What moto can and cannot check:
//! - it authorizes the action, so a missing action (BatchGetItem, DescribeEventBus,
//!   GetQueueAttributes, before this test) is AccessDenied as in AWS;
//! - it compares a statement's Resource with the request's resource only for SQS; for the
//!   other services it matches against `*`, so the policies here keep their actions and grant
//!   them on `*` (the resources are checked by the template tests, not here);
//! - Security Incident Response is not in moto (its emulator does not enforce IAM).

use std::{collections::BTreeSet, time::Duration};

use aws_sdk_dynamodb::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
    types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType},
};
use serde_json::{Value as Json, json};
use sir_jira_bridge::{
    aws::{SecretResolver, permissions::Role},
    secret::{SecretRef, SecretSource},
    store::{DynamoStore, Mapping, StateStore},
};

use crate::helpers::{container_actions, sdk_as, template, template_actions, unique};

fn iam_endpoint() -> String {
    std::env::var("MOTO_IAM_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_IAM_ENDPOINT is unset: run scripts/test, which starts a second moto server \
             for the IAM-enforced tests"
        )
    })
}

/// Sets how many more requests moto serves before it authenticates and authorizes each one.
async fn unauthenticated_requests(endpoint: &str, count: &str) {
    let url = format!("{endpoint}/moto-api/reset-auth");
    let response = http_post(&url, count).await;
    assert!(response.contains("ok"), "{response}");
}

/// A plain HTTP/1.1 POST over loopback: the test needs nothing more than this one call.
async fn http_post(url: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// The role's documented statements as a policy document (Resource `*`, see above).
fn documented_policy(role: Role) -> Json {
    let actions: BTreeSet<String> = match role.template_role() {
        Some(logical_id) => template_actions(&template(), logical_id),
        None => container_actions(),
    };
    assert!(!actions.is_empty(), "{role:?}");
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    })
}

/// What the test creates while moto still lets anything through.
struct World {
    table: String,
    bus: String,
    queue_url: String,
    topic_arn: String,
    parameter: String,
    secret: String,
}

async fn create_world(sdk: &aws_config::SdkConfig) -> World {
    let table = unique("iam-state");
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(&table)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let bus = unique("iam-bus");
    aws_sdk_eventbridge::Client::new(sdk)
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(unique("iam-queue"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // Messages for the container's consumer to receive, extend and delete.
    for n in 0..5 {
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(format!("{{\"n\": {n}}}"))
            .send()
            .await
            .unwrap();
    }
    let topic_arn = aws_sdk_sns::Client::new(sdk)
        .create_topic()
        .name(unique("iam-topic"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let parameter = format!("/{}/jiraToken", unique("iam"));
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(&parameter)
        .value("a-jira-token-value")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let secret = unique("iam-secret");
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(&secret)
        .secret_string("a-webhook-secret-value")
        .send()
        .await
        .unwrap();
    World {
        table,
        bus,
        queue_url,
        topic_arn,
        parameter,
        secret,
    }
}

/// An IAM user holding exactly `policy`; returns its access key.
async fn user_with(iam: &aws_sdk_iam::Client, policy: &Json) -> (String, String) {
    let name = unique("role");
    iam.create_user().user_name(&name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(&name)
        .policy_name("documented")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(&name)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    (key.access_key_id, key.secret_access_key)
}

/// Outcome of one call: allowed (whatever else happened), or refused by IAM. moto answers a
/// refusal with 403 and an XML body even to the JSON services, whose SDKs then find no error
/// code in it: the status tells.
fn denied<E: ProvideErrorMetadata>(result: &Result<impl Sized, SdkError<E, HttpResponse>>) -> bool {
    result.as_ref().err().is_some_and(|e| {
        e.raw_response().is_some_and(|r| r.status().as_u16() == 403)
            || e.code().is_some_and(|c| c.contains("AccessDenied"))
    })
}

/// Runs, as `role`'s user, each call the moto-emulated services answer, and returns the
/// actions IAM refused.
async fn refused(sdk: &aws_config::SdkConfig, world: &World, role: Role) -> BTreeSet<&'static str> {
    let mut refused = BTreeSet::new();

    // The state store through the service's own code: every store action it takes.
    let store = DynamoStore::from_sdk(sdk, &world.table);
    let workout = async {
        let key = unique("delivery");
        store.claim_delivery(&key, Duration::from_secs(30)).await?;
        store
            .confirm_delivery(&key, Duration::from_secs(60))
            .await?;
        let case_id = format!("{}", 1_000_000_000u64 + u64::from(rand_u16()));
        store
            .insert_mapping(&Mapping {
                case_id: case_id.clone(),
                issue_key: format!("SEC-{}", rand_u16()),
                issue_id: None,
            })
            .await?;
        store.mapping_by_case(&case_id).await?;
        store.list_mappings(None, 10).await?;
        let names: Vec<String> = (0..3)
            .map(|n| format!("sir.case.{n}.last_updated"))
            .collect();
        let entries: Vec<(String, String)> = names
            .iter()
            .map(|n| (n.clone(), "2026-01-01T00:00:00Z".into()))
            .collect();
        store.put_checkpoints(&entries).await?;
        // The poller's watermark read (BatchGetItem): AccessDenied under the old policies.
        store.checkpoints(&names).await?;
        let lease = unique("lease");
        store
            .acquire_lease(&lease, "me", Duration::from_secs(30))
            .await?;
        store.release_lease(&lease, "me").await?;
        let blob = unique("blob");
        store
            .put_blob(&blob, &vec![7u8; 300 * 1024], Duration::from_secs(60))
            .await?;
        store.blob(&blob).await?;
        store.delete_dead_letter("no-such-letter").await?;
        Ok::<(), sir_jira_bridge::store::StoreError>(())
    };
    if let Err(e) = workout.await {
        let text = e.to_string();
        assert!(
            is_denial(&text),
            "{role:?}: the store failed for another reason: {text}"
        );
        // Which call IAM refused is in the text; the set names the store as a whole.
        eprintln!("{role:?}: the store was refused: {text}");
        refused.insert("dynamodb (the store)");
    }
    let mut note = |action: &'static str, was_denied: bool| {
        if was_denied {
            refused.insert(action);
        }
    };

    // Secrets by reference, through the service's resolver.
    let secrets = SecretResolver::new(Some(sdk));
    let ssm = secrets
        .fetch(&SecretRef::Ssm(world.parameter.clone()))
        .await;
    note(
        "ssm:GetParameter",
        ssm.as_ref().err().is_some_and(|e| is_denial(e)),
    );
    if let Ok(value) = &ssm {
        assert_eq!(value, "a-jira-token-value");
    }
    let sm = secrets
        .fetch(&SecretRef::SecretsManager {
            id: world.secret.clone(),
            key: None,
        })
        .await;
    note(
        "secretsmanager:GetSecretValue",
        sm.as_ref().err().is_some_and(|e| is_denial(e)),
    );

    let events = aws_sdk_eventbridge::Client::new(sdk);
    let put = events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(&world.bus)
                .source("sir-jira-bridge")
                .detail_type("sync.case.requested")
                .detail("{}")
                .build(),
        )
        .send()
        .await;
    note("events:PutEvents", denied(&put));
    let describe = events.describe_event_bus().name(&world.bus).send().await;
    note("events:DescribeEventBus", denied(&describe));

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&world.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await;
    note("sqs:GetQueueAttributes", denied(&attributes));
    let received = sqs
        .receive_message()
        .queue_url(&world.queue_url)
        .send()
        .await;
    note("sqs:ReceiveMessage", denied(&received));
    // Without a message of its own, a made-up handle still tells IAM's answer apart.
    let handle = received
        .ok()
        .and_then(|r| r.messages?.into_iter().next()?.receipt_handle)
        .unwrap_or_else(|| "made-up-handle".into());
    let visibility = sqs
        .change_message_visibility()
        .queue_url(&world.queue_url)
        .receipt_handle(&handle)
        .visibility_timeout(30)
        .send()
        .await;
    note("sqs:ChangeMessageVisibility", denied(&visibility));
    let deleted = sqs
        .delete_message()
        .queue_url(&world.queue_url)
        .receipt_handle(&handle)
        .send()
        .await;
    note("sqs:DeleteMessage", denied(&deleted));

    let listed = aws_sdk_sns::Client::new(sdk)
        .list_subscriptions_by_topic()
        .topic_arn(&world.topic_arn)
        .send()
        .await;
    note("sns:ListSubscriptionsByTopic", denied(&listed));
    refused
}

/// How an IAM refusal reads once the service's own code has described it.
fn is_denial(text: &str) -> bool {
    text.contains("AccessDenied") || text.contains("not authorized")
}

fn rand_u16() -> u16 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 60_000) as u16
}

#[tokio::test]
async fn each_role_works_under_exactly_its_documented_policy_with_iam_enforced() {
    let endpoint = iam_endpoint();
    unauthenticated_requests(&endpoint, "inf").await;
    let admin = sdk_as(&endpoint, "testing", "testing").await;
    let world = create_world(&admin).await;
    let iam = aws_sdk_iam::Client::new(&admin);
    let mut keys = Vec::new();
    for role in Role::ALL {
        keys.push((role, user_with(&iam, &documented_policy(role)).await));
    }
    // From here on every request is authenticated and authorized.
    unauthenticated_requests(&endpoint, "0").await;

    // The store's actions are granted together; the rest one by one.
    let checked: BTreeSet<&str> = [
        "ssm:GetParameter",
        "secretsmanager:GetSecretValue",
        "events:PutEvents",
        "events:DescribeEventBus",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sns:ListSubscriptionsByTopic",
    ]
    .into();
    let mut failures = Vec::new();
    for (role, (id, secret)) in keys {
        let sdk = sdk_as(&endpoint, &id, &secret).await;
        let refused = refused(&sdk, &world, role).await;
        let actions = role.actions();
        let expected: BTreeSet<&str> = checked
            .iter()
            .copied()
            .filter(|a| !actions.contains(a))
            .collect();
        if refused != expected {
            failures.push(format!(
                "{role:?}: refused {refused:?}, expected exactly the ungranted {expected:?}"
            ));
        }
    }
    unauthenticated_requests(&endpoint, "inf").await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
