use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use aws_sdk_securityir::config::retry::RetryConfig;
use serde_json::Value;
use sir_emulator::{EmulatorConfig, EmulatorHandle, INTEGRATION_ACCESS_KEY_ID, SirEmulator};
use sir_jira_bridge::{
    app::{Application, Served},
    bus::{BusError, EmbeddedQueue, EventBus, Outgoing, QueueStats},
    config::{Config, Settings},
    db::Db,
    event::{
        Event, EventEnvelope, Origin,
        sir::{CaseChange, CaseChanged},
    },
    metrics::Metrics,
    peers::PeerHealth,
    secret::Secret,
    sir::SirClient,
    store::{SqliteStore, StateStore},
    verify::jira::sign,
    worker::EventHandler,
};
use tempfile::TempDir;

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
    served: Served,
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
        Self::spawn_inner(customize, handler, None).await
    }

    /// Spawns with `sdk` serving everything AWS (SIR included: point `sir_endpoint_url` at
    /// the SIR emulator), on the embedded bus and store.
    pub async fn spawn_with_sdk(
        customize: impl FnOnce(&mut Settings),
        sdk: aws_config::SdkConfig,
    ) -> TestApp {
        Self::spawn_inner(customize, None, Some(sdk)).await
    }

    async fn spawn_inner(
        customize: impl FnOnce(&mut Settings),
        handler: Option<Arc<dyn EventHandler>>,
        sdk: Option<aws_config::SdkConfig>,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(dir.path());
        customize(&mut settings);
        let config = Config::from_settings(settings).unwrap();
        let mut app = match sdk {
            Some(sdk) => Application::build_with_aws(config, Some(sdk)).await,
            None => Application::build(config).await,
        }
        .unwrap();
        if let Some(handler) = handler {
            app = app.with_handler(handler);
        }
        let queue = app.queue().expect("test apps run the embedded bus");
        let store = app.state().store.clone();
        let served = app.spawn();
        TestApp {
            addr: served.addr(),
            client: reqwest::Client::new(),
            queue,
            store,
            served,
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

    /// Puts a `sir.case.changed` on the bus, as the native-event consumer or the poller does.
    pub async fn case_changed(&self, case_id: &str, change: CaseChange) {
        publish_case_change(&self.queue, case_id, change).await;
    }

    /// Waits until the queue holds nothing unfinished; false on timeout.
    pub async fn drained(&self, timeout: Duration) -> bool {
        eventually(timeout, || async {
            let s = self.stats().await;
            s.ready + s.leased == 0
        })
        .await
    }

    pub async fn stats(&self) -> QueueStats {
        self.queue.stats().await.unwrap()
    }

    /// Events waiting in the queue (the test apps run no workers).
    pub async fn queued(&self) -> u64 {
        let s = self.stats().await;
        s.ready + s.leased + s.done + s.dead
    }

    pub async fn stop(self) {
        self.served.stop().await.unwrap();
    }
}

/// Puts a `sir.case.changed` on `queue`, as the native-event consumer or the poller does.
pub async fn publish_case_change(queue: &EmbeddedQueue, case_id: &str, change: CaseChange) {
    let envelope = EventEnvelope::new(
        Origin::SirNative,
        uuid::Uuid::new_v4().to_string(),
        Event::SirCaseChanged(CaseChanged {
            case_id: case_id.into(),
            change,
            actor: None,
            last_updated: None,
        }),
    );
    queue
        .publish(&[Outgoing {
            envelope,
            raw: None,
        }])
        .await
        .unwrap();
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

/// The moto server `scripts/test` started. Tests of the AWS backends never skip: without it
/// they fail and say how to run them.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is unset: run scripts/test, which starts moto's server for the AWS tests"
        )
    })
}

/// SDK configuration for an endpoint on this machine: fake credentials and a fixed region,
/// so the SDK never looks for real ones (nor at instance metadata).
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    sdk_config_as(endpoint, "testing").await
}

