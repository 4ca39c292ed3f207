//! Shared by the Lambda tests: settings, fixtures, and API Gateway v2 / Function URL events.

#![allow(dead_code)]

use std::path::Path;

use base64::Engine;
use serde_json::Value;
use sir_jira_bridge::{config::Settings, secret::Secret};

pub const SECRET: &str = "lambda-webhook-secret-0123456789";
pub const ADMIN_TOKEN: &str = "lambda-admin-token-0123456789";

/// The settings both sides of a comparison start from: the gateway only (no workers), its own
/// data directory, known secrets.
pub fn settings(data_dir: &Path) -> Settings {
    Settings {
        listen_addr: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.to_owned()),
        jira_webhook_secrets: Some(vec![Secret::new(SECRET)]),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        workers: Some(0),
        ..Settings::default()
    }
}

/// A file of the workspace's shared test fixtures (`tests/fixtures/<dir>/<name>`).
pub fn workspace_fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/fixtures/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture of this crate (`lambda-http/tests/fixtures/<name>`), as JSON.
pub fn fixture_json(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// One HTTP request, sent to both gateways.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: &'static str,
    pub path: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Deliver the body base64-encoded (`isBase64Encoded: true`), as Function URLs do for
    /// bodies they do not treat as text.
    pub base64: bool,
}

impl Call {
    pub fn get(path: &'static str) -> Call {
        Call {
            method: "GET",
            path,
            headers: Vec::new(),
            body: Vec::new(),
            base64: false,
        }
    }

    /// A Jira admin webhook signed with `secret`.
    pub fn signed(body: &[u8], secret: &str, delivery: &str) -> Call {
        Call {
            method: "POST",
            path: "/webhooks/jira",
            headers: vec![
                (
                    "content-type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                ("x-atlassian-webhook-identifier".into(), delivery.into()),
                (
                    "x-hub-signature".into(),
                    sir_jira_bridge::verify::jira::sign(secret, body),
                ),
            ],
            body: body.to_vec(),
            base64: false,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn base64(mut self) -> Call {
        self.base64 = true;
        self
    }

    /// The Function URL event (payload format 2.0) Lambda would receive for this request:
    /// the committed sample with this request's method, path, headers and body.
    pub fn function_url_event(&self) -> Value {
        let mut event = fixture_json("function_url_request.json");
        event["rawPath"] = self.path.into();
        event["requestContext"]["http"]["method"] = self.method.into();
        event["requestContext"]["http"]["path"] = self.path.into();
        let headers = event["headers"].as_object_mut().unwrap();
        headers.remove("x-atlassian-webhook-identifier");
        headers.remove("x-hub-signature");
        if self.body.is_empty() {
            headers.remove("content-type");
        } else {
            headers.insert("content-length".into(), self.body.len().to_string().into());
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone().into());
        }
        if self.body.is_empty() {
            event.as_object_mut().unwrap().remove("body");
            event["isBase64Encoded"] = false.into();
        } else if self.base64 {
            event["body"] = base64::engine::general_purpose::STANDARD
                .encode(&self.body)
                .into();
            event["isBase64Encoded"] = true.into();
        } else {
            event["body"] = String::from_utf8(self.body.clone()).unwrap().into();
            event["isBase64Encoded"] = false.into();
        }
        event
    }
}

/// What a caller sees of an answer: the status, the JSON body (event ids, which differ between
/// two gateways, replaced by their count) and the headers that carry meaning.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn new(
        status: u16,
        body: &[u8],
        content_type: Option<String>,
        retry_after: Option<String>,
    ) -> Answer {
        let mut body: Value = serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        if let Some(ids) = body.get("event_ids").and_then(Value::as_array) {
            let count = ids.len();
            body["event_ids"] = format!("{count} event id(s)").into();
        }
        Answer {
            status,
            body,
            content_type,
            retry_after,
        }
    }
}
