//! A faithful emulator of the Jira REST API (Cloud v3 with ADF, Data Center v2 with wiki text)
//! and of Jira's admin webhooks, for end-to-end tests and benchmarks.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use jira_emulator::{EmulatorConfig, JiraEmulator};
//! let jira = JiraEmulator::start(EmulatorConfig::default()).await?;
//! jira.webhooks().set_target("http://127.0.0.1:9999/webhooks/jira", Some("secret"));
//! // … point the client at jira.base_url() with jira.auth_header() …
//! assert_eq!(jira.requests().write_count(), 0);
//! jira.as_human().move_to("SEC-1", "Done")?;
//! # Ok(()) }
//! ```

pub mod adf;
pub mod auth;
pub mod config;
pub mod error;
mod fields;
mod human;
pub mod jql;
pub mod log;
pub mod model;
pub mod rate_limit;
mod repr;
mod routes;
pub mod site;
pub mod state;
pub mod webhooks;
pub mod workflow;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use config::{
    AccountConfig, CustomFieldConfig, CustomFieldKind, EmulatorConfig, LimitsConfig, Mode,
    RateLimitConfig, RateLimitPolicy, RateLimitScope, StatusCategory, StatusConfig,
    TransitionConfig, WebhookBodyFormat, WebhookConfig, WorkflowConfig,
};
pub use error::JiraError;
pub use human::Human;
pub use log::{RequestLog, RequestRecord};
pub use model::{
    Account, Attachment, ChangeGroup, ChangeItem, Comment, Issue, RichText, StatusChange,
};
pub use webhooks::{AttemptOutcome, DeliveryRecord, MEMORY_TARGET, sign};

use crate::{
    rate_limit::RateLimiter,
    routes::App,
    site::Site,
    state::State,
    webhooks::{DeliverySettings, Dispatcher},
};

