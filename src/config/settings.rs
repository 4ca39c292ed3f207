use std::{io::IsTerminal, path::PathBuf};

use clap::ValueEnum;
use serde::Deserialize;

use super::{
    ConfigError,
    unknown::{self, UnknownSetting},
};
use crate::secret::Secret;

/// One layer of configuration. Flags and `SIR_JIRA_*` variables fill it through clap (flags
/// win); the TOML file fills another; [`Settings::or`] stacks them.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
// Unknown keys are found and reported by `unknown` (a warning naming the key meant), not
// refused here with a list of every valid key.
#[serde(default)]
pub struct Settings {
    /// TOML file with any of these settings (keys are the flag names with `_`).
    #[arg(long, global = true, env = "SIR_JIRA_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address the HTTP gateway binds [default: 127.0.0.1:8080].
    #[arg(long, global = true, env = "SIR_JIRA_LISTEN_ADDR")]
    pub listen_addr: Option<String>,

    /// Base URL Jira uses to reach the gateway, if not the listen address (e.g. behind a proxy).
    #[arg(long, global = true, env = "SIR_JIRA_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Directory for the SQLite file and the generated webhook secret [default: ./data].
    #[arg(long, global = true, env = "SIR_JIRA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// error, warn, info, debug or trace [default: info].
    #[arg(long, global = true, env = "SIR_JIRA_LOG_LEVEL")]
    pub log_level: Option<LogLevel>,

    /// json (machines) or text (terminals) [default: text on a terminal, json otherwise].
    #[arg(long, global = true, env = "SIR_JIRA_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Comma-separated secrets of the Jira admin webhook; any one verifies (rotation).
    /// [default: generated once into <data_dir>/jira-webhook-secret]
    #[arg(
        long,
        global = true,
        env = "SIR_JIRA_JIRA_WEBHOOK_SECRETS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub jira_webhook_secrets: Option<Vec<Secret>>,

    /// Header carrying the shared secret of Jira Automation "Send web request" rules
    /// [default: X-Automation-Secret].
    #[arg(long, global = true, env = "SIR_JIRA_AUTOMATION_HEADER")]
    pub automation_header: Option<String>,

