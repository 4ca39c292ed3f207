//! Typed configuration, layered: command-line flags > environment (`SIR_JIRA_*`) > TOML file >
//! defaults. Every layer fills the same [`Settings`] (all optional); [`Config::from_settings`]
//! applies defaults and validates, naming the setting that is wrong.

mod backends;
mod generated_secret;
mod jira;
mod settings;
mod sir;
pub mod unknown;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use axum::http::HeaderName;

pub use crate::secret::{SecretRef, SecretSource};
pub use backends::{AwsConfig, BackendsConfig, BusBackend, ConsumerBackend, StoreBackend};
pub use generated_secret::{ADMIN_TOKEN_FILE, WEBHOOK_SECRET_FILE, load_or_create_secret};
pub use jira::{JiraConfig, ReconcilerConfig};
pub use settings::{BusKind, ConsumerKind, JiraFlavour, LogFormat, LogLevel, Settings, StoreKind};
pub use sir::{PollerConfig, SirConfig};
pub use unknown::UnknownSetting;

pub use crate::bus::{EventBridgeConfig, QueueConfig};

use crate::{
    domain::{ProjectKey, TopicArn},
    secret::Secret,
};

/// Prefix of every environment variable the service reads.
pub const ENV_PREFIX: &str = "SIR_JIRA_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("setting `{setting}` ({}): {reason}", given_text(setting, given.as_ref()))]
    Invalid {
        setting: &'static str,
        /// Where the bad value came from, when `Config::load` could tell.
        given: Option<Given>,
        reason: String,
    },
    #[error("setting `{setting}`: cannot resolve the secret reference {reference}: {reason}")]
    SecretRef {
        setting: &'static str,
        reference: String,
        reason: String,
    },
    #[error("cannot prepare the webhook secret in {path}: {source}")]
    WebhookSecret {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ConfigError {
    fn invalid(setting: &'static str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            setting,
            given: None,
            reason: reason.into(),
        }
    }

    /// Names where an invalid setting's value came from, as clap and the file merge them: a
    /// typed flag wins over the variable, which wins over the file.
    fn given_by(self, args: &[String], file: Option<&std::path::Path>) -> Self {
        let ConfigError::Invalid {
            setting,
            given: None,
            reason,
        } = self
        else {
            return self;
        };
        let flag = format!("--{}", setting.replace('_', "-"));
        let env = format!("{ENV_PREFIX}{}", setting.to_uppercase());
        let in_file = || {
            let path = file?;
            let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
            table
                .contains_key(setting)
                .then(|| Given::File(path.to_owned()))
        };
        let given = if args
            .iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
        {
            Some(Given::Flag)
        } else if std::env::var_os(&env).is_some() {
            Some(Given::Env)
        } else {
            in_file()
        };
        ConfigError::Invalid {
            setting,
            given,
            reason,
        }
    }
}

/// Where a setting was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    Flag,
    Env,
    File(PathBuf),
}

/// "the environment variable SIR_JIRA_X", or every way to give it when the value was missing.
fn given_text(setting: &str, given: Option<&Given>) -> String {
    let env = format!("{ENV_PREFIX}{}", setting.to_uppercase());
    let flag = setting.replace('_', "-");
    match given {
        Some(Given::Env) => format!("from the environment variable {env}"),
        Some(Given::Flag) => format!("from the flag --{flag}"),
        Some(Given::File(path)) => format!("from key `{setting}` in {}", path.display()),
        None => format!("env {env}, flag --{flag} or key `{setting}` in the config file"),
    }
}

