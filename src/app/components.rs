//! Everything the service is made of, wired from the configuration but not running.

use std::{sync::Arc, time::Duration};

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use super::{JiraPeer, StartupError, jira::jira_peer};
use crate::{
    aws::{self, SecretResolver},
    backends::Backends,
    bus::{EmbeddedQueue, EventBus, EventLog, EventSource, Failure, SqsSource},
    config::{Config, ConsumerBackend},
    consumer::EventConsumer,
    data_dir,
    event::EventEnvelope,
    http::{self, AppState, JiraIntake, Services, SnsIntake, console::ConsoleSettings},
    intake::Intake,
    metrics::Metrics,
    onboard::{Doctor, doctor},
    peers::PeerHealth,
    poll::Poller,
    sir::{SirApi, SirClient},
    store::StateStore,
    sync::{
        CaseToIssueSync,
        issue_to_case::{IssueToCaseConfig, IssueToCaseSync, JiraIssueSource},
        lease::LeaseSettings,
        reconciler::{JiraReconciler, ReconcilerSettings},
    },
    verify::{jira::JiraVerifier, sns::HttpFetcher},
    worker::{Dispatcher, EventHandler},
};

/// The AWS SDK configuration, loaded once per process and only when a backend, a secret or SIR
/// needs it.
pub(super) async fn load_sdk(config: &Config) -> Option<SdkConfig> {
    match config.needs_aws() {
        true => Some(aws::load(&config.aws).await),
        false => None,
    }
}

/// What start-up does about a Jira webhook secret or admin token that nobody configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsetSecrets {
    /// Generate one into the data directory and reuse it on later starts: a process whose data
    /// directory is kept (the embedded default, a container with a volume).
    Generate,
    /// Refuse to start: where nothing is kept between starts (Lambda), every instance would
    /// generate a different secret and Jira's deliveries would fail at random.
    Refuse,
    /// Leave them unset: roles that serve no HTTP (the Lambda consumers and poller).
    Ignore,
}

/// Everything the service is made of, wired from the configuration but not running: the state
/// store, the bus, the peers, the event handler and the HTTP state. The long-running process
/// ([`Application`]) serves them over TCP with in-process workers and the poller; the Lambda
/// entry points (`lambda-http/`) serve the same pieces one invocation at a time. Whatever one
/// deployment needs is wired here, so the other has it too.
pub struct Components {
    pub config: Config,
    /// The AWS SDK configuration, when a backend, a secret or SIR needed it.
    pub sdk: Option<SdkConfig>,
    pub store: Arc<dyn StateStore>,
    pub bus: Arc<dyn EventBus>,
    /// Present when the bus is the embedded queue.
    pub queue: Option<Arc<EmbeddedQueue>>,
    /// What in-process workers read; `None` when consumers run elsewhere.
    pub source: Option<Arc<dyn EventSource>>,
    /// What every consumer runs on an event: the workers, the Lambda consumers.
    pub handler: Arc<dyn EventHandler>,
    /// The HTTP gateway's state; [`Components::router`] serves it.
    pub state: AppState,
    /// The Jira peer, when `jira_url` is configured.
    pub jira: Option<JiraPeer>,
    /// The SIR client; `None` when SIR is not configured. Set through
    /// [`Components::with_sir`], which wires the syncs when Jira is configured too.
    pub sir: Option<Arc<dyn SirApi>>,
}

impl Components {
    /// Loads the AWS SDK configuration when a backend or a secret needs it, then
    /// [`Components::build_with_aws`].
    pub async fn build(config: Config, unset: UnsetSecrets) -> Result<Components, StartupError> {
        let sdk = load_sdk(&config).await;
        Self::build_with_aws(config, sdk, unset).await
    }

