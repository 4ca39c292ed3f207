//! Wiring: builds the [`Components`] from the configured backends (embedded queue or
//! EventBridge, SQLite or DynamoDB, in-process or SQS consumers) and peers (Jira, SIR). The
//! long-running [`Application`] serves them until shut down; the Lambda entry points
//! (`lambda-http/`) serve the same components one invocation at a time.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use aws_config::SdkConfig;
use tokio::{net::TcpListener, sync::OnceCell};
use tokio_util::sync::CancellationToken;

use crate::{
    aws::{self, SecretResolver},
    bus::{EmbeddedQueue, EventBridgeBus, EventBus, EventLog, EventSource, Failure, SqsSource},
    config::{
        BusBackend, Config, ConfigError, ConsumerBackend, PollerConfig, StoreBackend, data_dir,
    },
    consumer::EventConsumer,
    db::{Db, DbError},
    event::EventEnvelope,
    http::{
        self, AppState, JiraIntake, Services, SnsIntake,
        console::ConsoleSettings,
        serve::{self, ServerLimits},
    },
    intake::Intake,
    jira::{JiraApi, JiraAuth, JiraClient, JiraClientConfig, OwnAccount},
    metrics::Metrics,
    onboard::{Doctor, doctor},
    peers::PeerHealth,
    poll::Poller,
    sir::{SirApi, SirClient},
    store::{DynamoStore, SqliteStore, StateStore},
    sync::{
        CaseToIssueSync, SyncSettings,
        issue_to_case::{IssueToCaseConfig, IssueToCaseSync, JiraIssueSource},
        lease::LeaseSettings,
        reconciler::{JiraReconciler, ReconcilerSettings},
    },
    verify::{jira::JiraVerifier, sns::HttpFetcher},
    worker::{Dispatcher, EventHandler, WorkerPool},
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("{0} needs the AWS SDK, but none was configured")]
    NoAws(&'static str),
    #[error("cannot build the HTTP client for SNS certificates: {0}")]
    HttpClient(String),
    #[error("Jira: {0}")]
    Jira(String),
    #[error(
        "setting `{0}` is required here: nothing keeps a generated one between starts \
         (set it, e.g. to ssm:/<parameter>)"
    )]
    SecretRequired(&'static str),
}

/// The Jira side when `jira_url` is configured: the client and the settings the case → issue
/// sync runs with once a SIR client is supplied ([`Application::with_sir`]).
#[derive(Clone)]
pub struct JiraPeer {
    pub api: Arc<dyn JiraApi>,
    /// `own_account` is empty here until [`JiraPeer::account`] knows it.
    pub settings: SyncSettings,
    pub account: Arc<OwnAccount>,
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

/// The state store and the bus, as configured: what the gateway, the workers, the poller and
/// the `backfill` command share.
pub struct Backends {
    pub store: Arc<dyn StateStore>,
    pub bus: Arc<dyn EventBus>,
    /// Present when the bus is the embedded queue.
    pub queue: Option<Arc<EmbeddedQueue>>,
}

impl Backends {
    /// Opens the SQLite file if anything keeps data there, and builds the store and the bus.
    /// `sdk` serves the AWS ones.
    pub fn open(config: &Config, sdk: Option<&SdkConfig>) -> Result<Backends, StartupError> {
        let need_sdk = |what| sdk.ok_or(StartupError::NoAws(what));
        let db = match config.backends.uses_sqlite() {
            true => Some(Db::open(&config.database_path())?),
            false => None,
        };
        let store: Arc<dyn StateStore> = match (&config.backends.store, &db) {
            (StoreBackend::Sqlite, Some(db)) => Arc::new(SqliteStore::new(db.clone())),
            (StoreBackend::DynamoDb { table }, _) => {
                Arc::new(DynamoStore::from_sdk(need_sdk("store = dynamodb")?, table))
            }
            (StoreBackend::Sqlite, None) => unreachable!("uses_sqlite covers store = sqlite"),
        };
        let queue = match (&config.backends.bus, &db) {
            (BusBackend::Embedded, Some(db)) => Some(Arc::new(EmbeddedQueue::new(
                db.clone(),
                config.queue.clone(),
            ))),
            _ => None,
        };
        let bus: Arc<dyn EventBus> = match (&config.backends.bus, &queue) {
            (BusBackend::Embedded, Some(queue)) => queue.clone(),
            (BusBackend::EventBridge(eb), _) => Arc::new(EventBridgeBus::new(
                aws_sdk_eventbridge::Client::new(need_sdk("bus = eventbridge")?),
                eb.clone(),
                store.clone(),
            )),
            (BusBackend::Embedded, None) => unreachable!("uses_sqlite covers bus = embedded"),
        };
        Ok(Backends { store, bus, queue })
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
    /// The SIR client; `None` when SIR is not configured.
    pub sir: Option<Arc<dyn SirApi>>,
    /// Whether [`Components::with_sir`] wired the case → issue sync.
    case_sync: bool,
}

impl Components {
    /// Loads the AWS SDK configuration when a backend or a secret needs it, then
    /// [`Components::build_with_aws`].
    pub async fn build(config: Config, unset: UnsetSecrets) -> Result<Components, StartupError> {
        let sdk = match config.needs_aws() {
            true => Some(aws::load(&config.aws).await),
            false => None,
        };
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
                sir,
                metrics.clone(),
                peers.clone(),
            ))),
            None => None,
        };
        let jira = jira_peer(&config, &metrics, &peers)?;
        let intake = Intake::new(store.clone(), bus.clone(), config.intake.dedupe_ttl)
            .with_claim_ttl(config.intake.claim_ttl);
        let fetcher = HttpFetcher::new(config.sns.endpoint_url.clone())
            .map_err(|e| StartupError::HttpClient(e.to_string()))?;

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
            case_sync: false,
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
                self.case_sync = true;
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
        self.case_sync
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
}

