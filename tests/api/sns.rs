//! `POST /webhooks/sns` through real HTTP: messages signed exactly as SNS signs them, with a
//! key and certificate made here, and certificates served by a loopback stand-in for
//! `sns.<region>.amazonaws.com` (the app's `sns_endpoint_url`), which counts every request.
//! The URL rules themselves stay at their defaults (AWS hosts only) in every test.

use std::{
    sync::{Arc, Mutex, OnceLock, atomic::Ordering},
    time::Duration,
};

use async_trait::async_trait;
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, Uri},
    response::IntoResponse,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, pkcs8::DecodePrivateKey};
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use sir_jira_bridge::{
    bus::EventFilter,
    event::{Event, Origin},
    http::router,
    verify::sns::{AllowedUrl, FetchError, Fetcher},
};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::{helpers::*, intake::parts_with};

pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:JiraNotificationsTopic";
const OTHER_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:SomeoneElsesTopic";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem";
const PLACEHOLDER: &str = "<base64 RSA signature over the string to sign>";

// ---------------------------------------------------------------------------------------------
// Signing as SNS does

struct TestKey {
    private: RsaPrivateKey,
    cert_pem: String,
}

fn make_key(from: time::Duration, until: time::Duration) -> TestKey {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["sns.us-east-1.amazonaws.com".into()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + from;
    params.not_after = now + until;
    let cert = params.self_signed(&key).unwrap();
    TestKey {
        private: RsaPrivateKey::from_pkcs8_der(&key.serialize_der()).unwrap(),
        cert_pem: cert.pem(),
    }
}

fn key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| make_key(-time::Duration::days(1), time::Duration::days(365)))
}

/// The string SNS signs, written out here independently of the code under test: `Key\nValue\n`
/// for the keys of the message's type, in AWS's order, present keys only.
fn string_to_sign(msg: &Value) -> String {
    let keys: &[&str] = match msg["Type"].as_str().unwrap() {
        "Notification" => &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ],
        _ => &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ],
    };
    keys.iter()
        .filter_map(|k| {
            msg.get(*k)
                .map(|v| format!("{k}\n{}\n", v.as_str().unwrap()))
        })
        .collect()
}

fn signature(key: &TestKey, version: &str, msg: &Value) -> String {
    let data = string_to_sign(msg);
    let sig = match version {
        "1" => key
            .private
            .sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(data.as_bytes())),
        "2" => key.private.sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(data.as_bytes()),
        ),
        other => panic!("no signature version {other}"),
    };
    STANDARD.encode(sig.unwrap())
}

/// A fixture from `tests/fixtures/sns/`, signed with `key` under its own SignatureVersion,
/// byte for byte otherwise.
fn signed_fixture(name: &str, key: &TestKey) -> Vec<u8> {
    let text = String::from_utf8(fixture_in("sns", name)).unwrap();
    let msg: Value = serde_json::from_str(&text).unwrap();
    let version = msg["SignatureVersion"].as_str().unwrap();
    text.replace(PLACEHOLDER, &signature(key, version, &msg))
        .into_bytes()
}

/// A signed Notification whose `Message` is `message`.
fn notification(id: &str, message: &str, subject: Option<&str>, version: &str) -> Value {
    let mut msg = json!({
        "Type": "Notification",
        "MessageId": id,
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": "2026-11-26T14:15:01.123Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    });
    if let Some(subject) = subject {
        msg["Subject"] = json!(subject);
    }
    resign(&mut msg);
    msg
}

fn resign(msg: &mut Value) {
    let version = msg["SignatureVersion"].as_str().unwrap().to_owned();
    msg["Signature"] = json!(signature(key(), &version, msg));
}

const AUTOMATION_MESSAGE: &str = r#"{"automationData":{"IssueId":"SEC-42"}}"#;

fn subscription_confirmation(topic: &str) -> Value {
    let token = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92";
    let mut msg = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": token,
        "TopicArn": topic,
        "Message": format!("You have chosen to subscribe to the topic {topic}."),
        "SubscribeURL": format!(
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&Token={token}"
        ),
        "Timestamp": "2026-11-26T14:00:00.000Z",
        "SignatureVersion": "1",
        "SigningCertURL": CERT_URL,
    });
    resign(&mut msg);
    msg
}

// ---------------------------------------------------------------------------------------------
// A loopback stand-in for AWS's SNS hosts