/// The validated configuration the application runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    /// Base URL Jira reaches the gateway at, when it differs from `listen_addr`.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub intake: IntakeConfig,
    pub sns: SnsConfig,
    pub queue: QueueConfig,
    pub server: ServerConfig,
    pub shutdown_grace: Duration,
    /// Bearer token of the admin API (`/v1`). None until start-up fills it from the data
    /// directory's generated token.
    pub admin_token: Option<Secret>,
    pub backends: BackendsConfig,
    pub aws: AwsConfig,
    /// The Jira peer of the case → issue sync; `None` when `jira_url` is unset.
    pub jira: Option<JiraConfig>,
    /// AWS Security Incident Response; `None` when `sir_enabled` is off.
    pub sir: Option<SirConfig>,
    /// `SIR_JIRA_*` variables and file keys that name no setting (typos): start-up warns,
    /// `doctor` fails. Only [`Config::load`] looks for them.
    pub unknown_settings: Vec<UnknownSetting>,
    /// Secret settings given as references (`ssm:…`), until [`Config::resolve_secrets`].
    pending_secrets: Vec<PendingSecret>,
}

#[derive(Debug, Clone)]
struct PendingSecret {
    setting: SecretSetting,
    reference: SecretRef,
}

/// The settings that hold secrets: each may be given by value or by reference (`ssm:…`,
/// `secretsmanager:…`, `file:…`), resolved at start-up by [`Config::resolve_secrets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSetting {
    JiraApiToken,
    JiraWebhookSecrets,
    AutomationSecret,
    AdminToken,
}

impl SecretSetting {
    pub const fn name(self) -> &'static str {
        match self {
            SecretSetting::JiraApiToken => "jira_api_token",
            SecretSetting::JiraWebhookSecrets => "jira_webhook_secrets",
            SecretSetting::AutomationSecret => "automation_secret",
            SecretSetting::AdminToken => "admin_token",
        }
    }

    /// The Jira token is Atlassian's to choose (a PAT may be short); ours must be long.
    const fn min_len(self) -> usize {
        match self {
            SecretSetting::JiraApiToken => 1,
            _ => MIN_SECRET_LEN,
        }
    }

    /// A list setting's parameter may hold several comma-separated secrets, so a rotation is
    /// one parameter update.
    const fn is_list(self) -> bool {
        matches!(self, SecretSetting::JiraWebhookSecrets)
    }
}

/// Secrets shorter than this are refused: they are too easy to guess.
const MIN_SECRET_LEN: usize = 16;

#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Any of these verifies an admin webhook's `X-Hub-Signature` (rotation: old and new).
    /// Empty until start-up fills it from the data directory's generated secret.
    pub webhook_secrets: Vec<Secret>,
    pub automation_header: HeaderName,
    /// Shared secret for Jira Automation "Send web request"; that route is closed without one.
    pub automation_secret: Option<Secret>,
    /// Projects whose events are accepted; empty accepts every project.
    pub project_keys: Vec<ProjectKey>,
    pub max_body_bytes: usize,
    pub dedupe_ttl: Duration,
    /// How long a delivery being accepted blocks its copies; after a crash, its retry waits
    /// this long at most.
    pub claim_ttl: Duration,
}

/// Settings of `POST /webhooks/sns`.
#[derive(Debug, Clone)]
pub struct SnsConfig {
    /// Topics whose messages are accepted; empty refuses every message (403).
    pub topic_arns: Vec<TopicArn>,
    /// Hosts trusted for certificate and SubscribeURL fetches besides AWS's own (lowercase).
    pub extra_cert_hosts: Vec<String>,
    /// Where certificate and SubscribeURL fetches go instead of the named host (emulators).
    pub endpoint_url: Option<url::Url>,
    pub cert_cache_size: usize,
    pub cert_cache_ttl: Duration,
}

/// Limits of the HTTP server: the webhook URL is public, so slow or idle clients must not be
/// able to hold the service's connections or file descriptors.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// `/metrics` asks for the admin token.
    pub metrics_require_token: bool,
}