impl Components {
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

/// The long-running process: the gateway on a TCP port, in-process workers, the SIR poller
/// and the janitor.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    components: Components,
}

impl Application {
    /// Loads the AWS SDK configuration when a backend or a secret needs it, then
    /// [`Application::build_with_aws`].
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let sdk = match config.needs_aws() {
            true => Some(aws::load(&config.aws).await),
            false => None,
        };
        Self::build_with_aws(config, sdk).await
    }

    /// Builds the [`Components`] (generating unset secrets into the data directory) and binds
    /// the listener (port 0 picks a free port); nothing runs until
    /// [`Application::run_until_stopped`]. `sdk` serves every AWS backend (tests pass one
    /// pointing at an emulator).
    pub async fn build_with_aws(
        config: Config,
        sdk: Option<SdkConfig>,
    ) -> Result<Application, StartupError> {
        let mut components =
            Components::build_with_aws(config, sdk, UnsetSecrets::Generate).await?;
        let addr = components.config.listen_addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(StartupError::Serve)?;
        components.config.listen_addr = local_addr;
        Ok(Application {
            listener,
            local_addr,
            components,
        })
    }

    /// The Jira peer, when `jira_url` is configured.
    pub fn jira(&self) -> Option<&JiraPeer> {
        self.components.jira.as_ref()
    }

    /// Supplies the SIR client: with Jira configured, SIR-side events (`sir.case.changed`,
    /// `sync.case.requested`) are then synced to Jira issues; without it they stay logged.
    pub fn with_sir(mut self, sir: Arc<dyn SirApi>) -> Self {
        self.components = self.components.with_sir(sir);
        self
    }

    /// The SIR client, when SIR is configured (the syncs use it).
    pub fn sir(&self) -> Option<Arc<dyn SirApi>> {
        self.components.sir.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The embedded queue, for inspection (tests, admin API); `None` with another bus.
    pub fn queue(&self) -> Option<Arc<EmbeddedQueue>> {
        self.components.queue.clone()
    }

    pub fn state(&self) -> AppState {
        self.components.state.clone()
    }

    pub fn components(&self) -> &Components {
        &self.components
    }

    /// Replaces the handler the workers run (tests; the sync issues wire real ones).
    pub fn with_handler(mut self, handler: Arc<dyn EventHandler>) -> Self {
        self.components.handler = handler;
        self
    }

    /// Serves on a task of its own until [`Served::stop`] (or until the handle is dropped):
    /// how tests and benchmarks run the service next to themselves.
    pub fn spawn(self) -> Served {
        let addr = self.local_addr;
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(self.run_until_stopped(async move { token.cancelled().await }));
        Served {
            addr,
            stop,
            task: Some(task),
        }
    }

    /// Serves HTTP and runs the workers until `shutdown` resolves; then stops accepting,
    /// finishes in-flight requests and events (within the grace period), and hands back what
    /// it could not finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let reconciler = self.components.reconciler();
        let Application {
            listener,
            local_addr,
            components:
                Components {
                    config,
                    state,
                    queue,
                    source,
                    handler,
                    jira,
                    sir,
                    case_sync,
                    ..
                },
        } = self;
        let stop = CancellationToken::new();
        // Before anything else opens files, and before "listening": from then on the limits hold.
        let max_connections = serve::connection_cap(config.server.max_connections);
        let database = match config.backends.uses_sqlite() {
            true => config.database_path().display().to_string(),
            false => String::new(),
        };

        tracing::info!(
            listen = %format!("http://{local_addr}"),
            jira_webhook_url = %config.jira_webhook_url(),
            database,
            bus = ?config.backends.bus,
            store = ?config.backends.store,
            consumer = ?config.backends.consumer,
            workers = source.as_ref().map_or(0, |_| config.queue.workers),
            max_connections,
            projects = ?config.intake.project_keys.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            automation = config.intake.automation_secret.is_some(),
            "gateway listening: point a Jira admin webhook (Settings > System > WebHooks) at jira_webhook_url with the webhook secret"
        );
        if config.intake.project_keys.is_empty() {
            tracing::warn!(
                "no jira_project_keys configured: events from every project are accepted"
            );
        }
        for unknown in &config.unknown_settings {
            tracing::warn!(name = %unknown.name, nearest = ?unknown.nearest, "{unknown}: ignored");
        }
        log_sns_settings(&config);
        log_sir_settings(&config);
        if jira.is_some() && !case_sync {
            tracing::warn!(
                "jira_url is configured but SIR is not (sir_enabled): SIR case events are logged, not synced"
            );
        }

        let workers = source.map(|source| {
            WorkerPool::spawn(
                config.queue.workers,
                source,
                handler,
                state.metrics.clone(),
                config.queue.lease,
                config.shutdown_grace,
                stop.clone(),
            )
        });
        let janitor = tokio::spawn(janitor(queue, state.store.clone(), stop.clone()));
        let poller = match (&sir, config.sir.as_ref().and_then(|s| s.poller)) {
            (
                Some(sir),
                Some(PollerConfig {
                    interval,
                    lease_ttl,
                }),
            ) => {
                let poller = Poller::new(
                    sir.clone(),
                    state.store.clone(),
                    state.bus.clone(),
                    state.metrics.clone(),
                    lease_ttl,
                );
                Some(tokio::spawn(poller.run(interval, stop.clone())))
            }
            (Some(_), None) => {
                tracing::info!("sir_poller_enabled = false: this process does not poll SIR");
                None
            }
            _ => None,
        };

        let reconciler = reconciler.map(|r| tokio::spawn(r.run(stop.clone())));
        if reconciler.is_none() && jira.is_some() && case_sync {
            tracing::info!("jira_reconcile_enabled = false: this process does not reconcile Jira");
        }

        if let Some(jira) = jira.filter(|j| j.account.known().is_none()) {
            // Learn the account now rather than with the first event: `/v1/status` and the log
            // then tell at once whether Jira answers.
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = jira.account.get() => {}
                }
            });
        }
        let server = config.server;
        if !server.metrics_require_token && !local_addr.ip().is_loopback() {
            tracing::warn!(
                "/metrics answers without a token on a non-loopback address: set metrics_require_token = true where the gateway is reachable by others"
            );
        }
        let limits = ServerLimits {
            header_read_timeout: server.header_read_timeout,
            idle_timeout: server.idle_timeout,
            max_connections,
            shutdown_grace: config.shutdown_grace,
        };
        let app = http::with_request_timeout(http::router(state), server.request_timeout);
        let server_stop = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: no new requests; finishing in-flight work");
            server_stop.cancel();
        });
        serve::serve(listener, app, limits, stop.clone()).await;
        stop.cancel();
        if let Some(workers) = workers {
            workers.join().await;
        }
        let _ = janitor.await;
        if let Some(poller) = poller {
            let _ = poller.await;
        }
        if let Some(reconciler) = reconciler {
            let _ = reconciler.await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Builds the Jira client when `jira_url` is set. Nothing here calls Jira: the integration's
/// own account, unless configured, is learned when first needed ([`OwnAccount`]).
fn jira_peer(
    config: &Config,
    metrics: &Arc<Metrics>,
    peers: &Arc<PeerHealth>,
) -> Result<Option<JiraPeer>, StartupError> {
    let Some(jira) = &config.jira else {
        return Ok(None);
    };
    let token = jira
        .api_token
        .clone()
        .ok_or_else(|| StartupError::Jira("jira_api_token was not resolved".into()))?;
    let auth = match jira.flavour {
        crate::jira::Flavour::Cloud => JiraAuth::Basic {
            email: jira.email.clone().unwrap_or_default(),
            token,
        },
        crate::jira::Flavour::DataCenter => JiraAuth::Bearer { token },
    };
    let client = JiraClient::new(
        JiraClientConfig {
            base_url: jira.url.clone(),
            flavour: jira.flavour,
            auth,
            timeout: Duration::from_secs(30),
            retry: Default::default(),
        },
        metrics.clone(),
        peers.clone(),
    )
    .map_err(|e| StartupError::Jira(e.to_string()))?;
    let api: Arc<dyn JiraApi> = Arc::new(client);
    let account = Arc::new(OwnAccount::new(api.clone(), jira.account_id.clone()));
    let mut settings = SyncSettings::new(
        jira.project_key.as_str(),
        jira.issue_type.clone(),
        account.known().unwrap_or(""),
    );
    settings.mappings = jira.mappings.clone();
    settings.attachment_max_bytes = jira.attachment_max_bytes;
    // Console links name the case's region (from its ARN); this is the fallback.
    if let Some(region) = config
        .sir
        .as_ref()
        .and_then(|s| s.region.clone())
        .or_else(|| config.aws.region.clone())
    {
        settings.default_region = region;
    }
    settings.lease_ttl = config.queue.lease.max(Duration::from_secs(30));
    tracing::info!(
        jira_url = %jira.url,
        flavour = ?jira.flavour,
        project = %jira.project_key,
        own_account = account.known().unwrap_or("(learned from /myself when first needed)"),
        mappings_file = ?jira.mappings_file,
        "jira configured"
    );
    Ok(Some(JiraPeer {
        api,
        settings,
        account,
    }))
}

fn log_sns_settings(config: &Config) {
    let sns = &config.sns;
    if sns.topic_arns.is_empty() {
        tracing::warn!(
            sns_webhook_url = %config.sns_webhook_url(),
            "no sns_topic_arns configured: POST /webhooks/sns refuses every message (403)"
        );
    } else {
        tracing::info!(
            sns_webhook_url = %config.sns_webhook_url(),
            topics = ?sns.topic_arns.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "sns intake open: subscribe sns_webhook_url to these topics (confirmed automatically)"
        );
    }
    if !sns.extra_cert_hosts.is_empty() {
        tracing::warn!(
            hosts = ?sns.extra_cert_hosts,
            "sns_extra_cert_hosts: certificates are also trusted from these hosts"
        );
    }
    if let Some(endpoint) = &sns.endpoint_url {
        tracing::warn!(
            endpoint = %endpoint,
            "sns_endpoint_url: SNS certificate and SubscribeURL fetches go to this endpoint, not AWS (emulators only)"
        );
    }
}

fn log_sir_settings(config: &Config) {
    let Some(sir) = &config.sir else {
        tracing::info!("SIR not configured (sir_enabled = false): no SIR client, no poller");
        return;
    };
    tracing::info!(
        region = sir
            .region
            .as_deref()
            .or(config.aws.region.as_deref())
            .unwrap_or("(SDK chain)"),
        endpoint = sir
            .endpoint_url
            .as_deref()
            .or(config.aws.endpoint_url.as_deref())
            .unwrap_or("(AWS)"),
        poll_interval_secs = sir.poller.map(|p| p.interval.as_secs()),
        integration_principal = sir.integration_principal.as_deref().unwrap_or(""),
        "SIR configured"
    );
}

/// An [`Application`] running on its own task ([`Application::spawn`]). Dropping it stops the
/// service without waiting.
pub struct Served {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), StartupError>>>,
}

impl Served {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts down gracefully and waits until the service has.
    pub async fn stop(mut self) -> Result<(), StartupError> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.expect("the service task does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Purges finished events past retention and expired dedupe keys and leases.
async fn janitor(
    queue: Option<Arc<EmbeddedQueue>>,
    store: Arc<dyn StateStore>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let purged = match &queue {
            Some(queue) => queue.purge_finished().await,
            None => Ok(0),
        };
        match (purged, store.purge_expired().await) {
            (Ok(events), Ok(keys)) if events + keys > 0 => {
                tracing::debug!(events, keys, "purged expired rows");
            }
            (Err(e), _) => tracing::warn!(error = %e, "cannot purge finished events"),
            (_, Err(e)) => tracing::warn!(error = %e, "cannot purge expired keys"),
            _ => {}
        }
    }
}

/// Resolves on SIGTERM or ctrl-c (SIGINT). The handlers are installed when this is called,
/// not when first polled, so a signal during start-up is not lost to the default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
