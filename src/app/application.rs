//! The long-running process: the gateway on a TCP port and its background tasks.

use std::{future::Future, net::SocketAddr, sync::Arc};

use aws_config::SdkConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{
    Components, JiraPeer, Served, StartupError, UnsetSecrets, components::load_sdk, tasks::janitor,
};
use crate::{
    bus::EmbeddedQueue,
    config::{Config, PollerConfig},
    http::{
        self, AppState,
        serve::{self, ServerLimits},
    },
    sir::SirApi,
    worker::{EventHandler, WorkerPool},
};

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
        let sdk = load_sdk(&config).await;
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
        // The same poller and reconciler the Lambda deployment's schedule runs.
        let case_sync = self.components.case_sync();
        let reconciler = self.components.reconciler();
        let poller = self.components.poller();
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
        let poller = match (poller, config.sir.as_ref().and_then(|s| s.poller)) {
            (Some(poller), Some(PollerConfig { interval, .. })) => {
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
