//! A small REST client and a webhook receiver for the emulator's own tests.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use jira_emulator::{EmulatorConfig, JiraEmulator};
use reqwest::Method;
use serde_json::{Value, json};

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Bytes,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub auth: Option<String>,
}

impl Client {
    pub fn new(jira: &JiraEmulator) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            base: jira.base_url().to_owned(),
            auth: Some(jira.auth_header()),
        }
    }

    pub fn with_auth(&self, auth: Option<String>) -> Self {
        Self {
            auth,
            ..self.clone()
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        finish(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates an issue in SEC through v3 and returns its key.
    pub async fn create(&self, summary: &str, labels: &[&str]) -> String {
        let r = self
            .post(
                "/rest/api/3/issue",
                json!({"fields": {
                    "project": {"key": "SEC"},
                    "issuetype": {"name": "Task"},
                    "summary": summary,
                    "description": adf("created by the test"),
                    "labels": labels,
                }}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["key"].as_str().unwrap().to_owned()
    }
}

pub async fn finish(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        bytes,
    }
}

pub fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

pub async fn start() -> (JiraEmulator, Client) {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> (JiraEmulator, Client) {
    let jira = JiraEmulator::start(config).await.expect("emulator starts");
    let client = Client::new(&jira);
    (jira, client)
}

/// One webhook delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 once exhausted.
    script: Arc<Mutex<Vec<u16>>>,
}

/// A webhook endpoint on loopback that records what it gets.
pub struct Receiver {
    pub url: String,
    state: ReceiverState,
}

impl Receiver {
    pub async fn start(script: Vec<u16>) -> Self {
        let state = ReceiverState {
            received: Arc::default(),
            script: Arc::new(Mutex::new(script)),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/hook"),
            state,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

async fn receive(State(s): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    s.received.lock().unwrap().push(Received { headers, body });
    let mut script = s.script.lock().unwrap();
    let code = if script.is_empty() {
        200
    } else {
        script.remove(0)
    };
    StatusCode::from_u16(code).unwrap()
}

pub async fn settle(jira: &JiraEmulator) {
    assert!(
        jira.webhooks().wait_idle(Duration::from_secs(10)).await,
        "webhook deliveries did not finish"
    );
}