    /// Shared secret for Jira Automation deliveries; unset disables that authentication.
    #[arg(
        long,
        global = true,
        env = "SIR_JIRA_AUTOMATION_SECRET",
        hide_env_values = true
    )]
    pub automation_secret: Option<Secret>,

    /// Comma-separated Jira project keys whose events are accepted [default: all].
    #[arg(
        long,
        global = true,
        env = "SIR_JIRA_JIRA_PROJECT_KEYS",
        value_delimiter = ','
    )]
    pub jira_project_keys: Option<Vec<String>>,

    /// Comma-separated SNS topic ARNs whose messages `POST /webhooks/sns` accepts; any other
    /// topic gets 403 [default: none, so the SNS route refuses everything].
    #[arg(
        long,
        global = true,
        env = "SIR_JIRA_SNS_TOPIC_ARNS",
        value_delimiter = ','
    )]
    pub sns_topic_arns: Option<Vec<String>>,

    /// Comma-separated hosts trusted for SigningCertURL and SubscribeURL besides AWS's
    /// `sns.<region>.amazonaws.com[.cn]` (other partitions); still https only [default: none].
    #[arg(
        long,
        global = true,
        env = "SIR_JIRA_SNS_EXTRA_CERT_HOSTS",
        value_delimiter = ','
    )]
    pub sns_extra_cert_hosts: Option<Vec<String>>,

    /// Origin that certificate and SubscribeURL fetches go to instead of the host the message
    /// names, after the URL passed the rules (an emulator such as moto) [default: off].
    #[arg(long, global = true, env = "SIR_JIRA_SNS_ENDPOINT_URL")]
    pub sns_endpoint_url: Option<String>,

    /// SNS signing certificates kept in memory [default: 32].
    #[arg(long, global = true, env = "SIR_JIRA_SNS_CERT_CACHE_SIZE")]
    pub sns_cert_cache_size: Option<usize>,

    /// Seconds a fetched SNS signing certificate is reused, never past its own expiry
    /// [default: 86400].
    #[arg(long, global = true, env = "SIR_JIRA_SNS_CERT_CACHE_TTL_SECS")]
    pub sns_cert_cache_ttl_secs: Option<u64>,

    /// Largest accepted webhook body in bytes [default: 1048576].
    #[arg(long, global = true, env = "SIR_JIRA_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Seconds an HTTP/1 client has to send a request's whole header, also the next one on a
    /// kept-alive connection; slower clients are disconnected [default: 10].
    #[arg(long, global = true, env = "SIR_JIRA_HTTP_HEADER_READ_TIMEOUT_SECS")]
    pub http_header_read_timeout_secs: Option<u64>,

    /// Seconds a connection may move no bytes before it is closed (after its current answer, if
    /// any) [default: 60].
    #[arg(long, global = true, env = "SIR_JIRA_HTTP_IDLE_TIMEOUT_SECS")]
    pub http_idle_timeout_secs: Option<u64>,

    /// Seconds a request may take from its header to its answer, body included; slower ones get
    /// 408 [default: 60].
    #[arg(long, global = true, env = "SIR_JIRA_HTTP_REQUEST_TIMEOUT_SECS")]
    pub http_request_timeout_secs: Option<u64>,

    /// Connections open at once; more wait in the listen backlog. Lowered at start-up to stay
    /// under the open-file limit [default: 1024].
    #[arg(long, global = true, env = "SIR_JIRA_HTTP_MAX_CONNECTIONS")]
    pub http_max_connections: Option<usize>,

    /// `GET /metrics` asks for the admin token (`Authorization: Bearer …`) [default: false].
    #[arg(long, global = true, env = "SIR_JIRA_METRICS_REQUIRE_TOKEN")]
    pub metrics_require_token: Option<bool>,

    /// How long a delivery identifier is remembered for dedupe, in seconds [default: 86400].
    #[arg(long, global = true, env = "SIR_JIRA_DEDUPE_TTL_SECS")]
    pub dedupe_ttl_secs: Option<u64>,

    /// Seconds a delivery being accepted blocks concurrent copies of itself; a crashed
    /// request's retry is accepted after this [default: 30].
    #[arg(long, global = true, env = "SIR_JIRA_DELIVERY_CLAIM_SECS")]
    pub delivery_claim_secs: Option<u64>,

    /// In-process queue workers; 0 runs the gateway only [default: 2].
    #[arg(long, global = true, env = "SIR_JIRA_WORKERS")]
    pub workers: Option<usize>,

    /// Attempts before an event becomes a dead letter [default: 8].
    #[arg(long, global = true, env = "SIR_JIRA_MAX_ATTEMPTS")]
    pub max_attempts: Option<u32>,

    /// Seconds a worker holds an event before it is handed to another [default: 60].
    #[arg(long, global = true, env = "SIR_JIRA_LEASE_SECS")]
    pub lease_secs: Option<u64>,

    /// First retry delay in milliseconds, doubled per attempt, with jitter [default: 1000].
    #[arg(long, global = true, env = "SIR_JIRA_BACKOFF_BASE_MS")]
    pub backoff_base_ms: Option<u64>,

    /// Longest retry delay in milliseconds [default: 600000].
    #[arg(long, global = true, env = "SIR_JIRA_BACKOFF_MAX_MS")]
    pub backoff_max_ms: Option<u64>,

    /// Seconds finished events stay in the queue for inspection [default: 604800].
    #[arg(long, global = true, env = "SIR_JIRA_RETENTION_SECS")]
    pub retention_secs: Option<u64>,

    /// Bearer token for the admin API under /v1 (at least 16 characters).
    /// [default: generated once into <data_dir>/admin-token]
    #[arg(
        long,
        global = true,
        env = "SIR_JIRA_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<Secret>,

    /// Seconds to finish in-flight work on SIGTERM before leases are released [default: 20].
    #[arg(long, global = true, env = "SIR_JIRA_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,

    /// Where accepted events go: the queue in the SQLite file, or Amazon EventBridge
    /// [default: embedded].
    #[arg(long, global = true, env = "SIR_JIRA_BUS")]
    pub bus: Option<BusKind>,

    /// Where state lives: the SQLite file, or a DynamoDB table [default: sqlite].
    #[arg(long, global = true, env = "SIR_JIRA_STORE")]
    pub store: Option<StoreKind>,

    /// What the workers read: the embedded queue, or an SQS queue an EventBridge rule feeds
    /// [default: in-process].
    #[arg(long, global = true, env = "SIR_JIRA_CONSUMER")]
    pub consumer: Option<ConsumerKind>,

    /// EventBridge bus the events are put on (name or ARN; required with bus = eventbridge).
    #[arg(long, global = true, env = "SIR_JIRA_EVENTBRIDGE_BUS_NAME")]
    pub eventbridge_bus_name: Option<String>,

    /// `source` of the events put on EventBridge [default: sir-jira-bridge].
    #[arg(long, global = true, env = "SIR_JIRA_EVENT_SOURCE")]
    pub event_source: Option<String>,

    /// DynamoDB table holding the state (required with store = dynamodb).
    #[arg(long, global = true, env = "SIR_JIRA_DYNAMODB_TABLE")]
    pub dynamodb_table: Option<String>,

    /// URL of the SQS queue the workers read (required with consumer = sqs).
    #[arg(long, global = true, env = "SIR_JIRA_SQS_QUEUE_URL")]
    pub sqs_queue_url: Option<String>,

    /// AWS region [default: the SDK's chain: AWS_REGION, profile, instance metadata].
    #[arg(long, global = true, env = "SIR_JIRA_AWS_REGION")]
    pub aws_region: Option<String>,

    /// One endpoint for every AWS service, for emulators such as moto
    /// [default: AWS_ENDPOINT_URL, else the real AWS endpoints].
    #[arg(long, global = true, env = "SIR_JIRA_AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,

    /// Jira base URL (`https://your-site.atlassian.net`); unset: no case → issue sync.
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_URL")]
    pub jira_url: Option<String>,

    /// cloud (REST v3, ADF, e-mail + API token) or data-center (REST v2, wiki, PAT)
    /// [default: cloud].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_FLAVOUR")]
    pub jira_flavour: Option<JiraFlavour>,

    /// E-mail of the integration's Jira account (Cloud).
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_EMAIL")]
    pub jira_email: Option<String>,

    /// API token (Cloud) or personal access token (Data Center); a value or a reference
    /// (`ssm:…`, `secretsmanager:…`, `file:…`).
    #[arg(
        long,
        global = true,
        env = "SIR_JIRA_JIRA_API_TOKEN",
        hide_env_values = true
    )]
    pub jira_api_token: Option<Secret>,

    /// Project the case issues are created in (required with jira_url).
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_PROJECT_KEY")]
    pub jira_project_key: Option<String>,

    /// Issue type of the case issues, by name or id [default: Task].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_ISSUE_TYPE")]
    pub jira_issue_type: Option<String>,

    /// The integration's own Jira accountId (Data Center: user name), for echo suppression
    /// [default: asked of /myself at start-up].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_ACCOUNT_ID")]
    pub jira_account_id: Option<String>,

    /// TOML file mapping statuses, resolutions, the issue type, labels and custom fields
    /// [default: the built-in mappings].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_MAPPINGS_FILE")]
    pub jira_mappings_file: Option<PathBuf>,

    /// SIR attachments larger than this become a comment naming them [default: 10485760].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_ATTACHMENT_MAX_BYTES")]
    pub jira_attachment_max_bytes: Option<u64>,
    /// Run the Jira reconciler in this process: a search every interval for issues changed
    /// since the last, so a change whose webhook was lost still reaches its case [default:
    /// true when jira_url and sir_enabled are set].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_RECONCILE_ENABLED")]
    pub jira_reconcile_enabled: Option<bool>,

    /// Seconds between two Jira reconciler runs [default: 300].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_RECONCILE_INTERVAL_SECS")]
    pub jira_reconcile_interval_secs: Option<u64>,

    /// How far before its last run the reconciler searches again: Jira's search index lags
    /// fresh changes, JQL dates have minute precision and clocks drift [default: 600].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_RECONCILE_OVERLAP_SECS")]
    pub jira_reconcile_overlap_secs: Option<u64>,

    /// Changes younger than this are left to their webhook for one more run, so the reconciler
    /// recovers only what no webhook brought [default: 60].
    #[arg(long, global = true, env = "SIR_JIRA_JIRA_RECONCILE_GRACE_SECS")]
    pub jira_reconcile_grace_secs: Option<u64>,

    /// Sync with AWS Security Incident Response: the SIR client, native case events and the
    /// poller [default: false, the gateway runs without SIR].
    #[arg(long, global = true, env = "SIR_JIRA_SIR_ENABLED")]
    pub sir_enabled: Option<bool>,

    /// Region of the SIR API [default: aws_region, else the SDK's chain].
    #[arg(long, global = true, env = "SIR_JIRA_SIR_REGION")]
    pub sir_region: Option<String>,

    /// Endpoint for SIR calls only, for the SIR emulator; takes precedence over
    /// aws_endpoint_url [default: the real SIR endpoint].
    #[arg(long, global = true, env = "SIR_JIRA_SIR_ENDPOINT_URL")]
    pub sir_endpoint_url: Option<String>,

    /// The integration's own principal as SIR shows it in createdBy/updatedBy (account id or
    /// ARN), for the start-up log and diagnostics. Echo suppression does not depend on it: SIR
    /// may show only the account id, shared with the people working the case, so the syncs
    /// recognise their own writes by ledger, links and comment tags [default: none].
    #[arg(long, global = true, env = "SIR_JIRA_SIR_INTEGRATION_PRINCIPAL")]
    pub sir_integration_principal: Option<String>,

    /// Run the SIR poller in this process [default: true when sir_enabled].
    #[arg(long, global = true, env = "SIR_JIRA_SIR_POLLER_ENABLED")]
    pub sir_poller_enabled: Option<bool>,

    /// Seconds between two SIR poller runs [default: 60].
    #[arg(long, global = true, env = "SIR_JIRA_SIR_POLL_INTERVAL_SECS")]
    pub sir_poll_interval_secs: Option<u64>,

    /// Seconds the polling replica holds the poller lease without renewing it; more than the
    /// interval [default: 3 × sir_poll_interval_secs].
    #[arg(long, global = true, env = "SIR_JIRA_SIR_POLL_LEASE_SECS")]
    pub sir_poll_lease_secs: Option<u64>,
}

