//! An AWS Security Incident Response emulator for tests.
//!
//! It speaks the service's REST-JSON protocol on loopback, so the official `aws-sdk-securityir`
//! client talks to it through an endpoint override exactly as it talks to AWS:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sir_emulator::{EmulatorConfig, SirEmulator};
//! let emu = SirEmulator::start(EmulatorConfig::default()).await?;
//! let client = emu.sdk_client(); // fake credentials, us-east-1, endpoint = emu.endpoint_url()
//! let ids = emu.seed_cases(1_000, |_| Default::default());
//! emu.analyst().add_comment(&ids[0], "Looking into it").unwrap();
//! let list = client.list_cases().max_results(25).send().await.unwrap();
//! assert_eq!(emu.log().count(sir_emulator::Operation::ListCases), 1);
//! # let _ = list; Ok(()) }
//! ```
//!
//! Besides serving the API it keeps a request log, can inject throttling and faults, emits
//! native-style EventBridge events, and offers helpers to seed cases and to act as a human
//! analyst. See the crate's README for what is faithful and what is simplified.

pub mod auth;
pub mod errors;
pub mod events;
pub mod log;
pub mod model;
pub mod state;
pub mod throttle;

mod paging;
mod routes;
mod shared;
mod validate;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

pub use auth::{Principal, PrincipalDisplay};
pub use errors::{ApiError, FieldError};
pub use events::{DeliveryStats, EventBridgeTarget, EventKind, SirEvent};
pub use log::{Injected, Operation, RequestLog, RequestRecord};
pub use model::{
    AttachmentStatus, CaseStatus, ClosureCode, EngagementType, PendingAction, ResolverType,
    Timestamp,
};
pub use state::{
    Attachment, Case, CaseEdit, CaseUpdate, Comment, NewCase, SeedCase, ThreatActorIp, Watcher,
};
pub use throttle::{FaultMode, ThrottleMode};

use crate::auth::Principals;
use crate::events::Events;
use crate::shared::Shared;
use crate::state::{Settings, State};
use crate::throttle::Injector;

/// The access key id [`EmulatorHandle::sdk_client`] signs with: "the integration".
pub const INTEGRATION_ACCESS_KEY_ID: &str = "AKIDSIRJIRABRIDGE";
/// The access key id of the built-in human analyst.
pub const ANALYST_ACCESS_KEY_ID: &str = "AKIDSIRANALYST";
/// The account cases live in unless configured otherwise.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free one. Only loopback makes sense for tests.
    pub bind: SocketAddr,
    pub account_id: String,
    pub region: String,
    /// The integration's principal (what [`EmulatorHandle::sdk_client`] calls as).
    pub integration: Principal,
    /// The human analyst's principal (what [`EmulatorHandle::analyst`] acts as).
    pub analyst: Principal,
    /// More access keys → principals.
    pub principals: Vec<Principal>,
    pub principal_display: PrincipalDisplay,
    /// Emit native-style events at all (to the in-memory channel, and the bus if set).
    pub events_enabled: bool,
    /// Also PutEvents to this EventBridge endpoint.
    pub event_bridge: Option<EventBridgeTarget>,
    /// Enforce the documented UpdateCaseStatus transition graph.
    pub strict_transitions: bool,
    pub allow_comments_on_closed_cases: bool,
    /// The `closureCode` an API CloseCase records (the API cannot pass one).
    pub api_close_closure_code: Option<ClosureCode>,
    pub presigned_url_ttl: Duration,
    /// Page size of list calls that send no `maxResults`.
    pub default_max_results: usize,
    /// Cases to seed at start (created by the analyst, spread over the past day).
    pub seed_cases: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self::for_account(DEFAULT_ACCOUNT_ID)
    }
}

impl EmulatorConfig {
    /// The defaults, with the integration and the analyst in `account_id`.
    pub fn for_account(account_id: &str) -> Self {
        let account = account_id.to_string();
        EmulatorConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            integration: Principal::new(
                INTEGRATION_ACCESS_KEY_ID,
                account.clone(),
                format!("arn:aws:sts::{account}:assumed-role/sir-jira-bridge/integration"),
            ),
            analyst: Principal::new(
                ANALYST_ACCESS_KEY_ID,
                account.clone(),
                format!("arn:aws:iam::{account}:user/analyst"),
            ),
            account_id: account,
            region: "us-east-1".to_string(),
            principals: Vec::new(),
            principal_display: PrincipalDisplay::AccountId,
            events_enabled: true,
            event_bridge: None,
            strict_transitions: true,
            allow_comments_on_closed_cases: false,
            api_close_closure_code: None,
            presigned_url_ttl: Duration::from_secs(300),
            default_max_results: 10,
            seed_cases: 0,
        }
    }

    pub fn with_event_bridge(mut self, target: EventBridgeTarget) -> Self {
        self.event_bridge = Some(target);
        self
    }
}