/// A running emulator. Dropping it stops the server.
pub struct JiraEmulator {
    app: App,
    addr: SocketAddr,
    base_url: String,
    mode: Mode,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl JiraEmulator {
    /// Starts on `127.0.0.1` and a free port.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Self> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(config: EmulatorConfig, addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let base_url = config
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_owned();
        let site = Site::compile(&config, base_url.clone()).map_err(anyhow::Error::msg)?;
        let (dispatcher, sink) = Dispatcher::start(DeliverySettings::from(&config.webhooks));
        let state = State::new(&config, site, Some(sink));
        let app = App {
            state: Arc::new(Mutex::new(state)),
            limiter: Arc::new(Mutex::new(RateLimiter::new(config.rate_limit.clone()))),
            log: Arc::new(RequestLog::default()),
            dispatcher,
            media_key: Arc::new(uuid::Uuid::new_v4().to_string()),
        };
        let router = routes::router(app.clone(), config.mode);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "jira emulator server failed");
            }
        });
        Ok(Self {
            app,
            addr,
            base_url,
            mode: config.mode,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>` (or the configured public URL), without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    // ---- accounts and credentials -----------------------------------------------------------

    pub fn accounts(&self) -> Vec<Account> {
        self.app.state().accounts.clone()
    }

    pub fn account(&self, account_id: &str) -> Option<Account> {
        self.app.state().account(account_id).cloned()
    }

    /// The first configured account: the integration's own (an administrator by default).
    pub fn integration_account(&self) -> Account {
        self.app.state().accounts[0].clone()
    }

    /// The first account that is not the integration's: who "human" actions act as.
    pub fn human_account(&self) -> Account {
        let state = self.app.state();
        state.accounts.get(1).unwrap_or(&state.accounts[0]).clone()
    }

    /// `Authorization` value for the integration account in this mode (Basic on Cloud, Bearer
    /// PAT on Data Center).
    pub fn auth_header(&self) -> String {
        self.auth_header_for(&self.integration_account().account_id)
    }

    pub fn auth_header_for(&self, account_id: &str) -> String {
        let account = self.account(account_id).expect("known account");
        match self.mode {
            Mode::DataCenter => format!("Bearer {}", account.pat.unwrap_or_default()),
            _ => auth::basic_header(&account.email, &account.api_token.unwrap_or_default()),
        }
    }

    /// Changes an account's Cloud API token (the old one then gets 401s: an expired token).
    pub fn set_api_token(&self, account_id: &str, token: Option<&str>) {
        if let Some(a) = self.app.state().account_mut(account_id) {
            a.api_token = token.map(str::to_owned);
        }
    }

    pub fn set_pat(&self, account_id: &str, pat: Option<&str>) {
        if let Some(a) = self.app.state().account_mut(account_id) {
            a.pat = pat.map(str::to_owned);
        }
    }

    /// Deactivates or reactivates an account: a deactivated one's credentials get 401s.
    pub fn set_account_active(&self, account_id: &str, active: bool) {
        if let Some(a) = self.app.state().account_mut(account_id) {
            a.active = active;
        }
    }

    pub fn set_admin(&self, account_id: &str, admin: bool) {
        if let Some(a) = self.app.state().account_mut(account_id) {
            a.admin = admin;
        }
    }

    // ---- state inspection -------------------------------------------------------------------

    pub fn issue(&self, id_or_key: &str) -> Option<Issue> {
        self.app.state().issue(id_or_key).cloned()
    }

    /// Every issue, in creation order.
    pub fn issues(&self) -> Vec<Issue> {
        self.app.state().issues().cloned().collect()
    }

    /// Issues carrying `label`.
    pub fn issues_with_label(&self, label: &str) -> Vec<Issue> {
        self.app
            .state()
            .issues()
            .filter(|i| i.labels.iter().any(|l| l == label))
            .cloned()
            .collect()
    }

    /// The current status name.
    pub fn status_of(&self, id_or_key: &str) -> Option<String> {
        let state = self.app.state();
        state
            .issue(id_or_key)
            .map(|i| state.status_name(&i.status_id))
    }

    /// The current resolution name.
    pub fn resolution_of(&self, id_or_key: &str) -> Option<String> {
        let state = self.app.state();
        let issue = state.issue(id_or_key)?;
        let id = issue.resolution_id.as_ref()?;
        state.site.resolution(id).map(|r| r.name.clone())
    }

    /// Every status the issue went through, starting with its initial one.
    pub fn status_history(&self, id_or_key: &str) -> Vec<StatusChange> {
        self.issue(id_or_key)
            .map(|i| i.status_history)
            .unwrap_or_default()
    }

    pub fn comments(&self, id_or_key: &str) -> Vec<Comment> {
        let state = self.app.state();
        state
            .issue(id_or_key)
            .map(|i| state.comments_of(i).into_iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn attachments(&self, id_or_key: &str) -> Vec<Attachment> {
        let state = self.app.state();
        state
            .issue(id_or_key)
            .map(|i| state.attachments_of(i).into_iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn issue_property(&self, id_or_key: &str, key: &str) -> Option<Value> {
        self.issue(id_or_key)?.properties.get(key).cloned()
    }

    pub fn comment_property(&self, comment_id: &str, key: &str) -> Option<Value> {
        self.app
            .state()
            .comment(comment_id)?
            .properties
            .get(key)
            .cloned()
    }

    /// Ages every issue and comment by `by`: the site as it would be after that long untouched.
    pub fn age(&self, by: std::time::Duration) {
        self.app
            .state()
            .age(time::Duration::try_from(by).expect("a representable duration"));
    }

    /// Runs `f` with the whole state locked, for inspections the helpers do not cover.
    pub fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.app.state())
    }

    // ---- runtime switches -------------------------------------------------------------------

    pub fn set_rate_limit(&self, config: RateLimitConfig) {
        self.app.limiter.lock().expect("limiter lock").set(config);
    }

    /// Every `k`-th request is refused with 429 and `Retry-After: retry_after_secs`.
    pub fn rate_limit_every(&self, k: u32, retry_after_secs: u64) {
        self.set_rate_limit(RateLimitConfig {
            policy: RateLimitPolicy::EveryKth { k },
            retry_after_secs,
            ..RateLimitConfig::default()
        });
    }

    /// Like [`Self::set_rate_limit`] but refusals are 503s with `Retry-After`.
    pub fn unavailable(&self, policy: RateLimitPolicy, retry_after_secs: u64) {
        self.set_rate_limit(RateLimitConfig {
            policy,
            unavailable_retry_after_secs: Some(retry_after_secs),
            ..RateLimitConfig::default()
        });
    }

    pub fn clear_rate_limit(&self) {
        self.set_rate_limit(RateLimitConfig::default());
    }

    /// Changes limits (attachment size, page caps, redirects) at runtime.
    pub fn set_limits(&self, f: impl FnOnce(&mut LimitsConfig)) {
        f(&mut self.app.state().limits);
    }

    // ---- request log ------------------------------------------------------------------------

    pub fn requests(&self) -> &RequestLog {
        &self.app.log
    }

    // ---- webhooks ---------------------------------------------------------------------------

    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { app: &self.app }
    }

    // ---- acting as a person -----------------------------------------------------------------

    /// Acts in "the UI" as the human account.
    pub fn as_human(&self) -> Human<'_> {
        self.as_user(&self.human_account().account_id)
    }

    /// Acts in "the UI" as `account_id`; changes fire webhooks like API changes do.
    pub fn as_user(&self, account_id: &str) -> Human<'_> {
        Human::new(&self.app, account_id.to_owned(), self.mode)
    }
}

impl Drop for JiraEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Control of outgoing webhooks.
pub struct Webhooks<'a> {
    app: &'a App,
}

impl Webhooks<'_> {
    /// Sets the configured webhook's target and secret (all default events, no JQL filter).
    pub fn set_target(&self, url: &str, secret: Option<&str>) {
        let events = config::DEFAULT_WEBHOOK_EVENTS
            .iter()
            .map(|e| (*e).to_owned())
            .collect();
        self.app.state().set_configured_webhook(
            url.to_owned(),
            secret.map(str::to_owned),
            events,
            None,
        );
    }

    /// Events the configured webhook subscribes to.
    pub fn set_events(&self, events: &[&str]) {
        if let Some(w) = self.app.state().configured_webhook_mut() {
            w.events = events.iter().map(|e| (*e).to_owned()).collect();
        }
    }

    /// JQL filter of the configured webhook.
    pub fn set_jql(&self, jql: Option<&str>) {
        if let Some(w) = self.app.state().configured_webhook_mut() {
            w.jql = jql.map(str::to_owned);
        }
    }

    pub fn set_secret(&self, secret: Option<&str>) {
        if let Some(w) = self.app.state().configured_webhook_mut() {
            w.secret = secret.map(str::to_owned);
        }
    }

    pub fn set_enabled(&self, enabled: bool) {
        if let Some(w) = self.app.state().configured_webhook_mut() {
            w.enabled = enabled;
        }
    }

    pub fn clear_target(&self) {
        self.app.state().remove_configured_webhook();
    }

    /// Makes the admin webhook REST resource answer 404 (`false`) or work again (`true`).
    pub fn set_rest_resource(&self, present: bool) {
        self.app.state().webhook_rest_resource = present;
    }

    pub fn set_body_format(&self, format: WebhookBodyFormat) {
        self.app.state().webhook_body_format = format;
    }

    /// Every `k`-th delivery is sent twice with the same identifier; `None` turns it off.
    pub fn duplicate_every(&self, k: Option<u32>) {
        self.app
            .dispatcher
            .update_settings(|s| s.duplicate_every = k.filter(|k| *k > 0));
    }

    /// Deliveries are held until `n` are waiting (or the flush delay passes), then sent newest
    /// first; `None` restores order.
    pub fn reorder(&self, batch: Option<usize>, flush: Duration) {
        self.app.dispatcher.update_settings(|s| {
            s.reorder_batch = batch.filter(|n| *n > 1);
            s.reorder_flush = flush;
        });
    }

    pub fn set_retry_delays(&self, delays: Vec<Duration>) {
        self.app
            .dispatcher
            .update_settings(|s| s.retry_delays = delays);
    }

    pub fn set_timeout(&self, timeout: Duration) {
        self.app.dispatcher.update_settings(|s| s.timeout = timeout);
    }

    /// Every delivery so far with its attempts, in the order first attempts were made.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.app.dispatcher.records()
    }

    pub fn clear_deliveries(&self) {
        self.app.dispatcher.clear_records();
    }

    /// Waits until nothing is queued or being retried; false on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        self.app.dispatcher.wait_idle(timeout).await
    }
}
