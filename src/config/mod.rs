//! Typed configuration, layered: command-line flags > environment (`SIR_JIRA_*`) > TOML file >
//! defaults. Every layer fills the same [`Settings`] (all optional); [`Config::from_settings`]
//! applies defaults and validates, naming the setting that is wrong.

mod backends;
mod error;
mod generated_secret;
mod intake;
mod jira;
mod secrets;
mod server;
mod settings;
mod sir;
mod sns;
pub mod unknown;
mod values;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

pub use backends::{AwsConfig, BackendsConfig, BusBackend, ConsumerBackend, StoreBackend};
pub use error::{ConfigError, Given};
pub use generated_secret::{ADMIN_TOKEN_FILE, WEBHOOK_SECRET_FILE, load_or_create_secret};
pub use intake::IntakeConfig;
pub use jira::{JiraConfig, ReconcilerConfig};
pub use secrets::SecretSetting;
pub use server::ServerConfig;
pub use settings::{BusKind, ConsumerKind, JiraFlavour, LogFormat, LogLevel, Settings, StoreKind};
pub use sir::{PollerConfig, SirConfig};
pub use sns::SnsConfig;
pub use unknown::UnknownSetting;

use crate::secret::Secret;
pub use crate::{
    bus::{EventBridgeConfig, QueueConfig},
    secret::{SecretRef, SecretSource},
};
use secrets::{PendingSecret, literal_or_pending};
use values::secs;

/// Prefix of every environment variable the service reads.
pub const ENV_PREFIX: &str = "SIR_JIRA_";

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

        let public_url = match s.public_url.take() {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(ConfigError::invalid(
                    "public_url",
                    "must start with http:// or https://",
                ));
            }
            other => other.map(|u| u.trim_end_matches('/').to_owned()),
        };

        let data_dir = s.data_dir.take().unwrap_or_else(|| PathBuf::from("data"));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("data_dir", "must not be empty"));
        }
        let intake = intake::from_settings(&mut s, &mut pending_secrets)?;
        let admin_token = literal_or_pending(
            SecretSetting::AdminToken,
            s.admin_token.take(),
            &mut pending_secrets,
        )?;

        Ok(Config {
            listen_addr,
            public_url,
            data_dir,
            log_level: s.log_level.unwrap_or(LogLevel::Info),
            log_format: s.log_format.unwrap_or_else(LogFormat::for_terminal),
            intake,
            sns: sns::from_settings(&mut s)?,
            queue: server::queue_from_settings(&s, workers)?,
            server: server::from_settings(&s)?,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::SecretResolver;

    #[test]
    fn defaults_need_no_configuration() {
        let c = Config::from_settings(Settings::default()).unwrap();
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.webhook_body_limit, 1024 * 1024);
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