pub struct SirEmulator;

impl SirEmulator {
    /// Binds, starts serving in the background, and returns the handle. Dropping the handle
    /// stops the server.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<EmulatorHandle> {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");

        let mut principals = Principals::new(config.account_id.clone());
        principals.register(config.integration.clone());
        principals.register(config.analyst.clone());
        for p in &config.principals {
            principals.register(p.clone());
        }
        let settings = Settings {
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            principal_display: config.principal_display,
            strict_transitions: config.strict_transitions,
            allow_comments_on_closed_cases: config.allow_comments_on_closed_cases,
            api_close_closure_code: config.api_close_closure_code,
            presigned_url_ttl: config.presigned_url_ttl,
            default_max_results: config.default_max_results,
        };
        let events = Arc::new(Events::new(config.events_enabled));
        events.set_bus(config.event_bridge.clone());
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(settings, principals)),
            log: RequestLog::default(),
            injector: Mutex::new(Injector::default()),
            events,
            base_url: base_url.clone(),
            denied: Mutex::new(HashSet::new()),
        });

        let app = routes::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "SIR emulator stopped");
            }
        });

        let handle = EmulatorHandle {
            shared,
            addr,
            base_url,
            config,
            shutdown: Some(tx),
            task: Some(task),
        };
        if handle.config.seed_cases > 0 {
            let now = Timestamp::now();
            let n = handle.config.seed_cases;
            handle.seed_cases(n, |i| {
                let created = now.minus(Duration::from_secs(86_400));
                SeedCase {
                    case: NewCase {
                        title: format!("Seeded case {}", i + 1),
                        ..NewCase::default()
                    },
                    created_date: Some(created.plus(Duration::from_secs(i as u64))),
                    last_updated_date: Some(created.plus(Duration::from_secs(2 * i as u64))),
                    ..SeedCase::default()
                }
            });
        }
        Ok(handle)
    }
}