    /// Resolves secret references, deals with unset secrets as `unset` says, opens the
    /// backends and builds the peers; with both Jira and SIR configured the handler syncs
    /// cases to issues. `sdk` serves every AWS backend (tests pass one pointing at an
    /// emulator).
    pub async fn build_with_aws(
        mut config: Config,
        sdk: Option<SdkConfig>,
        unset: UnsetSecrets,
    ) -> Result<Components, StartupError> {
        config
            .resolve_secrets(&SecretResolver::new(sdk.as_ref()))
            .await?;
        match unset {
            UnsetSecrets::Generate => generate_unset_secrets(&mut config)?,
            UnsetSecrets::Refuse => {
                if config.intake.webhook_secrets.is_empty() {
                    return Err(StartupError::SecretRequired("jira_webhook_secrets"));
                }
                if config.admin_token.is_none() {
                    return Err(StartupError::SecretRequired("admin_token"));
                }
            }
            UnsetSecrets::Ignore => {}
        }
        let need_sdk = |what| sdk.as_ref().ok_or(StartupError::NoAws(what));

        let Backends { store, bus, queue } = Backends::open(&config, sdk.as_ref())?;
        if let Some(mode) = data_dir::world_accessible(&config.data_dir) {
            tracing::warn!(
                data_dir = %config.data_dir.display(),
                mode = %format!("{mode:o}"),
                "the data directory (queued deliveries, state, generated secrets) is open to other users: chmod 700 it"
            );
        }
        let metrics = Arc::new(Metrics::new());
        let peers = Arc::new(PeerHealth::default());
        let source: Option<Arc<dyn EventSource>> = match &config.backends.consumer {
            ConsumerBackend::InProcess => queue.clone().map(|q| q as Arc<dyn EventSource>),
            ConsumerBackend::Sqs { queue_url } => Some(Arc::new(
                SqsSource::new(
                    aws_sdk_sqs::Client::new(need_sdk("consumer = sqs")?),
                    queue_url,
                    store.clone(),
                    config.queue.clone(),
                )
                .with_metrics(metrics.clone()),
            )),
        };
        let sir: Option<Arc<dyn SirApi>> = match &config.sir {
            Some(sir) => Some(Arc::new(SirClient::from_sdk(
                need_sdk("sir_enabled")?,
                sir.region.as_deref(),
                sir.endpoint_url.as_deref(),
                metrics.clone(),
                peers.clone(),
            ))),
            None => None,
        };
        let jira = jira_peer(&config, &metrics, &peers)?;
        let intake = Intake::new(store.clone(), bus.clone(), config.intake.dedupe_ttl)
            .with_claim_ttl(config.intake.claim_ttl);
        let fetcher = HttpFetcher::new(config.sns.endpoint_url.clone());

        let state = AppState::new(Services {
            intake,
            store: store.clone(),
            bus: bus.clone(),
            event_log: queue.clone().map(|q| q as Arc<dyn EventLog>),
            jira: Arc::new(JiraIntake {
                verifier: JiraVerifier::new(
                    config.intake.webhook_secrets.clone(),
                    config.intake.automation_header.clone(),
                    config.intake.automation_secret.clone(),
                ),
                config: config.intake.clone(),
            }),
            sns: Arc::new(SnsIntake::new(&config.sns, Arc::new(fetcher), &metrics)),
            webhook_body_limit: config.server.webhook_body_limit,
            metrics,
            peers,
            admin_token: config.admin_token.clone(),
            metrics_require_token: config.server.metrics_require_token,
            doctor: Some(Arc::new(Doctor::with_store(
                config.clone(),
                sdk.clone(),
                Ok(store.clone()),
                queue.clone(),
                doctor::DEFAULT_TIMEOUT,
            ))),
            console: ConsoleSettings::from_config(&config),
        });

        let components = Components {
            config,
            sdk,
            store,
            bus,
            queue,
            source,
            handler: Arc::new(Dispatcher::default()),
            state,
            jira,
            sir,
        };
        // With both peers configured, SIR-side events are synced to Jira.
        Ok(match components.sir.clone() {
            Some(sir) => components.with_sir(sir),
            None => components,
        })
    }

    /// Supplies the SIR client: with Jira configured, SIR-side events (`sir.case.changed`,
    /// `sync.case.requested`) are then synced to Jira issues; without it they stay logged.
    pub fn with_sir(mut self, sir: Arc<dyn SirApi>) -> Self {
        self.sir = Some(sir.clone());
        match &self.jira {
            Some(jira) => {
                self.handler = match jira.account.known() {
                    Some(own_account) => Arc::new(sync_dispatcher(
                        jira,
                        own_account,
                        &sir,
                        &self.store,
                        &self.state.metrics,
                    )),
                    None => Arc::new(AwaitingAccount {
                        jira: jira.clone(),
                        sir,
                        store: self.store.clone(),
                        metrics: self.state.metrics.clone(),
                        dispatcher: OnceCell::new(),
                    }),
                };
                tracing::info!(project = %jira.settings.project_key, "case → issue sync enabled");
            }
            None => tracing::warn!(
                "SIR is configured but Jira is not (jira_url): case events are logged only"
            ),
        }
        self
    }

    /// Whether the case → issue sync is wired.
    pub fn case_sync(&self) -> bool {
        self.jira.is_some() && self.sir.is_some()
    }

    /// The HTTP gateway: every route, served over TCP by [`Application`] and by
    /// `lambda_http` on Lambda.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// Runs the handler on events that a push-based bus delivers one at a time (an EventBridge
    /// rule invoking a Lambda).
    pub fn consumer(&self) -> EventConsumer {
        EventConsumer::new(
            self.store.clone(),
            self.handler.clone(),
            self.state.metrics.clone(),
        )
    }

