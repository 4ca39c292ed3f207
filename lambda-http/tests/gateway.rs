//! The gateway role: the Lambda handler (`lambda_http`'s adapter around the service's router,
//! exactly what `lambda_http::run` serves) answers API Gateway v2 / Function URL events the way
//! the long-running gateway answers the same HTTP requests, for plain and base64 bodies.

mod common;

use std::{sync::Arc, time::Duration};

use base64::Engine;
use common::*;
use lambda_http::{Adapter, Context, LambdaEvent, Service, request::LambdaRequest};
use serde_json::Value;
use sir_jira_bridge::{
    app::{Application, Components, Served, StartupError, UnsetSecrets},
    bus::{EmbeddedQueue, EventFilter},
    config::Config,
};

/// The long-running gateway on a loopback port.
struct Container {
    served: Served,
    queue: Arc<EmbeddedQueue>,
    _dir: tempfile::TempDir,
}

impl Container {
    async fn spawn() -> Container {
        let dir = tempfile::tempdir().unwrap();
        let app = Application::build(Config::from_settings(settings(dir.path())).unwrap())
            .await
            .unwrap();
        let queue = app.queue().unwrap();
        Container {
            served: app.spawn(),
            queue,
            _dir: dir,
        }
    }

    async fn answer(&self, call: &Call) -> Answer {
        let client = reqwest::Client::new();
        let mut request = client.request(
            call.method.parse().unwrap(),
            format!("http://{}{}", self.served.addr(), call.path),
        );
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        let response = request.body(call.body.clone()).send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (content_type, retry_after) = (header("content-type"), header("retry-after"));
        let status = response.status().as_u16();
        Answer::new(
            status,
            &response.bytes().await.unwrap(),
            content_type,
            retry_after,
        )
    }
}

/// The gateway role's handler, built as the Lambda binary builds it (`UnsetSecrets::Refuse`),
/// here on the embedded backends so the events it queues can be compared.
struct Lambda {
    components: Components,
    _dir: tempfile::TempDir,
}

impl Lambda {
    async fn build() -> Lambda {
        let dir = tempfile::tempdir().unwrap();
        let components = Components::build(
            Config::from_settings(settings(dir.path())).unwrap(),
            UnsetSecrets::Refuse,
        )
        .await
        .unwrap();
        Lambda {
            components,
            _dir: dir,
        }
    }

    /// Invokes the handler with the request's Function URL event; returns the serialized
    /// answer Lambda would send back.
    async fn invoke(&self, call: &Call) -> Value {
        invoke(self.components.router(), call.function_url_event()).await
    }

    async fn answer(&self, call: &Call) -> Answer {
        lambda_answer(&self.invoke(call).await)
    }
}

/// One invocation through `lambda_http`'s adapter: event JSON in, response JSON out.
async fn invoke(router: axum::Router, event: Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(event).expect("a payload 2.0 event");
    let mut adapter = Adapter::from(router);
    std::future::poll_fn(|cx| adapter.poll_ready(cx))
        .await
        .unwrap();
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    serde_json::to_value(&response).unwrap()
}

/// Reads a payload 2.0 response as a caller of the Function URL sees it.
fn lambda_answer(response: &Value) -> Answer {
    let text = response["body"].as_str().unwrap_or("");
    let body = match response["isBase64Encoded"].as_bool() {
        Some(true) => base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
        _ => text.as_bytes().to_vec(),
    };
    let header = |name: &str| response["headers"][name].as_str().map(str::to_owned);
    Answer::new(
        response["statusCode"].as_u64().unwrap() as u16,
        &body,
        header("content-type"),
        header("retry-after"),
    )
}