/// Serves the signing certificate at any `.pem` path and answers ConfirmSubscription; records
/// every request it gets.
struct FakeAws {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    cert: Arc<Mutex<(StatusCode, String)>>,
}

impl FakeAws {
    async fn start(cert_pem: &str) -> FakeAws {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let cert = Arc::new(Mutex::new((StatusCode::OK, cert_pem.to_owned())));
        let (seen, served) = (requests.clone(), cert.clone());
        let app = Router::new().fallback(move |uri: Uri| {
            let (seen, served) = (seen.clone(), served.clone());
            async move {
                let path_and_query = uri.path_and_query().unwrap().to_string();
                seen.lock().unwrap().push(path_and_query.clone());
                if uri.path().ends_with(".pem") {
                    served.lock().unwrap().clone().into_response()
                } else if path_and_query.contains("Action=ConfirmSubscription") {
                    "<ConfirmSubscriptionResponse/>".into_response()
                } else {
                    StatusCode::NOT_FOUND.into_response()
                }
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeAws {
            url,
            requests,
            cert,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn cert_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.ends_with(".pem"))
            .count()
    }

    fn serve_cert(&self, status: StatusCode, body: &str) {
        *self.cert.lock().unwrap() = (status, body.to_owned());
    }
}

/// An app that accepts [`TOPIC`] and fetches from `aws`.
async fn spawn_app(aws: &FakeAws) -> TestApp {
    let endpoint = aws.url.clone();
    TestApp::spawn_with(|s| {
        s.sns_topic_arns = Some(vec![TOPIC.into()]);
        s.sns_endpoint_url = Some(endpoint);
    })
    .await
}

async fn post(
    app: &TestApp,
    body: impl Into<Vec<u8>>,
    message_type: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/webhooks/sns"))
        .header("content-type", "text/plain; charset=UTF-8")
        .header("user-agent", "Amazon Simple Notification Service Agent");
    if let Some(t) = message_type {
        request = request.header("x-amz-sns-message-type", t);
    }
    request.body(body.into()).send().await.unwrap()
}

async fn post_json(app: &TestApp, msg: &Value) -> reqwest::Response {
    let message_type = msg["Type"].as_str().map(str::to_owned);
    post(app, msg.to_string(), message_type.as_deref()).await
}

/// Certificate fetches the app started, from its `/metrics`.
async fn cert_fetches(app: &TestApp) -> f64 {
    app.metric("sir_jira_sns_certificate_fetches_total").await
}

/// SNS verification failures with `reason`, from the app's `/metrics`.
async fn failures(app: &TestApp, reason: &str) -> f64 {
    app.metric(&format!(
        "sir_jira_verification_failures_total{{source=\"sns\",reason=\"{reason}\"}}"
    ))
    .await
}

fn recent(limit: usize) -> EventFilter {
    EventFilter {
        limit,
        ..EventFilter::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Notifications

#[tokio::test]
async fn a_signed_automation_notification_is_verified_normalized_and_queued() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;
    let body = signed_fixture("notification_jira_automation.json", key());

    // The fixture's headers, as SNS sends them.
    let headers = String::from_utf8(fixture_in("sns", "headers.txt")).unwrap();
    let mut request = app.client.post(app.url("/webhooks/sns"));
    for line in headers
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(": "))
    {
        let (name, value) = line.split_once(": ").unwrap();
        request = request.header(name, value);
    }
    let response = request.body(body.clone()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "accepted");

    let events = app.queue.recent(&recent(10)).await.unwrap();
    assert_eq!(events.len(), 1);
    let env = &events[0].envelope;
    assert_eq!(answer["event_ids"][0], env.id.to_string());
    assert_eq!(env.origin, Origin::JiraAutomationSns);
    assert_eq!(env.delivery_id, "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324");
    let Event::JiraIssueUpdated(e) = &env.event else {
        panic!("wrong event type: {:?}", env.event)
    };
    assert_eq!(e.issue.key, "SEC-42");
    assert_eq!(e.issue.project_key.as_deref(), Some("SEC"));
    assert!(
        !e.complete,
        "only the key arrived: the consumer must fetch the issue"
    );
    assert_eq!(
        serde_json::to_value(env).unwrap()["origin"],
        "jira_automation_sns"
    );
    assert_eq!(
        aws.requests(),
        ["/SimpleNotificationService-0000000000000000000000000000000.pem"]
    );

    // SNS retries with the same MessageId: acknowledged, not queued twice.
    let again = post(&app, body, Some("Notification")).await;
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(app.queued().await, 1);
}

#[tokio::test]
async fn both_signature_versions_verify_with_and_without_subject() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;
    let mut n = 0;
    for version in ["1", "2"] {
        for subject in [None, Some("Jira Automation: SEC-42 changed")] {
            n += 1;
            let msg = notification(&format!("m-{n}"), AUTOMATION_MESSAGE, subject, version);
            let r = post_json(&app, &msg).await;
            assert_eq!(r.status().as_u16(), 202, "v{version} subject {subject:?}");
        }
    }
    assert_eq!(app.queued().await, 4);
    assert_eq!(aws.cert_requests(), 1);
}

#[tokio::test]
async fn a_one_byte_change_in_any_signed_field_is_refused() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;
    let good = notification("m-1", AUTOMATION_MESSAGE, Some("Subject"), "2");

    for field in ["Message", "MessageId", "Subject", "Timestamp"] {
        let mut msg = good.clone();
        let mut value = msg[field].as_str().unwrap().to_owned().into_bytes();
        let last = value.len() - 1;
        value[last] ^= 0x01;
        msg[field] = json!(String::from_utf8(value).unwrap());
        let r = post_json(&app, &msg).await;
        let message = expect_error(r, 401).await;
        assert!(
            message.contains("signature does not match"),
            "{field}: {message}"
        );
    }
    // The topic: another allowed-looking topic fails verification, not the allow-list
    // (the app allows both here so the signature is what refuses it).
    let app2 = {
        let endpoint = aws.url.clone();
        TestApp::spawn_with(|s| {
            s.sns_topic_arns = Some(vec![
                TOPIC.into(),
                "arn:aws:sns:us-east-1:123456789012:JiraNotificationsTopid".into(),
            ]);
            s.sns_endpoint_url = Some(endpoint);
        })
        .await
    };
    let mut msg = good.clone();
    msg["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:JiraNotificationsTopid");
    expect_error(post_json(&app2, &msg).await, 401).await;
    // The Type: no longer a Notification at all.
    let mut msg = good.clone();
    msg["Type"] = json!("Notificatiom");
    expect_error(post(&app, msg.to_string(), None).await, 400).await;
    // The signature itself.
    let mut msg = good.clone();
    let mut sig = STANDARD.decode(msg["Signature"].as_str().unwrap()).unwrap();
    sig[100] ^= 0x01;
    msg["Signature"] = json!(STANDARD.encode(sig));
    expect_error(post_json(&app, &msg).await, 401).await;
    // Subject added or removed after signing.
    let mut msg = good.clone();
    msg.as_object_mut().unwrap().remove("Subject");
    expect_error(post_json(&app, &msg).await, 401).await;

    assert_eq!(app.queued().await + app2.queued().await, 0);
    assert_eq!(failures(&app, "bad_signature").await, 6.0);
    // The untouched message still verifies.
    assert_eq!(post_json(&app, &good).await.status().as_u16(), 202);
}

#[tokio::test]
async fn every_message_format_normalizes_like_the_jira_route() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;

