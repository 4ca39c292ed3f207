//! `doctor`: checks every link the integration depends on and reports one line each, with the
//! fix when it fails: the configuration; Jira (reachable, credentials, project, issue type,
//! mapped statuses and resolutions, workflow paths, the webhook); SIR; the state store; the
//! bus (and the consumers' queue); the SNS subscription. Every check has a time-out, and every
//! link is reported even when an earlier one failed (what depends on a failed link says so).
//! Read-only: it never registers or changes anything.

use std::{fmt, future::Future, sync::Arc, time::Duration};

use aws_config::SdkConfig;
use serde::Serialize;
use utoipa::ToSchema;

mod aws;
mod jira;

use super::jira_client;
use crate::{
    backends::Backends,
    bus::EmbeddedQueue,
    config::{BusBackend, Config, ConsumerBackend, StoreBackend},
    jira::site::JiraSiteApi,
    metrics::Metrics,
    peers::PeerHealth,
    sir::{SirApi, SirClient},
    store::StateStore,
};

/// How long one check may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    /// Works, but something deserves a look; not a failure.
    Warn,
    Fail,
    /// Not applicable here, or not checkable because a link it depends on failed.
    Skipped,
}

/// One link and what was found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    /// Stable identifier: `config`, `jira.reachable`, `jira.credentials`, `jira.project`,
    /// `jira.issue_type`, `jira.statuses`, `jira.resolutions`, `jira.transitions`,
    /// `jira.webhook`, `sir`, `store`, `bus`, `consumer_queue`, `sns.subscription`.
    pub id: &'static str,
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// What to do about it, when it failed or warns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(id: &'static str, detail: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(id: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn warn(id: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skipped(id: &'static str, detail: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Skipped,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// Every check, in the order they are printed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DoctorReport {
    /// False when any check failed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

const JIRA_CHECKS: [&str; 8] = [
    "jira.reachable",
    "jira.credentials",
    "jira.project",
    "jira.issue_type",
    "jira.statuses",
    "jira.resolutions",
    "jira.transitions",
    "jira.webhook",
];

impl DoctorReport {
    fn new(checks: Vec<Check>) -> DoctorReport {
        DoctorReport {
            ok: checks.iter().all(|c| c.status != CheckStatus::Fail),
            checks,
        }
    }

    /// The report when the configuration itself is invalid: nothing else can be checked.
    pub fn invalid_config(error: &str) -> DoctorReport {
        let mut checks = vec![Check::fail(
            "config",
            format!("invalid: {error}"),
            "correct the setting named above (flag, SIR_JIRA_* variable or config file); \
             `sir-jira-bridge --help` lists them",
        )];
        let rest = JIRA_CHECKS.iter().chain(&[
            "sir",
            "store",
            "bus",
            "consumer_queue",
            "sns.subscription",
        ]);
        checks
            .extend(rest.map(|id| Check::skipped(id, "not checked: the configuration is invalid")));
        DoctorReport::new(checks)
    }

    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let tag = match c.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Warn => "warn",
                CheckStatus::Fail => "FAIL",
                CheckStatus::Skipped => "skip",
            };
            write!(f, "{tag} {:<18} {}", c.id, c.detail)?;
            if let Some(fix) = &c.fix {
                write!(f, " -> fix: {fix}")?;
            }
            writeln!(f)?;
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .count();
        match failed {
            0 => writeln!(f, "all links work"),
            n => writeln!(f, "{n} check(s) failed"),
        }
    }
}

/// How the bus is checked.
enum BusProbe {
    Embedded(Option<Arc<EmbeddedQueue>>),
    EventBridge(aws_sdk_eventbridge::Client, String),
    /// The bus could not even be built.
    Broken(String),
}

/// The checks, with the clients they use. Build once, [`Doctor::run`] as often as wanted.
pub struct Doctor {
    config: Config,
    timeout: Duration,
    http: reqwest::Client,
    jira: Option<Result<Arc<dyn JiraSiteApi>, String>>,
    sir: Option<Arc<dyn SirApi>>,
    store: Result<Arc<dyn StateStore>, String>,
    bus: BusProbe,
    consumer_queue: Option<(aws_sdk_sqs::Client, String)>,
    sns: Option<Result<aws_sdk_sns::Client, String>>,
}

impl Doctor {
    /// For the CLI and tests: opens the configured backends itself. `config` has its secrets
    /// resolved; `sdk` serves the AWS parts (required when the configuration uses AWS, SIR or
    /// SNS topics).
    pub fn from_config(config: Config, sdk: Option<SdkConfig>, timeout: Duration) -> Doctor {
        let (store, queue) = match Backends::open(&config, sdk.as_ref()) {
            Ok(b) => (Ok(b.store), b.queue),
            Err(e) => (Err(e.to_string()), None),
        };
        Doctor::with_store(config, sdk, store, queue, timeout)
    }