impl Settings {
    /// The settings a TOML file holds, and its keys that name no setting.
    pub fn from_toml_file(
        path: &std::path::Path,
    ) -> Result<(Settings, Vec<UnknownSetting>), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |e: toml::de::Error| ConfigError::ParseFile {
            path: path.to_owned(),
            message: e
                .span()
                .map(|span| where_in(&text, span.start))
                .unwrap_or_default()
                + e.message().trim_end(),
        };
        let table: toml::Table = toml::from_str(&text).map_err(invalid)?;
        let unknown = unknown::in_file(table.keys().map(String::as_str), path);
        Ok((toml::from_str(&text).map_err(invalid)?, unknown))
    }

    /// `self` where set, otherwise `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            config: self.config.or(lower.config),
            listen_addr: self.listen_addr.or(lower.listen_addr),
            public_url: self.public_url.or(lower.public_url),
            data_dir: self.data_dir.or(lower.data_dir),
            log_level: self.log_level.or(lower.log_level),
            log_format: self.log_format.or(lower.log_format),
            jira_webhook_secrets: self.jira_webhook_secrets.or(lower.jira_webhook_secrets),
            automation_header: self.automation_header.or(lower.automation_header),
            automation_secret: self.automation_secret.or(lower.automation_secret),
            jira_project_keys: self.jira_project_keys.or(lower.jira_project_keys),
            sns_topic_arns: self.sns_topic_arns.or(lower.sns_topic_arns),
            sns_extra_cert_hosts: self.sns_extra_cert_hosts.or(lower.sns_extra_cert_hosts),
            sns_endpoint_url: self.sns_endpoint_url.or(lower.sns_endpoint_url),
            sns_cert_cache_size: self.sns_cert_cache_size.or(lower.sns_cert_cache_size),
            sns_cert_cache_ttl_secs: self
                .sns_cert_cache_ttl_secs
                .or(lower.sns_cert_cache_ttl_secs),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            http_header_read_timeout_secs: self
                .http_header_read_timeout_secs
                .or(lower.http_header_read_timeout_secs),
            http_idle_timeout_secs: self.http_idle_timeout_secs.or(lower.http_idle_timeout_secs),
            http_request_timeout_secs: self
                .http_request_timeout_secs
                .or(lower.http_request_timeout_secs),
            http_max_connections: self.http_max_connections.or(lower.http_max_connections),
            metrics_require_token: self.metrics_require_token.or(lower.metrics_require_token),
            dedupe_ttl_secs: self.dedupe_ttl_secs.or(lower.dedupe_ttl_secs),
            delivery_claim_secs: self.delivery_claim_secs.or(lower.delivery_claim_secs),
            workers: self.workers.or(lower.workers),
            max_attempts: self.max_attempts.or(lower.max_attempts),
            lease_secs: self.lease_secs.or(lower.lease_secs),
            backoff_base_ms: self.backoff_base_ms.or(lower.backoff_base_ms),
            backoff_max_ms: self.backoff_max_ms.or(lower.backoff_max_ms),
            retention_secs: self.retention_secs.or(lower.retention_secs),
            shutdown_grace_secs: self.shutdown_grace_secs.or(lower.shutdown_grace_secs),
            admin_token: self.admin_token.or(lower.admin_token),
            bus: self.bus.or(lower.bus),
            store: self.store.or(lower.store),
            consumer: self.consumer.or(lower.consumer),
            eventbridge_bus_name: self.eventbridge_bus_name.or(lower.eventbridge_bus_name),
            event_source: self.event_source.or(lower.event_source),
            dynamodb_table: self.dynamodb_table.or(lower.dynamodb_table),
            sqs_queue_url: self.sqs_queue_url.or(lower.sqs_queue_url),
            aws_region: self.aws_region.or(lower.aws_region),
            aws_endpoint_url: self.aws_endpoint_url.or(lower.aws_endpoint_url),
            jira_url: self.jira_url.or(lower.jira_url),
            jira_flavour: self.jira_flavour.or(lower.jira_flavour),
            jira_email: self.jira_email.or(lower.jira_email),
            jira_api_token: self.jira_api_token.or(lower.jira_api_token),
            jira_project_key: self.jira_project_key.or(lower.jira_project_key),
            jira_issue_type: self.jira_issue_type.or(lower.jira_issue_type),
            jira_account_id: self.jira_account_id.or(lower.jira_account_id),
            jira_mappings_file: self.jira_mappings_file.or(lower.jira_mappings_file),
            jira_attachment_max_bytes: self
                .jira_attachment_max_bytes
                .or(lower.jira_attachment_max_bytes),
            jira_reconcile_enabled: self.jira_reconcile_enabled.or(lower.jira_reconcile_enabled),
            jira_reconcile_interval_secs: self
                .jira_reconcile_interval_secs
                .or(lower.jira_reconcile_interval_secs),
            jira_reconcile_overlap_secs: self
                .jira_reconcile_overlap_secs
                .or(lower.jira_reconcile_overlap_secs),
            jira_reconcile_grace_secs: self
                .jira_reconcile_grace_secs
                .or(lower.jira_reconcile_grace_secs),
            sir_enabled: self.sir_enabled.or(lower.sir_enabled),
            sir_region: self.sir_region.or(lower.sir_region),
            sir_endpoint_url: self.sir_endpoint_url.or(lower.sir_endpoint_url),
            sir_integration_principal: self
                .sir_integration_principal
                .or(lower.sir_integration_principal),
            sir_poller_enabled: self.sir_poller_enabled.or(lower.sir_poller_enabled),
            sir_poll_interval_secs: self.sir_poll_interval_secs.or(lower.sir_poll_interval_secs),
            sir_poll_lease_secs: self.sir_poll_lease_secs.or(lower.sir_poll_lease_secs),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    pub fn for_terminal() -> LogFormat {
        if std::io::stderr().is_terminal() {
            LogFormat::Text
        } else {
            LogFormat::Json
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    Embedded,
    #[value(name = "eventbridge")]
    EventBridge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    #[value(name = "dynamodb")]
    DynamoDb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsumerKind {
    InProcess,
    Sqs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JiraFlavour {
    Cloud,
    DataCenter,
}

/// "line 3, key `workers`: " for an error at byte `at` of a TOML text, so the person finds the
/// line without counting bytes; the key is named when the line assigns one.
fn where_in(text: &str, at: usize) -> String {
    let at = at.min(text.len());
    let line_no = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or_default();
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() && !key.trim_start().starts_with('[') => {
            format!("line {line_no}, key `{}`: ", key.trim())
        }
        _ => format!("line {line_no}: "),
    }
}