/// [`sdk_config_for`] calling as `access_key_id` (the SIR emulator tells principals apart by it).
pub async fn sdk_config_as(endpoint: &str, access_key_id: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            access_key_id,
            "testing",
            None,
            None,
            "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// Settings that connect the service to a Jira emulator (as its integration account, project
/// SEC) and a SIR emulator, without the poller (tests hand case changes to the bus). Give the
/// app an SDK from [`sdk_config_for`] the SIR emulator's endpoint.
pub fn connect_peers(s: &mut Settings, jira: &jira_emulator::JiraEmulator, sir: &EmulatorHandle) {
    connect_peers_at(s, jira.base_url(), sir);
}

/// [`connect_peers`] with Jira at `jira_url`, whether or not anything answers there yet.
pub fn connect_peers_at(s: &mut Settings, jira_url: &str, sir: &EmulatorHandle) {
    s.jira_url = Some(jira_url.to_owned());
    s.jira_email = Some("sir-bridge@example.com".into());
    s.jira_api_token = Some(Secret::new("bridge-api-token"));
    s.jira_project_key = Some("SEC".into());
    s.sir_enabled = Some(true);
    s.sir_endpoint_url = Some(sir.endpoint_url());
    s.sir_poller_enabled = Some(false);
}

/// SDK configuration pointing at moto.
pub async fn moto_sdk() -> aws_config::SdkConfig {
    sdk_config_for(&moto_endpoint()).await
}

/// A resource name no other test uses (tests share one moto server and run in parallel).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh DynamoDB table in moto, with the store on it.
pub async fn dynamo_store(sdk: &aws_config::SdkConfig) -> sir_jira_bridge::store::DynamoStore {
    let store = sir_jira_bridge::store::DynamoStore::from_sdk(sdk, unique("sir-state"));
    store
        .create_table()
        .await
        .expect("create the table in moto");
    store
}

/// A gateway on AWS backends (the SDK pointed at moto), from [`test_settings`] and
/// `customize`; no embedded queue to inspect: tests read what reached AWS.
pub struct AwsApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    served: Served,
    _dir: TempDir,
}

impl AwsApp {
    pub async fn spawn(
        sdk: &aws_config::SdkConfig,
        customize: impl FnOnce(&mut Settings),
        handler: Option<Arc<dyn EventHandler>>,
    ) -> AwsApp {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(dir.path());
        customize(&mut settings);
        let mut app = Application::build_with_aws(
            Config::from_settings(settings).unwrap(),
            Some(sdk.clone()),
        )
        .await
        .unwrap();
        if let Some(handler) = handler {
            app = app.with_handler(handler);
        }
        let served = app.spawn();
        AwsApp {
            addr: served.addr(),
            client: reqwest::Client::new(),
            served,
            _dir: dir,
        }
    }

    pub async fn post_signed(
        &self,
        body: &[u8],
        secret: &str,
        delivery: &str,
    ) -> reqwest::Response {
        self.client
            .post(format!("http://{}/webhooks/jira", self.addr))
            .header("content-type", "application/json")
            .header("x-atlassian-webhook-identifier", delivery)
            .header("x-hub-signature", sign(secret, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.served.stop().await.unwrap();
    }
}

/// An EventBridge bus in moto with a rule (the documented pattern) that targets a new SQS
/// queue. Returns the bus name and the queue URL.
pub async fn bus_to_queue(sdk: &aws_config::SdkConfig, source: &str) -> (String, String) {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let bus = unique("sir-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue_url = create_queue(sdk, &unique("sir-events"), None).await;
    let queue_arn = queue_arn(&sqs, &queue_url).await;
    let rule = unique("sir-rule");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(sir_jira_bridge::bus::eventbridge::jira_events_pattern(source).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (bus, queue_url)
}

/// A new SQS queue; with `redrive`, `(dead-letter queue arn, maxReceiveCount)`.
pub async fn create_queue(
    sdk: &aws_config::SdkConfig,
    name: &str,
    redrive: Option<(String, u32)>,
) -> String {
    let mut request = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name);
    if let Some((arn, max)) = redrive {
        request = request.attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max.to_string()})
                .to_string(),
        );
    }
    request.send().await.unwrap().queue_url.unwrap()
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone()
}