impl Config {
    /// Loads every layer: `cli` already holds flags over environment (clap resolves both);
    /// the file named by `--config` fills what they leave unset.
    pub fn load(cli: Settings) -> Result<Config, ConfigError> {
        let (file, mut unknown) = match &cli.config {
            Some(path) => Settings::from_toml_file(path)?,
            None => (Settings::default(), Vec::new()),
        };
        let path = cli.config.clone();
        let args: Vec<String> = std::env::args().collect();
        let mut config =
            Config::from_settings(cli.or(file)).map_err(|e| e.given_by(&args, path.as_deref()))?;
        let vars: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect();
        unknown.splice(0..0, unknown::in_env(&vars));
        config.unknown_settings = unknown;
        Ok(config)
    }

    pub fn from_settings(mut s: Settings) -> Result<Config, ConfigError> {
        let workers = s.workers.unwrap_or(2);
        let (backends, aws) = backends::from_settings(&mut s, workers)?;
        let mut pending_secrets = Vec::new();
        let jira = jira::from_settings(&mut s, &mut pending_secrets)?;
        let sir = sir::from_settings(&mut s)?;
        let listen_addr = s
            .listen_addr
            .as_deref()
            .unwrap_or("127.0.0.1:8080")
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::invalid("listen_addr", format!("expected host:port, {e}")))?;