    // A plain Jira webhook body published to the topic, and the same body on the Jira route.
    let webhook = String::from_utf8(fixture("issue_created.json")).unwrap();
    let r = post_json(&app, &notification("m-webhook", &webhook, None, "2")).await;
    assert_eq!(r.status().as_u16(), 202);
    let r = app
        .post_signed(webhook.as_bytes(), SECRET_NEW, "jira-delivery")
        .await;
    assert_eq!(r.status().as_u16(), 202);

    // "Issue data (Jira format)": the issue itself.
    let issue: Value = serde_json::from_str(&webhook).unwrap();
    let issue_data = issue["issue"].to_string();
    let r = post_json(&app, &notification("m-issue", &issue_data, None, "2")).await;
    assert_eq!(r.status().as_u16(), 202);

    let events = app.queue.recent(&recent(10)).await.unwrap();
    let by_delivery = |id: &str| {
        events
            .iter()
            .find(|e| e.envelope.delivery_id == id)
            .unwrap_or_else(|| panic!("no event for {id}"))
            .envelope
            .clone()
    };
    let via_sns = by_delivery("m-webhook");
    let via_jira = by_delivery("jira-delivery");
    assert_eq!(via_sns.origin, Origin::JiraAutomationSns);
    assert_eq!(via_sns.event, via_jira.event);