    /// For a running service: the store and queue it already has.
    pub fn with_store(
        config: Config,
        sdk: Option<SdkConfig>,
        store: Result<Arc<dyn StateStore>, String>,
        queue: Option<Arc<EmbeddedQueue>>,
        timeout: Duration,
    ) -> Doctor {
        let jira = config.jira.as_ref().map(|j| {
            jira_client(j, timeout)
                .map(|c| Arc::new(c) as Arc<dyn JiraSiteApi>)
                .map_err(|e| e.to_string())
        });
        // One retry at most: the check reports a failure, the time-out bounds the wait.
        let short = sdk.as_ref().map(|sdk| {
            sdk.to_builder()
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
                .build()
        });
        let sir = match (&config.sir, &short) {
            (Some(sir), Some(sdk)) => Some(Arc::new(SirClient::from_sdk(
                sdk,
                sir.region.as_deref(),
                sir.endpoint_url.as_deref(),
                Arc::new(Metrics::new()),
                Arc::new(PeerHealth::default()),
            )) as Arc<dyn SirApi>),
            _ => None,
        };
        let bus = match (&config.backends.bus, &short) {
            (BusBackend::Embedded, _) => BusProbe::Embedded(queue),
            (BusBackend::EventBridge(eb), Some(sdk)) => {
                BusProbe::EventBridge(aws_sdk_eventbridge::Client::new(sdk), eb.bus_name.clone())
            }
            (BusBackend::EventBridge(_), None) => {
                BusProbe::Broken("no AWS configuration was loaded".into())
            }
        };
        let consumer_queue = match (&config.backends.consumer, &short) {
            (ConsumerBackend::Sqs { queue_url }, Some(sdk)) => {
                Some((aws_sdk_sqs::Client::new(sdk), queue_url.clone()))
            }
            _ => None,
        };
        let sns = match (config.sns.topic_arns.is_empty(), &short) {
            (true, _) => None,
            (false, Some(sdk)) => Some(Ok(aws_sdk_sns::Client::new(sdk))),
            (false, None) => Some(Err("no AWS configuration was loaded".into())),
        };
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Doctor {
            config,
            timeout,
            http,
            jira,
            sir,
            store,
            bus,
            consumer_queue,
            sns,
        }
    }

    /// Whether the doctor needs the AWS SDK for `config` (the CLI loads it only then).
    pub fn needs_aws(config: &Config) -> bool {
        config.needs_aws() || !config.sns.topic_arns.is_empty()
    }

    /// Runs every check (the independent links at once) and reports them in a fixed order.
    pub async fn run(&self) -> DoctorReport {
        let (jira, reconciler, sir, store, bus, consumer, sns) = tokio::join!(
            self.jira_checks(),
            self.reconciler_check(),
            self.sir_check(),
            self.store_check(),
            self.bus_check(),
            self.consumer_check(),
            self.sns_check(),
        );
        let mut checks = vec![self.config_check()];
        checks.extend(jira);
        checks.extend([reconciler, sir, store, bus, consumer, sns]);
        DoctorReport::new(checks)
    }

    /// `work`, or a message saying it took too long.
    async fn timed<T, E: fmt::Display>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Timed<E>> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Timed::Failed(e)),
            Err(_) => Err(Timed::TimedOut(self.timeout)),
        }
    }

    fn config_check(&self) -> Check {
        let c = &self.config;
        let mut parts = vec![
            format!(
                "bus {}, store {}, consumer {}",
                match &c.backends.bus {
                    BusBackend::Embedded => "embedded".to_owned(),
                    BusBackend::EventBridge(eb) => format!("eventbridge ({})", eb.bus_name),
                },
                match &c.backends.store {
                    StoreBackend::Sqlite => "sqlite".to_owned(),
                    StoreBackend::DynamoDb { table } => format!("dynamodb ({table})"),
                },
                match &c.backends.consumer {
                    ConsumerBackend::InProcess => "in-process",
                    ConsumerBackend::Sqs { .. } => "sqs",
                },
            ),
            format!("webhook URL {}", c.jira_webhook_url()),
        ];
        if let Some(j) = &c.jira {
            parts.push(format!("jira {} project {}", j.url, j.project_key));
        }
        parts.push(format!(
            "sir {}",
            if c.sir.is_some() { "on" } else { "off" }
        ));
        let detail = format!("valid: {}", parts.join("; "));
        if !c.unknown_settings.is_empty() {
            let unknown: Vec<String> = c.unknown_settings.iter().map(|u| u.to_string()).collect();
            return Check::fail(
                "config",
                format!("{detail}; but {}", unknown.join("; ")),
                "rename each to the setting meant, or remove it: as written it changes nothing",
            );
        }
        if c.public_url.is_none() && c.jira.is_some() {
            return Check::warn(
                "config",
                detail,
                "set public_url (SIR_JIRA_PUBLIC_URL) to the address Jira reaches the gateway at; \
                 without it the webhook URL is the listen address",
            );
        }
        if c.jira.is_none() {
            return Check::warn(
                "config",
                detail,
                "set jira_url, jira_email, jira_api_token and jira_project_key to sync with Jira",
            );
        }
        Check::ok("config", detail)
    }
}

fn skip_rest(ids: &[&'static str], why: &str) -> Vec<Check> {
    ids.iter()
        .map(|id| Check::skipped(id, format!("not checked: {why}")))
        .collect()
}

/// An error that may be a time-out.
enum Timed<E> {
    Failed(E),
    TimedOut(Duration),
}

impl<E: fmt::Display> fmt::Display for Timed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timed::Failed(e) => write!(f, "{e}"),
            Timed::TimedOut(d) => write!(f, "no answer within {} s", d.as_secs_f32()),
        }
    }
}

/// The SDK error's own message (its Display is only "service error").
fn sdk_message<E: std::error::Error>(e: &Timed<E>) -> String {
    match e {
        Timed::Failed(inner) => {
            let mut message = inner.to_string();
            let mut source = inner.source();
            while let Some(s) = source {
                message = format!("{message}: {s}");
                source = s.source();
            }
            message
        }
        other => other.to_string(),
    }
}