        let public_url = match s.public_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(ConfigError::invalid(
                    "public_url",
                    "must start with http:// or https://",
                ));
            }
            other => other.map(|u| u.trim_end_matches('/').to_owned()),
        };

        let data_dir = s.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("data_dir", "must not be empty"));
        }

        let mut webhook_secrets = Vec::new();
        for (i, secret) in s
            .jira_webhook_secrets
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let setting = SecretSetting::JiraWebhookSecrets;
            match SecretRef::parse(secret.expose()) {
                Some(reference) => pending_secrets.push(PendingSecret {
                    setting,
                    reference: reference.map_err(|e| ConfigError::invalid(setting.name(), e))?,
                }),
                None if secret.expose().len() < MIN_SECRET_LEN => {
                    return Err(ConfigError::invalid(
                        setting.name(),
                        format!("secret #{} is shorter than 16 characters", i + 1),
                    ));
                }
                None => webhook_secrets.push(secret),
            }
        }
        let automation_header = s
            .automation_header
            .as_deref()
            .unwrap_or("X-Automation-Secret")
            .parse::<HeaderName>()
            .map_err(|_| ConfigError::invalid("automation_header", "not a valid header name"))?;
        if automation_header == "x-hub-signature" {
            return Err(ConfigError::invalid(
                "automation_header",
                "must differ from X-Hub-Signature",
            ));
        }
        let mut automation_secret = s.automation_secret.filter(|k| !k.is_empty());
        if let Some(reference) = automation_secret
            .as_ref()
            .and_then(|k| SecretRef::parse(k.expose()))
        {
            let setting = SecretSetting::AutomationSecret;
            pending_secrets.push(PendingSecret {
                setting,
                reference: reference.map_err(|e| ConfigError::invalid(setting.name(), e))?,
            });
            automation_secret = None;
        } else if automation_secret
            .as_ref()
            .is_some_and(|k| k.expose().len() < MIN_SECRET_LEN)
        {
            return Err(ConfigError::invalid(
                "automation_secret",
                "is shorter than 16 characters",
            ));
        }
        let mut admin_token = s.admin_token.filter(|t| !t.is_empty());
        if let Some(reference) = admin_token
            .as_ref()
            .and_then(|t| SecretRef::parse(t.expose()))
        {
            let setting = SecretSetting::AdminToken;
            pending_secrets.push(PendingSecret {
                setting,
                reference: reference.map_err(|e| ConfigError::invalid(setting.name(), e))?,
            });
            admin_token = None;
        } else if admin_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < MIN_SECRET_LEN)
        {
            return Err(ConfigError::invalid(
                "admin_token",
                "is shorter than 16 characters",
            ));
        }
        let project_keys = s
            .jira_project_keys
            .unwrap_or_default()
            .iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| ProjectKey::parse(k.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::invalid("jira_project_keys", e.to_string()))?;

        let sns = SnsConfig {
            topic_arns: s
                .sns_topic_arns
                .unwrap_or_default()
                .iter()
                .filter(|a| !a.trim().is_empty())
                .map(|a| TopicArn::parse(a.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::invalid("sns_topic_arns", e.to_string()))?,
            extra_cert_hosts: s
                .sns_extra_cert_hosts
                .unwrap_or_default()
                .iter()
                .filter(|h| !h.trim().is_empty())
                .map(|h| cert_host(h.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|reason| ConfigError::invalid("sns_extra_cert_hosts", reason))?,
            endpoint_url: s
                .sns_endpoint_url
                .filter(|u| !u.trim().is_empty())
                .map(|u| endpoint_origin(u.trim()))
                .transpose()
                .map_err(|reason| ConfigError::invalid("sns_endpoint_url", reason))?,
            cert_cache_size: match s.sns_cert_cache_size.unwrap_or(32) {
                n @ 1..=10_000 => n,
                _ => {
                    return Err(ConfigError::invalid(
                        "sns_cert_cache_size",
                        "must be between 1 and 10000",
                    ));
                }
            },
            cert_cache_ttl: Duration::from_secs(
                match s.sns_cert_cache_ttl_secs.unwrap_or(86_400) {
                    n @ 1..=604_800 => n,
                    _ => {
                        return Err(ConfigError::invalid(
                            "sns_cert_cache_ttl_secs",
                            "must be between 1 and 604800",
                        ));
                    }
                },
            ),
        };

        let max_body_bytes = s.max_body_bytes.unwrap_or(1024 * 1024);
        if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(ConfigError::invalid(
                "max_body_bytes",
                "must be between 1024 and 67108864",
            ));
        }

        let secs = |name: &'static str, v: Option<u64>, default: u64, min: u64| {
            let v = v.unwrap_or(default);
            if v < min {
                Err(ConfigError::invalid(
                    name,
                    format!("must be at least {min}"),
                ))
            } else {
                Ok(Duration::from_secs(v))
            }
        };
        let millis = |name: &'static str, v: Option<u64>, default: u64| {
            let v = v.unwrap_or(default);
            if v == 0 {
                Err(ConfigError::invalid(name, "must be greater than 0"))
            } else {
                Ok(Duration::from_millis(v))
            }
        };

        let queue = QueueConfig {
            workers,
            max_attempts: match s.max_attempts.unwrap_or(8) {
                0 => return Err(ConfigError::invalid("max_attempts", "must be at least 1")),
                n => n,
            },
            lease: secs("lease_secs", s.lease_secs, 60, 1)?,
            backoff_base: millis("backoff_base_ms", s.backoff_base_ms, 1_000)?,
            backoff_max: millis("backoff_max_ms", s.backoff_max_ms, 600_000)?,
            retention: secs("retention_secs", s.retention_secs, 7 * 24 * 3600, 60)?,
        };
        let server = ServerConfig {
            header_read_timeout: secs(
                "http_header_read_timeout_secs",
                s.http_header_read_timeout_secs,
                10,
                1,
            )?,
            idle_timeout: secs("http_idle_timeout_secs", s.http_idle_timeout_secs, 60, 1)?,
            request_timeout: secs(
                "http_request_timeout_secs",
                s.http_request_timeout_secs,
                60,
                1,
            )?,
            max_connections: match s.http_max_connections.unwrap_or(1024) {
                n @ 1..=1_000_000 => n,
                _ => {
                    return Err(ConfigError::invalid(
                        "http_max_connections",
                        "must be between 1 and 1000000",
                    ));
                }
            },
            metrics_require_token: s.metrics_require_token.unwrap_or(false),
        };
        if queue.workers > 64 {
            return Err(ConfigError::invalid("workers", "must be at most 64"));
        }
        if queue.backoff_max < queue.backoff_base {
            return Err(ConfigError::invalid(
                "backoff_max_ms",
                "must not be less than backoff_base_ms",
            ));
        }

        Ok(Config {
            listen_addr,
            public_url,
            data_dir,
            log_level: s.log_level.unwrap_or(LogLevel::Info),
            log_format: s.log_format.unwrap_or_else(LogFormat::for_terminal),
            intake: IntakeConfig {
                webhook_secrets,
                automation_header,
                automation_secret,
                project_keys,
                max_body_bytes,
                // Jira retries for about half an hour; a day leaves a wide margin.
                dedupe_ttl: secs("dedupe_ttl_secs", s.dedupe_ttl_secs, 24 * 3600, 60)?,
                claim_ttl: secs("delivery_claim_secs", s.delivery_claim_secs, 30, 1)?,
            },
            sns,
            queue,
            server,
            shutdown_grace: secs("shutdown_grace_secs", s.shutdown_grace_secs, 20, 1)?,
            admin_token,
            backends,
            aws,
            jira,
            sir,
            unknown_settings: Vec::new(),
            pending_secrets,
        })
    }

    /// Whether start-up needs the AWS SDK: an AWS backend, SIR, or a secret kept in AWS.
    pub fn needs_aws(&self) -> bool {
        self.backends.uses_aws() || self.sir.is_some() || self.secrets_need_aws()
    }

    /// Whether a secret reference points into AWS (SSM or Secrets Manager).
    pub fn secrets_need_aws(&self) -> bool {
        self.pending_secrets.iter().any(|p| p.reference.needs_aws())
    }

    /// Fetches every secret given by reference and checks it like a literal one. Idempotent:
    /// resolved references are not fetched again.
    pub async fn resolve_secrets(&mut self, source: &dyn SecretSource) -> Result<(), ConfigError> {
        for pending in std::mem::take(&mut self.pending_secrets) {
            let PendingSecret { setting, reference } = pending;
            let failed = |reason: String| ConfigError::SecretRef {
                setting: setting.name(),
                reference: reference.to_string(),
                reason,
            };
            let value = source.fetch(&reference).await.map_err(failed)?;
            let values: Vec<Secret> = if setting.is_list() {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(Secret::new)
                    .collect()
            } else {
                vec![Secret::new(value.trim())]
            };
            let min_len = setting.min_len();
            if values.is_empty() || values.iter().any(|v| v.expose().len() < min_len) {
                return Err(failed(format!(
                    "the value is empty or shorter than {min_len} characters"
                )));
            }
            tracing::info!(setting = setting.name(), reference = %reference, "secret loaded");
            let first = values.first().cloned();
            match setting {
                SecretSetting::JiraApiToken => {
                    if let Some(jira) = self.jira.as_mut() {
                        jira.api_token = first;
                    }
                }
                SecretSetting::JiraWebhookSecrets => self.intake.webhook_secrets.extend(values),
                SecretSetting::AdminToken => self.admin_token = first,
                SecretSetting::AutomationSecret => self.intake.automation_secret = first,
            }
        }
        Ok(())
    }

    /// Path of the SQLite file holding the queue and the state.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("sir-jira-bridge.sqlite3")
    }

    /// The URL to register in Jira for admin webhooks.
    pub fn jira_webhook_url(&self) -> String {
        format!("{}/webhooks/jira", self.base_url())
    }

    /// The URL to subscribe to SNS topics (protocol https, or http for tests).
    pub fn sns_webhook_url(&self) -> String {
        format!("{}/webhooks/sns", self.base_url())
    }

    fn base_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| {
            let host = if self.listen_addr.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                self.listen_addr.ip().to_string()
            };
            format!("http://{host}:{}", self.listen_addr.port())
        })
    }

    /// Fills the webhook secrets from the data directory when none are configured, creating a
    /// random one on first start. The value is never logged; `print-webhook-secret` shows it.
    pub fn ensure_webhook_secret(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        let referenced = self
            .pending_secrets
            .iter()
            .any(|p| p.setting == SecretSetting::JiraWebhookSecrets);
        if !self.intake.webhook_secrets.is_empty() || referenced {
            return Ok(None);
        }
        let (secret, path) = load_or_create_secret(&self.data_dir, WEBHOOK_SECRET_FILE)?;
        self.intake.webhook_secrets.push(secret);
        Ok(Some(path))
    }

    /// Same for the admin token; `print-admin-token` shows it.
    pub fn ensure_admin_token(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        let referenced = self
            .pending_secrets
            .iter()
            .any(|p| p.setting == SecretSetting::AdminToken);
        if self.admin_token.is_some() || referenced {
            return Ok(None);
        }
        let (token, path) = load_or_create_secret(&self.data_dir, ADMIN_TOKEN_FILE)?;
        self.admin_token = Some(token);
        Ok(Some(path))
    }
}