    let Event::JiraIssueUpdated(e) = by_delivery("m-issue").event else {
        panic!("issue data is an update")
    };
    assert_eq!(e.issue.key, "SEC-42");
    assert_eq!(
        e.issue.summary.as_deref(),
        issue["issue"]["fields"]["summary"].as_str()
    );
    assert!(e.complete);
}

#[tokio::test]
async fn the_project_filter_applies_to_sns_deliveries() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let endpoint = aws.url.clone();
    let app = TestApp::spawn_with(|s| {
        s.sns_topic_arns = Some(vec![TOPIC.into()]);
        s.sns_endpoint_url = Some(endpoint);
        s.jira_project_keys = Some(vec!["OPS".into()]);
    })
    .await;
    let r = post_json(&app, &notification("m-1", AUTOMATION_MESSAGE, None, "2")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");
    assert_eq!(app.queued().await, 0);
}

#[tokio::test]
async fn malformed_deliveries_are_400_and_raw_delivery_is_refused_clearly() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;

    expect_error(post(&app, "not json", None).await, 400).await;
    expect_error(post(&app, r#"{"Type":"Notification"}"#, None).await, 400).await;

    // The header and the body disagree about the type.
    let msg = notification("m-1", AUTOMATION_MESSAGE, None, "2");
    let r = post(&app, msg.to_string(), Some("SubscriptionConfirmation")).await;
    let message = expect_error(r, 400).await;
    assert!(message.contains("x-amz-sns-message-type"), "{message}");

    // Raw message delivery: the bare message, no envelope, no signature.
    let r = app
        .client
        .post(app.url("/webhooks/sns"))
        .header("x-amz-sns-rawdelivery", "true")
        .body(AUTOMATION_MESSAGE)
        .send()
        .await
        .unwrap();
    let message = expect_error(r, 400).await;
    assert!(message.contains("RawMessageDelivery"), "{message}");

    // Signed, but the Message is nothing the gateway understands.
    let msg = notification("m-2", r#"{"hello":"world"}"#, None, "2");
    expect_error(post_json(&app, &msg).await, 400).await;

    // Over the body limit.
    let big = "x".repeat(2 * 1024 * 1024);
    expect_error(post(&app, big, None).await, 413).await;
    assert_eq!(app.queued().await, 0);
}

// ---------------------------------------------------------------------------------------------
// Topics, confirmations

#[tokio::test]
async fn a_confirmation_for_an_allowed_topic_is_confirmed_by_visiting_subscribe_url() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;
    let body = signed_fixture("subscription_confirmation.json", key());
    let r = post(&app, body, Some("SubscriptionConfirmation")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "confirmed");
    let requests = aws.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0].ends_with(".pem"));
    assert!(
        requests[1].starts_with(&format!(
            "/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f"
        )),
        "{requests:?}"
    );
    let confirmed = "sir_jira_sns_subscriptions_confirmed_total";
    assert_eq!(app.metric(confirmed).await, 1.0);
    assert_eq!(app.queued().await, 0);

    // Also with SignatureVersion 2.
    let mut msg = subscription_confirmation(TOPIC);
    msg["SignatureVersion"] = json!("2");
    resign(&mut msg);
    assert_eq!(post_json(&app, &msg).await.status().as_u16(), 200);
    assert_eq!(app.metric(confirmed).await, 2.0);
}

#[tokio::test]
async fn other_topics_are_403_and_nothing_is_fetched() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;

    let r = post_json(&app, &subscription_confirmation(OTHER_TOPIC)).await;
    let message = expect_error(r, 403).await;
    assert!(message.contains(OTHER_TOPIC), "{message}");

    let mut msg = notification("m-1", AUTOMATION_MESSAGE, None, "2");
    msg["TopicArn"] = json!(OTHER_TOPIC);
    resign(&mut msg);
    expect_error(post_json(&app, &msg).await, 403).await;

    assert!(aws.requests().is_empty(), "{:?}", aws.requests());
    assert_eq!(app.metric("sir_jira_sns_topic_refused_total").await, 2.0);
    assert_eq!(app.queued().await, 0);

    // With no topics configured, everything is refused and the answer says why.
    let closed = TestApp::spawn().await;
    let r = post_json(&closed, &notification("m-2", AUTOMATION_MESSAGE, None, "2")).await;
    let message = expect_error(r, 403).await;
    assert!(message.contains("sns_topic_arns"), "{message}");
}

