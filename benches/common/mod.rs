//! What the sync benchmarks share: the service on its embedded default (SQLite queue and store,
//! in-process workers) wired to in-process Jira and SIR emulators, with the handler wrapped so a
//! benchmark learns when each event has been applied, and small statistics helpers.
//!
//! Benchmarks report; they assert nothing.

#![allow(dead_code)] // each bench binary uses a different part

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use jira_emulator::{EmulatorConfig as JiraConfig, JiraEmulator};
use sir_emulator::{EmulatorConfig as SirConfig, EmulatorHandle, INTEGRATION_ACCESS_KEY_ID};
use sir_jira_bridge::{
    app::{Application, Served},
    bus::{EmbeddedQueue, EventBus, Failure, Outgoing},
    config::{Config, LogLevel, Settings},
    event::{
        Event, EventEnvelope, Origin,
        sir::{CaseChange, CaseChanged},
    },
    metrics::Metrics,
    peers::PeerHealth,
    secret::Secret,
    sir::{SirApi, SirClient},
    store::StateStore,
    verify::jira::sign,
    worker::EventHandler,
};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const SECRET: &str = "bench-webhook-secret-0123456789";
/// The Jira emulator's human account (a person's changes are not echoes).
pub const DANA: &str = "5b10a2844c20165700ede21g";

/// When the handler took an event and when it finished applying it.
#[derive(Debug, Clone, Copy)]
pub struct Handled {
    pub started: Instant,
    pub finished: Instant,
}

/// Who waits for which delivery id to be applied.
#[derive(Default)]
pub struct Completions {
    waiting: Mutex<HashMap<String, oneshot::Sender<Handled>>>,
    /// Handler runs that failed (the event is retried by the queue).
    pub failures: AtomicUsize,
    /// Handler runs in all, retries included.
    pub runs: AtomicUsize,
}

impl Completions {
    /// Resolves once the event with this delivery id has been applied successfully. Register
    /// before the event can reach a worker.
    pub fn expect(&self, delivery_id: &str) -> oneshot::Receiver<Handled> {
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap()
            .insert(delivery_id.to_owned(), tx);
        rx
    }
}

/// The service's own handler (the dispatcher with both syncs), reporting completions.
struct Tracked {
    inner: Arc<dyn EventHandler>,
    done: Arc<Completions>,
}

#[async_trait]
impl EventHandler for Tracked {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        let started = Instant::now();
        self.done.runs.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.handle(envelope).await;
        match &result {
            Ok(()) => {
                let waiter = self
                    .done
                    .waiting
                    .lock()
                    .unwrap()
                    .remove(&envelope.delivery_id);
                if let Some(tx) = waiter {
                    let _ = tx.send(Handled {
                        started,
                        finished: Instant::now(),
                    });
                }
            }
            Err(_) => {
                self.done.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }
}

/// The service (gateway, embedded queue, workers, both syncs) between a Jira and a SIR emulator.
pub struct Stack {
    pub jira: JiraEmulator,
    pub sir: EmulatorHandle,
    pub addr: SocketAddr,
    pub queue: Arc<EmbeddedQueue>,
    pub store: Arc<dyn StateStore>,
    pub sir_api: Arc<dyn SirApi>,
    pub done: Arc<Completions>,
    pub http: reqwest::Client,
    served: Served,
    _dir: TempDir,
}

impl Stack {
    /// Starts both emulators and the service configured for them (`customize` adjusts the
    /// settings: workers, lease, backoff). The SIR client calls as the emulator's integration
    /// principal with the SDK's standard retries.
    pub async fn start(jira_config: JiraConfig, customize: impl FnOnce(&mut Settings)) -> Stack {
        let jira = JiraEmulator::start(jira_config).await.unwrap();
        let sir = sir_emulator::SirEmulator::start(SirConfig::default())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings {
            listen_addr: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_owned()),
            jira_webhook_secrets: Some(vec![Secret::new(SECRET)]),
            admin_token: Some(Secret::new("bench-admin-token-0123456789")),
            log_level: Some(LogLevel::Error),
            jira_url: Some(jira.base_url().to_owned()),
            jira_email: Some("sir-bridge@example.com".into()),
            jira_api_token: Some(Secret::new("bridge-api-token")),
            jira_project_key: Some("SEC".into()),
            ..Settings::default()
        };
        customize(&mut settings);
        let app = Application::build(Config::from_settings(settings).unwrap())
            .await
            .unwrap();
        let sir_api: Arc<dyn SirApi> = Arc::new(SirClient::from_conf(
            sir.sdk_config(INTEGRATION_ACCESS_KEY_ID),
            Arc::new(Metrics::new()),
            Arc::new(PeerHealth::default()),
        ));
        let app = app.with_sir(sir_api.clone());
        let done = Arc::new(Completions::default());
        let inner = app.components().handler.clone();
        let app = app.with_handler(Arc::new(Tracked {
            inner,
            done: done.clone(),
        }));
        let queue = app.queue().expect("the embedded bus");
        let store = app.state().store.clone();
        let served = app.spawn();
        let addr = served.addr();
        Stack {
            jira,
            sir,
            addr,
            queue,
            store,
            sir_api,
            done,
            http: reqwest::Client::new(),
            served,
            _dir: dir,
        }
    }