    /// The SIR poller on these components, when SIR is configured. Its lease lasts
    /// `sir_poll_lease_secs` (or three default intervals where this process runs no poller
    /// loop, as on Lambda).
    pub fn poller(&self) -> Option<Poller> {
        let sir = self.sir.clone()?;
        let lease_ttl = self
            .config
            .sir
            .as_ref()
            .and_then(|s| s.poller)
            .map_or(Duration::from_secs(180), |p| p.lease_ttl);
        Some(Poller::new(
            sir,
            self.store.clone(),
            self.bus.clone(),
            self.state.metrics.clone(),
            lease_ttl,
        ))
    }

    /// The Jira reconciler on these components, when Jira and SIR are configured and
    /// `jira_reconcile_enabled` is not false. Its lease outlasts three intervals.
    pub fn reconciler(&self) -> Option<JiraReconciler> {
        let jira = self.jira.as_ref()?;
        self.sir.as_ref()?;
        let config = self.config.jira.as_ref()?;
        let schedule = config.reconciler?;
        Some(JiraReconciler::new(
            jira.api.clone(),
            jira.account.clone(),
            self.store.clone(),
            self.bus.clone(),
            self.state.metrics.clone(),
            config.project_key.clone(),
            ReconcilerSettings {
                interval: schedule.interval,
                overlap: schedule.overlap,
                grace: schedule.grace,
                lease_ttl: schedule.interval * 3,
            },
        ))
    }
}

/// Fills unset secrets from the data directory, generating them on first start.
fn generate_unset_secrets(config: &mut Config) -> Result<(), StartupError> {
    if let Some(path) = config.ensure_webhook_secret()? {
        tracing::info!(path = %path.display(), "using the generated Jira webhook secret (show it with `print-webhook-secret`)");
        if !config.backends.uses_sqlite() {
            // On AWS the data directory is rarely kept across restarts or shared by
            // replicas: each would generate its own secret.
            tracing::warn!(
                "no jira_webhook_secrets configured on AWS backends: set one, e.g. ssm:/<parameter>"
            );
        }
    }
    if let Some(path) = config.ensure_admin_token()? {
        tracing::info!(path = %path.display(), "using the generated admin API token (show it with `print-admin-token`)");
    }
    Ok(())
}

/// Both syncs, once the integration's account is known: until then every event waits in
/// [`OwnAccount::get`] (the worker keeps its lease; on shutdown it goes back to the queue).
struct AwaitingAccount {
    jira: JiraPeer,
    sir: Arc<dyn SirApi>,
    store: Arc<dyn StateStore>,
    metrics: Arc<Metrics>,
    dispatcher: OnceCell<Dispatcher>,
}

#[async_trait::async_trait]
impl EventHandler for AwaitingAccount {
    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
        let dispatcher = self
            .dispatcher
            .get_or_init(|| async {
                let own_account = self.jira.account.get().await;
                sync_dispatcher(
                    &self.jira,
                    own_account,
                    &self.sir,
                    &self.store,
                    &self.metrics,
                )
            })
            .await;
        dispatcher.handle(envelope).await
    }
}

/// The case → issue and issue → case syncs, with `own_account` as the integration's account.
fn sync_dispatcher(
    jira: &JiraPeer,
    own_account: &str,
    sir: &Arc<dyn SirApi>,
    store: &Arc<dyn StateStore>,
    metrics: &Arc<Metrics>,
) -> Dispatcher {
    let mut settings = jira.settings.clone();
    settings.own_account = own_account.to_owned();
    // Jira → case: the same SIR client and store, the integration's own Jira account (its
    // writes are echoes) and the status map read the other way.
    let reverse = IssueToCaseSync::new(
        IssueToCaseConfig::for_jira(own_account, &settings.mappings),
        sir.clone(),
        store.clone(),
    )
    // Key-only deliveries (Automation `IssueId`) and operator syncs read the issue through the
    // same client, rate budget and credential health.
    .with_issue_source(Arc::new(JiraIssueSource::new(jira.api.clone())))
    .with_attachment_limit(settings.attachment_max_bytes)
    // One lease per case for both directions (see `sync::lease`).
    .with_lease(LeaseSettings {
        ttl: settings.lease_ttl,
        wait: settings.lease_wait,
    })
    .with_metrics(metrics.clone());
    let sync = CaseToIssueSync::new(jira.api.clone(), sir.clone(), store.clone(), settings);
    Dispatcher {
        case_to_issue: Arc::new(sync),
        issue_to_case: Arc::new(reverse),
    }
}
