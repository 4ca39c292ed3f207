//! A stand-in EventBridge for what moto cannot do: answer `PutEvents` entries with the
//! retryable codes (`ThrottlingException`, `InternalFailure`). It speaks the service's JSON 1.1
//! protocol on a loopback port, so the real SDK talks to it through an endpoint override; it
//! records every call and answers each entry as the test's rule says.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::post,
};
use serde_json::{Value, json};

/// Decides an entry's fate: `None` accepts it, `Some((code, message))` fails it. Gets the
/// entry and how many times an entry with the same event id was sent before.
pub type Rule = dyn Fn(&Value, usize) -> Option<(&'static str, String)> + Send + Sync;

pub struct FakeEventBridge {
    pub endpoint: String,
    calls: Arc<Mutex<Vec<Vec<Value>>>>,
}

#[derive(Clone)]
struct State {
    rule: Arc<Rule>,
    calls: Arc<Mutex<Vec<Vec<Value>>>>,
    seen: Arc<Mutex<HashMap<String, usize>>>,
}

impl FakeEventBridge {
    pub async fn start(
        rule: impl Fn(&Value, usize) -> Option<(&'static str, String)> + Send + Sync + 'static,
    ) -> FakeEventBridge {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let state = State {
            rule: Arc::new(rule),
            calls: calls.clone(),
            seen: Arc::default(),
        };
        let app = Router::new().route("/", post(put_events)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeEventBridge { endpoint, calls }
    }

    /// The entries of every `PutEvents` call so far, in order.
    pub fn calls(&self) -> Vec<Vec<Value>> {
        self.calls.lock().unwrap().clone()
    }
}

/// An entry's size as EventBridge counts it: Source, DetailType, Detail (and Resources) as
/// UTF-8 bytes, plus 14 for Time.
pub fn entry_size(entry: &Value) -> usize {
    let len = |k: &str| entry[k].as_str().map_or(0, str::len);
    let resources: usize = entry["Resources"].as_array().map_or(0, |r| {
        r.iter().filter_map(Value::as_str).map(str::len).sum()
    });
    len("Source")
        + len("DetailType")
        + len("Detail")
        + resources
        + entry.get("Time").map_or(0, |_| 14)
}

async fn put_events(
    axum::extract::State(state): axum::extract::State<State>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target != "AWSEvents.PutEvents" {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
            json!({"__type": "UnknownOperationException", "message": target}).to_string(),
        );
    }
    let request: Value = serde_json::from_slice(&body).unwrap();
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    state.calls.lock().unwrap().push(entries.clone());
    let mut failed = 0;
    let results: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap_or("null"))
                .unwrap_or_default();
            let id = detail["id"].as_str().unwrap_or("").to_owned();
            let before = {
                let mut seen = state.seen.lock().unwrap();
                let n = seen.entry(id.clone()).or_default();
                *n += 1;
                *n - 1
            };
            match (state.rule)(entry, before) {
                None => json!({"EventId": uuid::Uuid::new_v4().to_string()}),
                Some((code, message)) => {
                    failed += 1;
                    json!({"ErrorCode": code, "ErrorMessage": message})
                }
            }
        })
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
        json!({"FailedEntryCount": failed, "Entries": results}).to_string(),
    )
}