    /// Puts a `sir.case.changed` on the bus, as the native-event consumer or the poller does;
    /// returns its delivery id.
    pub async fn case_changed(&self, case_id: &str, change: CaseChange) -> String {
        let delivery = uuid::Uuid::new_v4().to_string();
        let envelope = EventEnvelope::new(
            Origin::SirNative,
            delivery.clone(),
            Event::SirCaseChanged(CaseChanged {
                case_id: case_id.into(),
                change,
                actor: None,
                last_updated: None,
            }),
        );
        self.publish(envelope).await;
        delivery
    }

    /// Like [`Stack::case_changed`], tracked: registers for the completion, then publishes;
    /// returns the instant just before the publish and the completion.
    pub async fn case_changed_tracked(
        &self,
        case_id: &str,
        change: CaseChange,
    ) -> (Instant, oneshot::Receiver<Handled>) {
        let delivery = uuid::Uuid::new_v4().to_string();
        let done = self.done.expect(&delivery);
        let envelope = EventEnvelope::new(
            Origin::SirNative,
            delivery,
            Event::SirCaseChanged(CaseChanged {
                case_id: case_id.into(),
                change,
                actor: None,
                last_updated: None,
            }),
        );
        let t0 = Instant::now();
        self.publish(envelope).await;
        (t0, done)
    }

    /// Puts an event on the bus as it is.
    pub async fn publish(&self, envelope: EventEnvelope) {
        self.queue
            .publish(&[Outgoing {
                envelope,
                raw: None,
            }])
            .await
            .unwrap();
    }

    /// Posts a signed Jira webhook; returns the HTTP status.
    pub async fn post_webhook(&self, body: &[u8], delivery: &str) -> u16 {
        self.http
            .post(format!("http://{}/webhooks/jira", self.addr))
            .header("content-type", "application/json")
            .header("x-atlassian-webhook-identifier", delivery)
            .header("x-hub-signature", sign(SECRET, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The Jira issue key the case is mapped to.
    pub async fn issue_key(&self, case_id: &str) -> Option<String> {
        self.store
            .mapping_by_case(case_id)
            .await
            .unwrap()
            .map(|m| m.issue_key)
    }

    /// Points Jira's admin webhook at the gateway, so Jira reports every change (ours too).
    pub fn connect_jira_webhooks(&self) {
        self.jira
            .webhooks()
            .set_target(&format!("http://{}/webhooks/jira", self.addr), Some(SECRET));
    }

    /// Waits until Jira has delivered every webhook and the queue holds nothing unfinished.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let idle = self
                .jira
                .webhooks()
                .wait_idle(Duration::from_millis(50))
                .await;
            let s = self.queue.stats().await.unwrap();
            if idle && s.ready + s.leased == 0 {
                // Twice, a moment apart: a finished event may just have caused a webhook.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let again = self.queue.stats().await.unwrap();
                if self
                    .jira
                    .webhooks()
                    .wait_idle(Duration::from_millis(50))
                    .await
                    && again.ready + again.leased == 0
                {
                    return true;
                }
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        let _ = self.served.stop().await;
    }
}

/// Sorted-sample statistics.
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

pub fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let n = samples.len();
    let pct = |p: f64| samples[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
    Summary {
        n,
        p50: pct(0.50),
        p90: pct(0.90),
        p99: pct(0.99),
        max: samples[n - 1],
        mean: samples.iter().sum::<Duration>() / n as u32,
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The machine, for the record: cores, memory, load average.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or("?".into(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cores} cores, {mem}, load average {load}")
}