#[tokio::test]
async fn lambda_and_container_answer_every_request_alike() {
    let container = Container::spawn().await;
    let lambda = Lambda::build().await;
    let created = workspace_fixture("jira", "issue_created.json");
    let commented = workspace_fixture("jira", "comment_created.json");
    let mut tampered = created.clone();
    tampered[10] ^= 1;
    let big = vec![b' '; 1024 * 1024 + 1];

    let calls: Vec<(&str, Call, u16)> = vec![
        ("plain body", Call::signed(&created, SECRET, "d-plain"), 202),
        (
            "retried delivery",
            Call::signed(&created, SECRET, "d-plain"),
            200,
        ),
        (
            "base64 body",
            Call::signed(&commented, SECRET, "d-b64").base64(),
            202,
        ),
        (
            "base64 body, retried",
            Call::signed(&commented, SECRET, "d-b64").base64(),
            200,
        ),
        (
            "wrong secret",
            Call::signed(&created, "not-the-webhook-secret-000", "d-wrong"),
            401,
        ),
        (
            "tampered body",
            Call {
                body: tampered,
                ..Call::signed(&created, SECRET, "d-tampered-2")
            },
            401,
        ),
        (
            "unsigned",
            Call {
                headers: vec![("content-type".into(), "application/json".into())],
                ..Call::signed(&created, SECRET, "d-unsigned")
            },
            401,
        ),
        ("not JSON", Call::signed(b"{not json", SECRET, "d-bad"), 400),
        ("too large", Call::signed(&big, SECRET, "d-big"), 413),
        ("health", Call::get("/healthz"), 200),
        ("readiness", Call::get("/readyz"), 200),
        ("wrong method", Call::get("/webhooks/jira"), 405),
        ("unknown route", Call::get("/nope"), 404),
        ("admin without token", Call::get("/v1/dead-letters"), 401),
        (
            "admin with token",
            Call::get("/v1/dead-letters").header("authorization", &format!("Bearer {ADMIN_TOKEN}")),
            200,
        ),
    ];
    for (what, call, status) in &calls {
        let from_container = container.answer(call).await;
        let from_lambda = lambda.answer(call).await;
        assert_eq!(from_lambda.status, *status, "{what}: {from_lambda:?}");
        assert_eq!(from_lambda, from_container, "{what}");
    }

    // The same deliveries became the same events on both sides.
    let normalized = |queue: Arc<EmbeddedQueue>| async move {
        let mut events: Vec<Value> = queue
            .recent(&EventFilter {
                limit: 50,
                ..EventFilter::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| {
                let mut v = serde_json::to_value(&e.envelope).unwrap();
                v.as_object_mut().unwrap().remove("id");
                v.as_object_mut().unwrap().remove("received_at");
                v
            })
            .collect();
        events.sort_by_key(|v| v["delivery_id"].to_string());
        events
    };
    let from_lambda = normalized(lambda.components.queue.clone().unwrap()).await;
    assert_eq!(from_lambda.len(), 2, "{from_lambda:#?}");
    assert_eq!(from_lambda, normalized(container.queue.clone()).await);
}

#[tokio::test]
async fn a_base64_body_is_verified_on_the_decoded_bytes() {
    let lambda = Lambda::build().await;
    let body = workspace_fixture("jira", "issue_updated_status.json");
    let call = Call::signed(&body, SECRET, "d-1").base64();
    let event = call.function_url_event();
    assert_eq!(event["isBase64Encoded"], true);
    assert_ne!(event["body"].as_str().unwrap().as_bytes(), &body[..]);
    let response = invoke(lambda.components.router(), event).await;
    assert_eq!(response["statusCode"], 202, "{response}");
    assert_eq!(response["isBase64Encoded"], false, "JSON answers are text");

    // The signature of the base64 text itself is not the signature of the body.
    let wrong = Call::signed(
        call.function_url_event()["body"]
            .as_str()
            .unwrap()
            .as_bytes(),
        SECRET,
        "d-2",
    );
    let wrong = Call {
        body: body.clone(),
        ..wrong
    }
    .base64();
    let response = invoke(lambda.components.router(), wrong.function_url_event()).await;
    assert_eq!(response["statusCode"], 401, "{response}");
}

#[tokio::test]
async fn the_gateway_role_refuses_to_start_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.jira_webhook_secrets = None;
    let err = Components::build(Config::from_settings(s).unwrap(), UnsetSecrets::Refuse)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, StartupError::SecretRequired("jira_webhook_secrets")),
        "{err}"
    );
    assert!(
        !dir.path().join("jira-webhook-secret").exists(),
        "nothing generated"
    );

    let mut s = settings(dir.path());
    s.admin_token = None;
    let err = Components::build(Config::from_settings(s).unwrap(), UnsetSecrets::Refuse)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, StartupError::SecretRequired("admin_token")),
        "{err}"
    );
}

#[tokio::test]
async fn the_binary_refuses_to_run_outside_lambda() {
    // Not a Lambda: AWS_LAMBDA_RUNTIME_API is unset in tests.
    assert!(std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none());
    let bin = env!("CARGO_BIN_EXE_sir-jira-bridge-lambda");
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(bin)
            .env_clear()
            .env("SIR_JIRA_LAMBDA_ROLE", "gateway")
            .env("SIR_JIRA_DATA_DIR", dir.path())
            .env("SIR_JIRA_LOG_FORMAT", "json")
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{stderr}");
}