/// A host name trusted for SNS certificate fetches: a DNS name, never an IP address (the
/// rules refuse addresses in URLs, and an extra host must not reopen that door).
fn cert_host(host: &str) -> Result<String, String> {
    let host = host.to_ascii_lowercase();
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !labels_ok || !host.contains('.') || host.len() > 253 {
        return Err(format!("`{host}` is not a host name"));
    }
    if host.parse::<std::net::IpAddr>().is_ok()
        || host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{host}` is an IP address; only host names are accepted"
        ));
    }
    Ok(host)
}

/// An origin (`scheme://host[:port]`) to send SNS fetches to; nothing else may be in it.
fn endpoint_origin(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err("must be an origin only: scheme://host[:port]".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::SecretResolver;

    #[test]
    fn defaults_need_no_configuration() {
        let c = Config::from_settings(Settings::default()).unwrap();
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.intake.max_body_bytes, 1024 * 1024);
        assert_eq!(c.jira_webhook_url(), "http://127.0.0.1:8080/webhooks/jira");
        assert!(c.intake.project_keys.is_empty());
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.server.max_connections, 1024);
        assert!(!c.server.metrics_require_token);
    }

    #[test]
    fn errors_name_the_setting() {
        let s = Settings {
            listen_addr: Some("nope".into()),
            ..Settings::default()
        };
        let msg = Config::from_settings(s).unwrap_err().to_string();
        assert!(msg.contains("listen_addr"), "{msg}");
        assert!(msg.contains("SIR_JIRA_LISTEN_ADDR"), "{msg}");
        assert!(msg.contains("--listen-addr"), "{msg}");

        let s = Settings {
            jira_project_keys: Some(vec!["SEC".into(), "b@d".into()]),
            ..Settings::default()
        };
        let msg = Config::from_settings(s).unwrap_err().to_string();
        assert!(msg.contains("jira_project_keys"), "{msg}");
    }

    #[test]
    fn short_secrets_are_refused_without_echoing_them() {
        let s = Settings {
            jira_webhook_secrets: Some(vec![Secret::new("short-secret")]),
            ..Settings::default()
        };
        let msg = Config::from_settings(s).unwrap_err().to_string();
        assert!(msg.contains("jira_webhook_secrets"), "{msg}");
        assert!(!msg.contains("short-secret"), "{msg}");
    }

    #[test]
    fn flags_and_env_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen_addr = \"0.0.0.0:9000\"\nworkers = 5\njira_project_keys = [\"SEC\"]\n",
        )
        .unwrap();
        let cli = Settings {
            config: Some(path),
            workers: Some(1),
            ..Settings::default()
        };
        let c = Config::load(cli).unwrap();
        assert_eq!(c.listen_addr.to_string(), "0.0.0.0:9000");
        assert_eq!(c.queue.workers, 1);
        assert_eq!(c.intake.project_keys[0].as_str(), "SEC");
    }

    #[test]
    fn backends_default_to_the_embedded_ones_and_need_no_aws() {
        let c = Config::from_settings(Settings::default()).unwrap();
        assert_eq!(c.backends.bus, BusBackend::Embedded);
        assert_eq!(c.backends.store, StoreBackend::Sqlite);
        assert_eq!(c.backends.consumer, ConsumerBackend::InProcess);
        assert!(!c.needs_aws());
    }

    #[test]
    fn aws_backends_are_chosen_independently_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            r#"