/// A running emulator.
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    config: EmulatorConfig,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`: give it to `aws_sdk_securityir::config::Builder::endpoint_url`
    /// or put it in `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    /// Stops serving and waits for the server task to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    // ----- SDK clients -----------------------------------------------------------------------

    /// An SDK config builder pointed at the emulator, signing with `access_key_id` and a fake
    /// secret in the configured region. Adjust it (e.g. retries) and build a client from it.
    pub fn sdk_config(&self, access_key_id: &str) -> aws_sdk_securityir::config::Builder {
        use aws_sdk_securityir::config::{BehaviorVersion, Credentials, Region};
        aws_sdk_securityir::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.config.region.clone()))
            .credentials_provider(Credentials::new(
                access_key_id,
                "sir-emulator-secret-access-key",
                None,
                None,
                "sir-emulator",
            ))
            .endpoint_url(self.endpoint_url())
    }

    /// A client that calls as the integration ([`INTEGRATION_ACCESS_KEY_ID`]).
    pub fn sdk_client(&self) -> aws_sdk_securityir::Client {
        self.sdk_client_as(&self.config.integration.access_key_id)
    }

    /// A client that calls with another access key id (register its principal first to give
    /// it a particular account or ARN).
    pub fn sdk_client_as(&self, access_key_id: &str) -> aws_sdk_securityir::Client {
        aws_sdk_securityir::Client::from_conf(self.sdk_config(access_key_id).build())
    }

    // ----- principals ------------------------------------------------------------------------

    pub fn integration_principal(&self) -> Principal {
        self.config.integration.clone()
    }

    pub fn analyst_principal(&self) -> Principal {
        self.config.analyst.clone()
    }

    pub fn register_principal(&self, principal: Principal) {
        self.shared.mutate(|s| s.principals.register(principal));
    }

    /// Answers every call signed with this key with `AccessDeniedException` (403).
    pub fn deny_access_key(&self, access_key_id: &str, denied: bool) {
        let mut set = self.shared.denied.lock().expect("denied poisoned");
        if denied {
            set.insert(access_key_id.to_string());
        } else {
            set.remove(access_key_id);
        }
    }

    /// How principals appear in `creator`, `lastUpdatedBy`, case edits and event details.
    pub fn set_principal_display(&self, mode: PrincipalDisplay) {
        self.shared.mutate(|s| s.settings.principal_display = mode);
    }

    // ----- state -----------------------------------------------------------------------------

    pub fn case(&self, case_id: &str) -> Option<Case> {
        self.shared.read(|s| s.case(case_id).ok().cloned())
    }

    /// Every case, oldest first.
    pub fn cases(&self) -> Vec<Case> {
        self.shared.read(|s| s.cases().to_vec())
    }

    /// Every case id, oldest first.
    pub fn case_ids(&self) -> Vec<String> {
        self.shared
            .read(|s| s.cases().iter().map(|c| c.case_id.clone()).collect())
    }

    pub fn case_count(&self) -> usize {
        self.shared.read(|s| s.case_count())
    }

    pub fn comments(&self, case_id: &str) -> Vec<Comment> {
        self.case(case_id).map(|c| c.comments).unwrap_or_default()
    }

    /// The uploaded bytes of an attachment, if any.
    pub fn attachment_bytes(&self, case_id: &str, attachment_id: &str) -> Option<Vec<u8>> {
        self.case(case_id)?
            .attachment(attachment_id)?
            .content
            .clone()
    }

    /// The emulator's idea of now (the system clock plus any [`advance_clock`](Self::advance_clock)).
    pub fn now(&self) -> Timestamp {
        self.shared.read(|s| s.now())
    }

    /// Moves the emulator's clock forward (changes get later dates; presigned URLs expire).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.mutate(|s| s.advance_clock(by));
    }

    pub fn set_strict_transitions(&self, strict: bool) {
        self.shared
            .mutate(|s| s.settings.strict_transitions = strict);
    }

    pub fn set_allow_comments_on_closed_cases(&self, allow: bool) {
        self.shared
            .mutate(|s| s.settings.allow_comments_on_closed_cases = allow);
    }

    pub fn set_api_close_closure_code(&self, code: Option<ClosureCode>) {
        self.shared
            .mutate(|s| s.settings.api_close_closure_code = code);
    }

    // ----- seeding and human actions -----------------------------------------------------------

    /// Inserts `n` cases directly (no HTTP, no events, no request log), created by the analyst.
    /// `f(i)` describes case `i`, including its dates: seeded `lastUpdatedDate`s may be in the
    /// past, and later changes still move them forward. Returns the ids in creation order.
    pub fn seed_cases(&self, n: usize, mut f: impl FnMut(usize) -> SeedCase) -> Vec<String> {
        let actor = self.config.analyst.clone();
        self.shared
            .mutate(|s| (0..n).map(|i| s.seed_case(&actor, f(i))).collect())
    }

    pub fn seed_case(&self, seed: SeedCase) -> String {
        self.seed_cases(1, |_| seed.clone()).remove(0)
    }

    /// Acts as the built-in human analyst: changes made through it update `lastUpdatedDate`,
    /// the edit history and emit events, with the analyst as the actor.
    pub fn analyst(&self) -> Actor<'_> {
        self.act_as(self.config.analyst.clone())
    }

    /// Acts as any principal (as the console would, without going through HTTP).
    pub fn act_as(&self, principal: Principal) -> Actor<'_> {
        Actor {
            shared: &self.shared,
            principal,
        }
    }

    // ----- failure injection -------------------------------------------------------------------

    pub fn set_throttle(&self, mode: ThrottleMode) {
        self.shared
            .injector
            .lock()
            .expect("injector poisoned")
            .set_throttle(mode);
    }

    pub fn set_fault(&self, mode: FaultMode) {
        self.shared
            .injector
            .lock()
            .expect("injector poisoned")
            .set_fault(mode);
    }

    /// Limits throttling and faults to these operations (`None`: every API call).
    pub fn set_injection_scope(&self, operations: Option<&[Operation]>) {
        self.shared
            .injector
            .lock()
            .expect("injector poisoned")
            .set_scope(operations.map(|ops| ops.iter().copied().collect()));
    }

    /// Sends `Retry-After` with throttling answers.
    pub fn set_retry_after(&self, seconds: Option<u32>) {
        self.shared
            .injector
            .lock()
            .expect("injector poisoned")
            .set_retry_after(seconds);
    }

    // ----- request log -------------------------------------------------------------------------

    /// The request log (count by operation, writes, by caller, reset).
    pub fn log(&self) -> &RequestLog {
        &self.shared.log
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.records()
    }

    pub fn reset_log(&self) {
        self.shared.log.reset();
    }

    // ----- events ------------------------------------------------------------------------------

    /// A receiver of every event emitted from now on.
    pub fn subscribe_events(&self) -> broadcast::Receiver<SirEvent> {
        self.shared.events.subscribe()
    }

    /// Every event emitted since start (or the last [`clear_events`](Self::clear_events)).
    pub fn events(&self) -> Vec<SirEvent> {
        self.shared.events.history()
    }

    pub fn clear_events(&self) {
        self.shared.events.clear_history();
    }

    pub fn set_events_enabled(&self, enabled: bool) {
        self.shared.events.set_enabled(enabled);
    }

    /// Starts (or stops, with `None`) delivering events to an EventBridge endpoint.
    pub fn set_event_bridge(&self, target: Option<EventBridgeTarget>) {
        self.shared.events.set_bus(target);
    }

    /// Waits until the events handed to EventBridge are delivered (or failed); false on timeout.
    pub async fn flush_events(&self, timeout: Duration) -> bool {
        self.shared.events.flush(timeout).await
    }

    pub fn event_delivery(&self) -> DeliveryStats {
        self.shared.events.delivery_stats()
    }
}