/// Bodies of the messages that arrive on `url` within `within`, deleting them.
pub async fn drain_queue(
    sdk: &aws_config::SdkConfig,
    url: &str,
    want: usize,
    within: Duration,
) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let deadline = tokio::time::Instant::now() + within;
    let mut bodies = Vec::new();
    while bodies.len() < want && tokio::time::Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            bodies.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    bodies
}

/// A SIR emulator on a free loopback port (default account, events on).
pub async fn sir_emulator() -> EmulatorHandle {
    SirEmulator::start(EmulatorConfig::default())
        .await
        .expect("start the SIR emulator")
}

/// The service's SIR client on the emulator, calling as the integration, with the SDK's
/// standard retries on a millisecond scale.
pub fn sir_client(emu: &EmulatorHandle) -> SirClient {
    sir_client_with(
        emu,
        fast_retries(3),
        Arc::new(Metrics::new()),
        Arc::new(PeerHealth::default()),
    )
}

pub fn sir_client_with(
    emu: &EmulatorHandle,
    retry: RetryConfig,
    metrics: Arc<Metrics>,
    peers: Arc<PeerHealth>,
) -> SirClient {
    SirClient::from_conf(
        emu.sdk_config(INTEGRATION_ACCESS_KEY_ID)
            .retry_config(retry),
        metrics,
        peers,
    )
}

/// The SDK's standard retry strategy with `attempts` tries and tiny backoffs.
pub fn fast_retries(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(10))
}

/// A SQLite state store in `dir`.
pub fn sqlite_store(dir: &std::path::Path) -> Arc<dyn StateStore> {
    Arc::new(SqliteStore::new(
        Db::open(&dir.join("state.sqlite3")).unwrap(),
    ))
}

/// A bus that keeps what is published, in order.
#[derive(Default)]
pub struct RecordingBus {
    events: Mutex<Vec<EventEnvelope>>,
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, events: &[Outgoing]) -> Result<(), BusError> {
        self.events
            .lock()
            .unwrap()
            .extend(events.iter().map(|o| o.envelope.clone()));
        Ok(())
    }
}

impl RecordingBus {
    pub fn envelopes(&self) -> Vec<EventEnvelope> {
        self.events.lock().unwrap().clone()
    }

    /// `(case id, change)` of every `sir.case.changed` published so far.
    pub fn case_changes(&self) -> Vec<(String, CaseChange)> {
        self.envelopes()
            .into_iter()
            .filter_map(|e| match e.event {
                Event::SirCaseChanged(c) => Some((c.case_id, c.change)),
                _ => None,
            })
            .collect()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
    }
}

/// A handler that keeps every event it is given, in order.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<EventEnvelope>>);

#[async_trait::async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), sir_jira_bridge::bus::Failure> {
        self.0.lock().unwrap().push(envelope.clone());
        Ok(())
    }
}

/// Fails every event for good until `fixed`; then counts what it applies.
#[derive(Default)]
pub struct BrokenUntilFixed {
    pub fixed: std::sync::atomic::AtomicBool,
    pub applied: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl EventHandler for BrokenUntilFixed {
    async fn handle(&self, _: &EventEnvelope) -> Result<(), sir_jira_bridge::bus::Failure> {
        use std::sync::atomic::Ordering;
        if self.fixed.load(Ordering::SeqCst) {
            self.applied.fetch_add(1, Ordering::SeqCst);
            Ok(())
        } else {
            Err(sir_jira_bridge::bus::Failure {
                error: "Jira said 400: field customfield_10050 does not exist".into(),
                retryable: false,
            })
        }
    }
}