bus = "eventbridge"
eventbridge_bus_name = "sir"
store = "dynamodb"
dynamodb_table = "sir-state"
consumer = "sqs"
sqs_queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/sir-events"
aws_region = "eu-west-1"
aws_endpoint_url = "http://127.0.0.1:5000/"
"#,
        )
        .unwrap();
        let c = Config::load(Settings {
            config: Some(path),
            ..Settings::default()
        })
        .unwrap();
        assert_eq!(
            c.backends.bus,
            BusBackend::EventBridge(EventBridgeConfig {
                bus_name: "sir".into(),
                source: "sir-jira-bridge".into()
            })
        );
        assert_eq!(
            c.backends.store,
            StoreBackend::DynamoDb {
                table: "sir-state".into()
            }
        );
        assert!(matches!(c.backends.consumer, ConsumerBackend::Sqs { .. }));
        assert_eq!(c.aws.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert!(c.needs_aws());
        // Without SQLite behind anything, nothing is written to the data directory.
        assert!(!c.backends.uses_sqlite());
    }

    #[test]
    fn incomplete_or_contradictory_backends_are_refused_by_name() {
        let refused = |s: Settings, setting: &str| {
            let msg = Config::from_settings(s).unwrap_err().to_string();
            assert!(msg.contains(&format!("`{setting}`")), "{msg}");
        };
        refused(
            Settings {
                bus: Some(BusKind::EventBridge),
                workers: Some(0),
                ..Settings::default()
            },
            "eventbridge_bus_name",
        );
        refused(
            Settings {
                store: Some(StoreKind::DynamoDb),
                bus: Some(BusKind::EventBridge),
                eventbridge_bus_name: Some("b".into()),
                workers: Some(0),
                ..Settings::default()
            },
            "dynamodb_table",
        );
        // Workers on the embedded queue would never see an event published to EventBridge.
        refused(
            Settings {
                bus: Some(BusKind::EventBridge),
                eventbridge_bus_name: Some("b".into()),
                ..Settings::default()
            },
            "consumer",
        );
        refused(
            Settings {
                consumer: Some(ConsumerKind::Sqs),
                sqs_queue_url: Some("https://sqs/q".into()),
                ..Settings::default()
            },
            "consumer",
        );
        refused(
            Settings {
                store: Some(StoreKind::DynamoDb),
                dynamodb_table: Some("sir-state".into()),
                ..Settings::default()
            },
            "store",
        );
        refused(
            Settings {
                bus: Some(BusKind::EventBridge),
                eventbridge_bus_name: Some("b".into()),
                event_source: Some("aws.securityir".into()),
                workers: Some(0),
                ..Settings::default()
            },
            "event_source",
        );
    }

    #[test]
    fn secret_references_wait_for_resolution_and_are_never_literal_secrets() {
        let s = Settings {
            jira_webhook_secrets: Some(vec![
                Secret::new("ssm:/sir/webhook"),
                Secret::new("literal-secret-0123456789"),
            ]),
            automation_secret: Some(Secret::new("secretsmanager:sir#automation")),
            ..Settings::default()
        };
        let c = Config::from_settings(s).unwrap();
        assert_eq!(c.intake.webhook_secrets.len(), 1, "only the literal so far");
        assert!(c.intake.automation_secret.is_none());
        assert!(c.secrets_need_aws());
        let bad = Settings {
            automation_secret: Some(Secret::new("ssm:")),
            ..Settings::default()
        };
        let msg = Config::from_settings(bad).unwrap_err().to_string();
        assert!(msg.contains("automation_secret"), "{msg}");
    }

    #[tokio::test]
    async fn a_file_reference_resolves_without_aws() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "  from-a-file-0123456789\n").unwrap();
        let mut c = Config::from_settings(Settings {
            automation_secret: Some(Secret::new(format!("file:{}", file.display()))),
            ..Settings::default()
        })
        .unwrap();
        assert!(!c.needs_aws());
        c.resolve_secrets(&SecretResolver::new(None)).await.unwrap();
        assert_eq!(
            c.intake.automation_secret.unwrap().expose(),
            "from-a-file-0123456789"
        );
    }

    #[test]
    fn unknown_file_keys_are_reported_with_the_key_meant_and_the_rest_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen_adr = \"0.0.0.0:9000\"\nworkers = 3\n").unwrap();
        let c = Config::load(Settings {
            config: Some(path.clone()),
            ..Settings::default()
        })
        .unwrap();
        assert_eq!(c.queue.workers, 3);
        let file: Vec<String> = c
            .unknown_settings
            .iter()
            .filter(|u| u.given == Given::File(path.clone()))
            .map(|u| u.to_string())
            .collect();
        assert_eq!(file.len(), 1, "{file:?}");
        assert!(file[0].contains("did you mean listen_addr?"), "{}", file[0]);
        // A wrong type is still an error, at its place in the file.
        std::fs::write(&path, "workers = \"three\"\n").unwrap();
        let err = Config::load(Settings {
            config: Some(path),
            ..Settings::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 1, key `workers`"), "{err}");
    }

    #[test]
    fn sns_settings_are_validated() {
        let c = Config::from_settings(Settings::default()).unwrap();
        assert!(c.sns.topic_arns.is_empty());
        assert!(c.sns.extra_cert_hosts.is_empty());
        assert!(c.sns.endpoint_url.is_none());

        let c = Config::from_settings(Settings {
            sns_topic_arns: Some(vec![
                "arn:aws:sns:us-east-1:123456789012:JiraNotificationsTopic".into(),
            ]),
            sns_extra_cert_hosts: Some(vec!["SNS.us-iso-east-1.c2s.ic.gov".into()]),
            sns_endpoint_url: Some("http://127.0.0.1:5000".into()),
            ..Settings::default()
        })
        .unwrap();
        assert_eq!(c.sns.topic_arns.len(), 1);
        assert_eq!(c.sns.extra_cert_hosts, ["sns.us-iso-east-1.c2s.ic.gov"]);
        assert_eq!(
            c.sns.endpoint_url.unwrap().as_str(),
            "http://127.0.0.1:5000/"
        );

        let refused = [
            Settings {
                sns_topic_arns: Some(vec!["arn:aws:sqs:us-east-1:123456789012:q".into()]),
                ..Settings::default()
            },
            Settings {
                sns_extra_cert_hosts: Some(vec!["10.0.0.1".into()]),
                ..Settings::default()
            },
            Settings {
                sns_extra_cert_hosts: Some(vec!["https://sns.example.com".into()]),
                ..Settings::default()
            },
            Settings {
                sns_endpoint_url: Some("http://127.0.0.1:5000/path".into()),
                ..Settings::default()
            },
            Settings {
                sns_endpoint_url: Some("ftp://127.0.0.1".into()),
                ..Settings::default()
            },
            Settings {
                sns_cert_cache_size: Some(0),
                ..Settings::default()
            },
        ];
        for s in refused {
            let msg = Config::from_settings(s).unwrap_err().to_string();
            assert!(msg.contains("setting `sns_"), "{msg}");
        }
    }
}