#[tokio::test]
async fn an_unsubscribe_confirmation_is_counted_and_never_acted_on() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;
    let mut msg = subscription_confirmation(TOPIC);
    msg["Type"] = json!("UnsubscribeConfirmation");
    msg["Message"] = json!("You have chosen to deactivate subscription.");
    resign(&mut msg);
    let r = post_json(&app, &msg).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "acknowledged");
    assert_eq!(
        app.metric("sir_jira_sns_unsubscribe_confirmations_total")
            .await,
        1.0
    );
    // Only the certificate was fetched: the SubscribeURL (which would resubscribe) was not.
    assert_eq!(aws.requests().len(), 1);
    assert_eq!(aws.cert_requests(), 1);
    assert_eq!(app.queued().await, 0);
}

// ---------------------------------------------------------------------------------------------
// Certificates

#[tokio::test]
async fn certificate_url_attacks_are_refused_without_any_request() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = spawn_app(&aws).await;
    let attacks = [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-0.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
        "https://user:password@sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem?x=1",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.txt",
        "https://54.239.0.1/SimpleNotificationService-0.pem",
        "https://[::1]/SimpleNotificationService-0.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-0.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem#frag",
    ];
    for (i, url) in attacks.iter().enumerate() {
        let mut msg = notification(&format!("m-{i}"), AUTOMATION_MESSAGE, None, "2");
        msg["SigningCertURL"] = json!(url);
        let message = expect_error(post_json(&app, &msg).await, 401).await;
        assert!(
            message.contains("SigningCertURL refused"),
            "{url}: {message}"
        );
    }
    // Nothing reached the stand-in (where every fetch of this app goes), and the app never
    // started a fetch at all.
    assert!(aws.requests().is_empty(), "{:?}", aws.requests());
    assert_eq!(cert_fetches(&app).await, 0.0);
    assert_eq!(
        failures(&app, "cert_url_refused").await,
        attacks.len() as f64
    );
    assert_eq!(app.queued().await, 0);

    // An unsupported signature version is refused just as early.
    let mut msg = notification("m-v3", AUTOMATION_MESSAGE, None, "2");
    msg["SignatureVersion"] = json!("3");
    let message = expect_error(post_json(&app, &msg).await, 401).await;
    assert!(message.contains("SignatureVersion"), "{message}");
    assert!(aws.requests().is_empty());
}

#[tokio::test]
async fn a_burst_of_100_notifications_costs_one_certificate_fetch() {
    let aws = FakeAws::start(&key().cert_pem).await;
    let app = Arc::new(spawn_app(&aws).await);
    let bodies: Vec<String> = (0..100)
        .map(|i| notification(&format!("burst-{i}"), AUTOMATION_MESSAGE, None, "2").to_string())
        .collect();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let app = app.clone();
            tokio::spawn(async move { post(&app, body, Some("Notification")).await.status() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().as_u16(), 202);
    }
    assert_eq!(aws.cert_requests(), 1);
    assert_eq!(cert_fetches(&app).await, 1.0);
    assert_eq!(app.queued().await, 100);
}

#[tokio::test]
async fn unusable_or_unreachable_certificates() {
    let aws = FakeAws::start(&key().cert_pem).await;

    // Expired.
    let expired = make_key(-time::Duration::days(30), -time::Duration::days(1));
    aws.serve_cert(StatusCode::OK, &expired.cert_pem);
    let app = spawn_app(&aws).await;
    let mut msg = notification("m-1", AUTOMATION_MESSAGE, None, "2");
    msg["Signature"] = json!(signature(&expired, "2", &msg));
    let message = expect_error(post_json(&app, &msg).await, 401).await;
    assert!(message.contains("expired"), "{message}");

    // Not a certificate.
    aws.serve_cert(StatusCode::OK, "<html>hello</html>");
    let app = spawn_app(&aws).await;
    let message = expect_error(
        post_json(&app, &notification("m-2", AUTOMATION_MESSAGE, None, "2")).await,
        401,
    )
    .await;
    assert!(message.contains("not a PEM X.509 certificate"), "{message}");

    // No such certificate on the host: the message named one SNS does not have.
    aws.serve_cert(StatusCode::NOT_FOUND, "");
    let app = spawn_app(&aws).await;
    expect_error(
        post_json(&app, &notification("m-3", AUTOMATION_MESSAGE, None, "2")).await,
        401,
    )
    .await;

    // The host is failing: the message may be genuine, so SNS is told to retry.
    aws.serve_cert(StatusCode::SERVICE_UNAVAILABLE, "");
    let app = spawn_app(&aws).await;
    let r = post_json(&app, &notification("m-4", AUTOMATION_MESSAGE, None, "2")).await;
    assert!(r.headers().contains_key("retry-after"));
    expect_error(r, 503).await;
    assert_eq!(app.queued().await, 0);
}