/// Changes made as a particular principal without the API: a human in the console, an AWS
/// responder. They follow the same bookkeeping as API calls (dates, edits, events) but may do
/// what the API cannot (any status, a closure code, reopening).
pub struct Actor<'a> {
    shared: &'a Shared,
    principal: Principal,
}

impl Actor<'_> {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn create_case(&self, new: NewCase) -> String {
        self.shared.mutate(|s| s.create_case(&self.principal, new))
    }

    /// Any status, bypassing UpdateCaseStatus's rules (as AWS or the console can).
    pub fn set_status(&self, case_id: &str, status: CaseStatus) -> Result<CaseStatus, ApiError> {
        self.shared
            .mutate(|s| s.set_status(case_id, &self.principal, status, false))
    }

    /// A status change under the same rules as the API's UpdateCaseStatus.
    pub fn update_status(&self, case_id: &str, status: CaseStatus) -> Result<CaseStatus, ApiError> {
        self.shared
            .mutate(|s| s.set_status(case_id, &self.principal, status, true))
    }

    /// Closes with a closure code, as the console does.
    pub fn close(&self, case_id: &str, code: ClosureCode) -> Result<Timestamp, ApiError> {
        self.shared
            .mutate(|s| s.close_case(case_id, &self.principal, Some(code)))
    }

    pub fn update(&self, case_id: &str, update: CaseUpdate) -> Result<(), ApiError> {
        self.shared
            .mutate(|s| s.update_case(case_id, &self.principal, update))
    }

    pub fn set_title(&self, case_id: &str, title: &str) -> Result<(), ApiError> {
        self.update(
            case_id,
            CaseUpdate {
                title: Some(title.to_string()),
                ..CaseUpdate::default()
            },
        )
    }

    pub fn set_description(&self, case_id: &str, description: &str) -> Result<(), ApiError> {
        self.update(
            case_id,
            CaseUpdate {
                description: Some(description.to_string()),
                ..CaseUpdate::default()
            },
        )
    }

    pub fn set_resolver_type(&self, case_id: &str, to: ResolverType) -> Result<(), ApiError> {
        self.shared.mutate(|s| {
            s.update_resolver_type(case_id, &self.principal, to)
                .map(|_| ())
        })
    }

    pub fn set_pending_action(&self, case_id: &str, action: PendingAction) -> Result<(), ApiError> {
        self.shared
            .mutate(|s| s.set_pending_action(case_id, &self.principal, action))
    }

    pub fn add_comment(&self, case_id: &str, body: &str) -> Result<String, ApiError> {
        self.shared
            .mutate(|s| s.add_comment(case_id, &self.principal, body.to_string()))
    }

    pub fn edit_comment(
        &self,
        case_id: &str,
        comment_id: &str,
        body: &str,
    ) -> Result<(), ApiError> {
        self.shared
            .mutate(|s| s.update_comment(case_id, comment_id, &self.principal, body.to_string()))
    }
}
