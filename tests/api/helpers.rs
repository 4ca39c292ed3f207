use std::{net::SocketAddr, sync::Arc, time::Duration};

use serde_json::Value;
use sir_jira_bridge::{
    bus::{EmbeddedQueue, QueueStats},
    config::{Config, Settings},
    secret::Secret,
    startup::Application,
    store::StateStore,
    verify::jira::sign,
    worker::EventHandler,
};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SECRET_OLD: &str = "old-webhook-secret-0123456789";
pub const SECRET_NEW: &str = "new-webhook-secret-0123456789";
pub const AUTOMATION_SECRET: &str = "automation-secret-0123456789";
pub const AUTOMATION_HEADER: &str = "x-automation-secret";
pub const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

/// A fixture payload from `tests/fixtures/jira/`, byte for byte.
pub fn fixture(name: &str) -> Vec<u8> {
    fixture_in("jira", name)
}

/// A fixture payload from `tests/fixtures/<dir>/`, byte for byte.
pub fn fixture_in(dir: &str, name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Settings every test app starts from: port 0, its own data directory, two webhook secrets
/// (rotation), an Automation secret, and no workers so queued events can be inspected.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    Settings {
        listen_addr: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.to_owned()),
        jira_webhook_secrets: Some(vec![Secret::new(SECRET_OLD), Secret::new(SECRET_NEW)]),
        automation_secret: Some(Secret::new(AUTOMATION_SECRET)),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        workers: Some(0),
        ..Settings::default()
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub queue: Arc<EmbeddedQueue>,
    pub store: Arc<dyn StateStore>,
    stop: CancellationToken,
    handle: Option<JoinHandle<()>>,
    _dir: TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_with_handler(customize, None).await
    }

    /// Spawns with the workers running `handler` instead of the log-only one.
    pub async fn spawn_with_handler(
        customize: impl FnOnce(&mut Settings),
        handler: Option<Arc<dyn EventHandler>>,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(dir.path());
        customize(&mut settings);
        let mut app = Application::build(Config::from_settings(settings).unwrap())
            .await
            .unwrap();
        if let Some(handler) = handler {
            app = app.with_handler(handler);
        }
        let addr = app.local_addr();
        let queue = app.queue();
        let store = app.state().store;
        let stop = CancellationToken::new();
        let token = stop.clone();
        let handle = tokio::spawn(async move {
            app.run_until_stopped(async move { token.cancelled().await })
                .await
                .unwrap();
        });
        TestApp {
            addr,
            client: reqwest::Client::new(),
            queue,
            store,
            stop,
            handle: Some(handle),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts `body` to the Jira route signed with `secret`, with a delivery identifier.
    pub async fn post_signed(
        &self,
        body: &[u8],
        secret: &str,
        delivery: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/webhooks/jira"))
            .header("content-type", "application/json")
            .header("x-atlassian-webhook-identifier", delivery)
            .header("x-hub-signature", sign(secret, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// GET on the admin API with the token; returns status and JSON body.
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// POST on the admin API with the token and a JSON body.
    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// The value of one sample on `/metrics`, e.g. `sir_jira_events_accepted_total{event_type="jira.issue.created"}`;
    /// 0 when absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }

    pub async fn stats(&self) -> QueueStats {
        self.queue.stats().await.unwrap()
    }

    /// Events waiting in the queue (the test apps run no workers).
    pub async fn queued(&self) -> u64 {
        let s = self.stats().await;
        s.ready + s.leased + s.done + s.dead
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(h) = self.handle.take() {
            h.await.unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Asserts the response has `status` and the shared JSON error shape; returns the message.
pub async fn expect_error(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.expect("error bodies are JSON");
    let message = body["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    assert!(body["error"]["code"].is_string(), "{body}");
    message
}

/// Polls `check` until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