// ---------------------------------------------------------------------------------------------
// Nothing acknowledged is lost

/// Serves the test certificate for any URL, without a network.
struct CertOnly;

#[async_trait]
impl Fetcher for CertOnly {
    async fn get(&self, _url: &AllowedUrl, _max: usize) -> Result<Bytes, FetchError> {
        Ok(Bytes::from(key().cert_pem.clone()))
    }
}

#[tokio::test]
async fn bus_down_gives_503_and_the_retry_is_accepted() {
    let p = parts_with(
        |s| s.sns_topic_arns = Some(vec![TOPIC.into()]),
        Arc::new(CertOnly),
    );
    let app = router(p.state.clone());
    let body = notification("m-1", AUTOMATION_MESSAGE, None, "2").to_string();
    let request = || {
        Request::post("/webhooks/sns")
            .header("x-amz-sns-message-type", "Notification")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let r = app.clone().oneshot(request()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(p.queue.stats().await.unwrap().ready, 0);

    // SNS retries the same MessageId: not a "duplicate", it goes through.
    p.bus.up.store(true, Ordering::SeqCst);
    let r = app.clone().oneshot(request()).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(p.queue.stats().await.unwrap().ready, 1);
    let r = app.oneshot(request()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(p.queue.stats().await.unwrap().ready, 1);
}

// ---------------------------------------------------------------------------------------------
// End to end against moto's SNS

/// An HTTP subscription from moto's SNS to a running gateway: moto signs the Notification
/// with its own certificate, which the gateway fetches from moto (the only test that points
/// `sns_endpoint_url` at something that is not ours) and verifies for real.
#[tokio::test]
async fn moto_delivers_a_signed_notification_end_to_end() {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run the suite with scripts/test, which starts moto");
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let sns = aws_sdk_sns::Client::from_conf(config);
    let name = format!("sir-jira-e2e-{}", uuid::Uuid::new_v4().simple());
    let topic = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .expect("CreateTopic on moto")
        .topic_arn
        .expect("topic ARN");

    let moto = endpoint.clone();
    let allowed = topic.clone();
    let app = TestApp::spawn_with(move |s| {
        s.sns_topic_arns = Some(vec![allowed]);
        s.sns_endpoint_url = Some(moto);
    })
    .await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("http")
        .endpoint(app.url("/webhooks/sns"))
        .send()
        .await
        .expect("Subscribe on moto");

    // moto leaves Subject out of what it signs, so none is set.
    let published = sns
        .publish()
        .topic_arn(&topic)
        .message(r#"{"automationData":{"IssueId":"SEC-7"}}"#)
        .send()
        .await
        .expect("Publish on moto");
    let message_id = published.message_id.expect("message id");

    let delivered = eventually(Duration::from_secs(20), || async {
        app.queued().await >= 1
    })
    .await;
    let mut refused = Vec::new();
    for reason in [
        "bad_signature",
        "bad_certificate",
        "cert_fetch_failed",
        "cert_url_refused",
    ] {
        refused.push((reason, failures(&app, reason).await));
    }
    assert!(
        delivered,
        "no event queued; verification failures: {refused:?}"
    );

    let events = app.queue.recent(&recent(10)).await.unwrap();
    assert_eq!(events.len(), 1);
    let env = &events[0].envelope;
    assert_eq!(env.origin, Origin::JiraAutomationSns);
    assert_eq!(env.delivery_id, message_id);
    let Event::JiraIssueUpdated(e) = &env.event else {
        panic!("wrong event type: {:?}", env.event)
    };
    assert_eq!(e.issue.key, "SEC-7");
    assert!(!e.complete);
    assert_eq!(
        cert_fetches(&app).await,
        1.0,
        "moto's certificate was fetched once"
    );
    assert!(refused.iter().all(|(_, n)| *n == 0.0), "{refused:?}");
}
