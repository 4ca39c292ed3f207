//! `doctor`: checks every link the integration depends on and reports one line each, with the
//! fix when it fails: the configuration; Jira (reachable, credentials, project, issue type,
//! mapped statuses and resolutions, workflow paths, the webhook); SIR; the state store; the
//! bus (and the consumers' queue); the SNS subscription. Every check has a time-out, and every
//! link is reported even when an earlier one failed (what depends on a failed link says so).
//! Read-only: it never registers or changes anything.

use std::{collections::BTreeSet, fmt, future::Future, sync::Arc, time::Duration};

use aws_config::SdkConfig;
use serde::Serialize;
use utoipa::ToSchema;

use super::{WEBHOOK_EVENTS, issue_type, jira_client};
use crate::{
    bus::EmbeddedQueue,
    config::{BusBackend, Config, ConsumerBackend, StoreBackend},
    jira::{
        Flavour, IssueType, JiraError,
        site::{IssueTypeStatuses, JiraSiteApi, ProjectInfo},
    },
    metrics::Metrics,
    peers::PeerHealth,
    sir::{CaseStatus, SirApi, SirClient, SirError},
    startup::Backends,
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
                sir,
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
        let (jira, sir, store, bus, consumer, sns) = tokio::join!(
            self.jira_checks(),
            self.sir_check(),
            self.store_check(),
            self.bus_check(),
            self.consumer_check(),
            self.sns_check(),
        );
        let mut checks = vec![self.config_check()];
        checks.extend(jira);
        checks.extend([sir, store, bus, consumer, sns]);
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

    async fn jira_checks(&self) -> Vec<Check> {
        let (jira, config) = match (&self.jira, &self.config.jira) {
            (Some(Ok(jira)), Some(config)) => (jira.clone(), config),
            (Some(Err(e)), _) => return skip_rest(&JIRA_CHECKS, &format!("no Jira client: {e}")),
            _ => return skip_rest(&JIRA_CHECKS, "jira_url is not set: nothing syncs to Jira"),
        };
        let mut checks = Vec::new();

        // Any HTTP answer proves the network path; credentials are the next check's business.
        let api = match config.flavour {
            Flavour::Cloud => 3,
            Flavour::DataCenter => 2,
        };
        let url = format!("{}/rest/api/{api}/serverInfo", config.url);
        match self.timed(self.http.get(&url).send()).await {
            Ok(r) => checks.push(Check::ok(
                "jira.reachable",
                format!("{} answers (HTTP {})", config.url, r.status().as_u16()),
            )),
            Err(e) => {
                checks.push(Check::fail(
                    "jira.reachable",
                    format!("{}: {e}", config.url),
                    "check jira_url (SIR_JIRA_JIRA_URL) and that this host can reach it \
                     (DNS, proxy, firewall, VPC egress)",
                ));
                checks.extend(skip_rest(&JIRA_CHECKS[1..], "Jira is unreachable"));
                return checks;
            }
        }

        match self.timed(jira.myself()).await {
            Ok(me) => {
                let who = format!("{} ({})", me.display_name.as_deref().unwrap_or("?"), me.id);
                match &config.account_id {
                    Some(id) if *id != me.id => checks.push(Check::warn(
                        "jira.credentials",
                        format!(
                            "accepted, the token's account is {who}, but jira_account_id is {id}"
                        ),
                        "set jira_account_id to the token's account (or unset it): echo \
                         suppression recognises the integration by it",
                    )),
                    _ => checks.push(Check::ok(
                        "jira.credentials",
                        format!("accepted; the token's account is {who}"),
                    )),
                }
            }
            Err(e) => {
                let fix = match (config.flavour, &e) {
                    (Flavour::Cloud, Timed::Failed(JiraError::Auth { .. })) => {
                        "the e-mail or API token is wrong, or the token expired (tokens created \
                         since December 2024 expire within a year): create a token at \
                         https://id.atlassian.com/manage-profile/security/api-tokens as the \
                         integration's account and set jira_api_token (SIR_JIRA_JIRA_API_TOKEN); \
                         jira_email must be that account's e-mail"
                    }
                    (Flavour::DataCenter, Timed::Failed(JiraError::Auth { .. })) => {
                        "the personal access token is wrong, expired or revoked: create one \
                         (profile > Personal Access Tokens) and set jira_api_token"
                    }
                    _ => "Jira did not answer /myself properly: check jira_url and jira_flavour",
                };
                checks.push(Check::fail("jira.credentials", e.to_string(), fix));
                checks.extend(skip_rest(&JIRA_CHECKS[2..], "Jira refuses the credentials"));
                return checks;
            }
        }

        let key = config.project_key.as_str();
        let project = match self.timed(jira.project(key)).await {
            Ok(p) => {
                checks.push(Check::ok(
                    "jira.project",
                    format!("{} ({}, id {})", p.key, p.name, p.id),
                ));
                p
            }
            Err(e) => {
                checks.push(Check::fail(
                    "jira.project",
                    format!("project {key}: {e}"),
                    "check jira_project_key, and that the integration's account has the \
                     Browse Projects and Create Issues permissions in it",
                ));
                checks.extend(skip_rest(&JIRA_CHECKS[3..7], "the project is not visible"));
                checks.push(self.webhook_check(&*jira).await);
                return checks;
            }
        };

        let wanted_type = issue_type(config);
        let types = match self.timed(jira.project_statuses(key)).await {
            Ok(t) => t,
            Err(e) => {
                checks.push(Check::fail(
                    "jira.issue_type",
                    format!("cannot list the issue types of {key}: {e}"),
                    "check the account's permissions in the project",
                ));
                checks.extend(skip_rest(&JIRA_CHECKS[4..7], "the issue types are unknown"));
                checks.push(self.webhook_check(&*jira).await);
                return checks;
            }
        };
        let found = types.iter().find(|t| match &wanted_type {
            IssueType::Id(id) => t.id == *id,
            IssueType::Name(name) => t.name.eq_ignore_ascii_case(name),
        });
        let Some(found) = found else {
            let shown = match &wanted_type {
                IssueType::Id(id) => format!("id {id}"),
                IssueType::Name(n) => format!("`{n}`"),
            };
            checks.push(Check::fail(
                "jira.issue_type",
                format!(
                    "{key} has no issue type {shown}; it has: {}",
                    types
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "set jira_issue_type (or issue_type in the mappings file) to one of those, or \
                 add the issue type to the project's issue type scheme",
            ));
            checks.extend(skip_rest(
                &JIRA_CHECKS[4..7],
                "the issue type does not exist",
            ));
            checks.push(self.webhook_check(&*jira).await);
            return checks;
        };
        checks.push(Check::ok(
            "jira.issue_type",
            format!("{} (id {})", found.name, found.id),
        ));
        checks.push(self.statuses_check(config, found));
        checks.push(self.resolutions_check(config, &*jira).await);
        checks.push(
            self.transitions_check(config, &*jira, &project, found)
                .await,
        );
        checks.push(self.webhook_check(&*jira).await);
        checks
    }

    fn statuses_check(&self, config: &crate::config::JiraConfig, t: &IssueTypeStatuses) -> Check {
        let missing: Vec<String> = CaseStatus::ALL
            .iter()
            .filter_map(|s| {
                let jira_status = config.mappings.status.get(s)?;
                let exists = t
                    .statuses
                    .iter()
                    .any(|have| have.eq_ignore_ascii_case(jira_status.trim()));
                (!exists).then(|| format!("`{jira_status}` (for SIR `{}`)", s.as_str()))
            })
            .collect();
        if missing.is_empty() {
            return Check::ok(
                "jira.statuses",
                format!("every mapped status exists for {}", t.name),
            );
        }
        Check::fail(
            "jira.statuses",
            format!(
                "the {} workflow has no status {}; it has: {}",
                t.name,
                missing.join(", "),
                t.statuses.join(", ")
            ),
            "map those SIR statuses to existing Jira statuses in the [status] table of \
             jira_mappings_file, or add the statuses to the project's workflow",
        )
    }

    async fn resolutions_check(
        &self,
        config: &crate::config::JiraConfig,
        jira: &dyn JiraSiteApi,
    ) -> Check {
        let have = match self.timed(jira.resolutions()).await {
            Ok(r) => r,
            Err(e) => {
                return Check::fail(
                    "jira.resolutions",
                    format!("cannot list resolutions: {e}"),
                    "check the account's permissions",
                );
            }
        };
        let wanted: BTreeSet<&str> = config
            .mappings
            .resolution
            .values()
            .map(String::as_str)
            .collect();
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|w| !have.iter().any(|h| h.eq_ignore_ascii_case(w.trim())))
            .collect();
        if missing.is_empty() {
            Check::ok(
                "jira.resolutions",
                format!(
                    "every mapped resolution exists ({})",
                    wanted.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
        } else {
            Check::fail(
                "jira.resolutions",
                format!(
                    "no resolution {}; Jira has: {}",
                    missing.join(", "),
                    have.join(", ")
                ),
                "map the closure codes to existing resolutions in the [resolution] table of \
                 jira_mappings_file, or add the resolutions in Jira settings > Issues > Resolutions",
            )
        }
    }

    async fn transitions_check(
        &self,
        config: &crate::config::JiraConfig,
        jira: &dyn JiraSiteApi,
        project: &ProjectInfo,
        t: &IssueTypeStatuses,
    ) -> Check {
        let workflow = match self.timed(jira.workflow(project, &t.id)).await {
            Ok(w) => w,
            Err(Timed::Failed(JiraError::Auth { status: 403, .. })) => {
                return Check::warn(
                    "jira.transitions",
                    "cannot read the workflow: the account is not a Jira administrator",
                    "nothing to do if the sync moves issues fine; to check the paths, run \
                     `doctor` once with an administrator's token",
                );
            }
            Err(Timed::Failed(JiraError::NotFound { .. })) => {
                return Check::warn(
                    "jira.transitions",
                    "this Jira has no workflow REST resource (Data Center): paths not checked",
                    "nothing to do: the sync finds the path through the transitions each issue \
                     offers; an unreachable status shows as a dead letter naming it",
                );
            }
            Err(e) => {
                return Check::fail(
                    "jira.transitions",
                    format!("cannot read the workflow: {e}"),
                    "check the account's permissions",
                );
            }
        };
        let Some(initial) = workflow.initial_status().map(str::to_owned) else {
            return Check::warn(
                "jira.transitions",
                format!("workflow `{}` has no create transition", workflow.name),
                "check the workflow in Jira settings > Issues > Workflows",
            );
        };
        // A case moves forward through SIR's statuses: every mapped status must be reachable
        // from where issues start, and each from the one mapped before it.
        let mapped: Vec<(CaseStatus, &str)> = CaseStatus::ALL
            .iter()
            .filter_map(|s| config.mappings.status.get(s).map(|j| (*s, j.as_str())))
            .collect();
        let mut gaps = Vec::new();
        for (status, target) in &mapped {
            if !workflow.reaches(&initial, target) {
                gaps.push(format!(
                    "`{target}` (SIR `{}`) from `{initial}`",
                    status.as_str()
                ));
            }
        }
        for pair in mapped.windows(2) {
            let ((_, from), (status, to)) = (pair[0], pair[1]);
            if !from.eq_ignore_ascii_case(to) && !workflow.reaches(from, to) {
                gaps.push(format!("`{to}` (SIR `{}`) from `{from}`", status.as_str()));
            }
        }
        if gaps.is_empty() {
            Check::ok(
                "jira.transitions",
                format!(
                    "workflow `{}` reaches every mapped status from `{initial}`",
                    workflow.name
                ),
            )
        } else {
            Check::fail(
                "jira.transitions",
                format!(
                    "workflow `{}` cannot reach {}",
                    workflow.name,
                    gaps.join("; ")
                ),
                "add transitions (or a global transition) into those statuses in the workflow, \
                 or change the [status] mappings in jira_mappings_file",
            )
        }
    }

    async fn webhook_check(&self, jira: &dyn JiraSiteApi) -> Check {
        let url = self.config.jira_webhook_url();
        let hooks = match self.timed(jira.webhooks()).await {
            Ok(h) => h,
            Err(Timed::Failed(JiraError::Auth { status: 403, .. })) => {
                return Check::warn(
                    "jira.webhook",
                    "cannot list webhooks: the account is not a Jira administrator",
                    format!(
                        "check by hand that Jira settings > System > WebHooks has one enabled \
                         webhook to {url} (or an Automation rule posting there); `setup jira` \
                         prints the steps"
                    ),
                );
            }
            Err(e) => {
                return Check::fail(
                    "jira.webhook",
                    format!("cannot list webhooks: {e}"),
                    "check jira_url and the account's permissions",
                );
            }
        };
        let ours: Vec<_> = hooks.iter().filter(|h| h.url == url).collect();
        let Some(hook) = ours.first() else {
            let elsewhere: Vec<String> = hooks
                .iter()
                .filter(|h| h.name == super::DEFAULT_WEBHOOK_NAME)
                .map(|h| h.url.clone())
                .collect();
            let detail = if elsewhere.is_empty() {
                format!("no webhook delivers to {url}")
            } else {
                format!(
                    "no webhook delivers to {url}; `{}` points at {}",
                    super::DEFAULT_WEBHOOK_NAME,
                    elsewhere.join(", ")
                )
            };
            return Check::fail(
                "jira.webhook",
                detail,
                "run `sir-jira-bridge setup jira` (with public_url set to this gateway's address)",
            );
        };
        let missing: Vec<&str> = WEBHOOK_EVENTS
            .iter()
            .copied()
            .filter(|e| !hook.events.iter().any(|h| h == e))
            .collect();
        if !hook.enabled || !missing.is_empty() || hook.exclude_body {
            let mut problems = Vec::new();
            if !hook.enabled {
                problems.push("disabled".to_owned());
            }
            if !missing.is_empty() {
                problems.push(format!("missing events {}", missing.join(", ")));
            }
            if hook.exclude_body {
                problems.push("excludes the body".to_owned());
            }
            return Check::fail(
                "jira.webhook",
                format!(
                    "webhook #{} `{}` to {url} is {}",
                    hook.id,
                    hook.name,
                    problems.join(", ")
                ),
                "run `sir-jira-bridge setup jira` to bring it up to date",
            );
        }
        let detail = format!(
            "webhook #{} `{}` delivers to {url} (JQL: {})",
            hook.id,
            hook.name,
            if hook.jql.is_empty() {
                "none"
            } else {
                &hook.jql
            }
        );
        if ours.len() > 1 {
            return Check::warn(
                "jira.webhook",
                format!("{detail}; {} more deliver there too", ours.len() - 1),
                "delete the extra webhooks in Jira settings > System > WebHooks: each doubles \
                 the deliveries",
            );
        }
        Check::ok("jira.webhook", detail)
    }

    async fn sir_check(&self) -> Check {
        let Some(sir) = &self.sir else {
            return Check::skipped("sir", "sir_enabled is off: nothing syncs with SIR");
        };
        match self.timed(sir.list_cases(None)).await {
            Ok(page) => Check::ok(
                "sir",
                format!(
                    "ListCases answered ({} case(s) on the first page)",
                    page.cases.len()
                ),
            ),
            Err(Timed::Failed(SirError::AccessDenied(m))) => Check::fail(
                "sir",
                format!("ListCases denied: {m}"),
                "grant the service's role the security-ir actions it uses (ListCases, GetCase, \
                 UpdateCase, UpdateCaseStatus, CloseCase, CreateCaseComment, UpdateCaseComment, \
                 ListComments, GetCaseAttachmentDownloadUrl, GetCaseAttachmentUploadUrl), as \
                 deploy/template.yaml does",
            ),
            Err(e) => Check::fail(
                "sir",
                format!("ListCases failed: {e}"),
                "check sir_region (or aws_region), sir_endpoint_url, the AWS credentials and \
                 that this host reaches security-ir.<region>.amazonaws.com",
            ),
        }
    }

    async fn store_check(&self) -> Check {
        let what = match &self.config.backends.store {
            StoreBackend::Sqlite => format!("SQLite {}", self.config.database_path().display()),
            StoreBackend::DynamoDb { table } => format!("DynamoDB table {table}"),
        };
        let fix = match &self.config.backends.store {
            StoreBackend::Sqlite => "check that data_dir exists and is writable by this user",
            StoreBackend::DynamoDb { .. } => {
                "check dynamodb_table, the region and the role's dynamodb:GetItem/PutItem/Query \
                 permissions on the table"
            }
        };
        let store = match &self.store {
            Ok(s) => s,
            Err(e) => return Check::fail("store", format!("{what}: {e}"), fix),
        };
        match self.timed(store.ping()).await {
            Ok(()) => Check::ok("store", format!("{what} answers")),
            Err(e) => Check::fail("store", format!("{what}: {e}"), fix),
        }
    }

    async fn bus_check(&self) -> Check {
        match &self.bus {
            BusProbe::Embedded(Some(queue)) => match self.timed(queue.stats()).await {
                Ok(s) => Check::ok(
                    "bus",
                    format!(
                        "embedded queue answers ({} ready, {} leased, {} dead)",
                        s.ready, s.leased, s.dead
                    ),
                ),
                Err(e) => Check::fail(
                    "bus",
                    format!("embedded queue: {e}"),
                    "check that data_dir exists and is writable by this user",
                ),
            },
            BusProbe::Embedded(None) => Check::fail(
                "bus",
                "the embedded queue could not be opened (see the store check)",
                "check that data_dir exists and is writable by this user",
            ),
            BusProbe::EventBridge(client, name) => {
                match self
                    .timed(client.describe_event_bus().name(name).send())
                    .await
                {
                    Ok(_) => Check::ok("bus", format!("EventBridge bus {name} exists")),
                    Err(e) => Check::fail(
                        "bus",
                        format!("EventBridge bus {name}: {}", sdk_message(&e)),
                        "check eventbridge_bus_name, the region, and the role's \
                         events:DescribeEventBus and events:PutEvents permissions",
                    ),
                }
            }
            BusProbe::Broken(e) => Check::fail("bus", e.clone(), "check the AWS configuration"),
        }
    }

    async fn consumer_check(&self) -> Check {
        let Some((sqs, url)) = &self.consumer_queue else {
            return Check::skipped("consumer_queue", "consumer is not sqs: no queue to check");
        };
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send();
        match self.timed(attributes).await {
            Ok(out) => {
                let waiting = out
                    .attributes
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                            .cloned()
                    })
                    .unwrap_or_else(|| "?".into());
                Check::ok(
                    "consumer_queue",
                    format!("{url} answers (~{waiting} waiting)"),
                )
            }
            Err(e) => Check::fail(
                "consumer_queue",
                format!("{url}: {}", sdk_message(&e)),
                "check sqs_queue_url, the region and the role's sqs:ReceiveMessage/DeleteMessage \
                 permissions",
            ),
        }
    }

    async fn sns_check(&self) -> Check {
        let client = match &self.sns {
            None => {
                return Check::skipped("sns.subscription", "no sns_topic_arns: SNS is not used");
            }
            Some(Err(e)) => {
                return Check::fail("sns.subscription", e.clone(), "check the AWS configuration");
            }
            Some(Ok(c)) => c,
        };
        let endpoint = self.config.sns_webhook_url();
        let mut problems = Vec::new();
        let mut confirmed = Vec::new();
        for topic in &self.config.sns.topic_arns {
            let listed = client
                .list_subscriptions_by_topic()
                .topic_arn(topic.as_str())
                .send();
            match self.timed(listed).await {
                Err(e) => problems.push(format!("{}: {}", topic.as_str(), sdk_message(&e))),
                Ok(out) => {
                    let subs = out.subscriptions.unwrap_or_default();
                    let ours = subs
                        .iter()
                        .find(|s| s.endpoint.as_deref() == Some(endpoint.as_str()));
                    match ours.and_then(|s| s.subscription_arn.as_deref()) {
                        None => problems.push(format!("{}: not subscribed", topic.as_str())),
                        Some("PendingConfirmation") => problems.push(format!(
                            "{}: subscription pending confirmation",
                            topic.as_str()
                        )),
                        Some(_) => confirmed.push(topic.as_str().to_owned()),
                    }
                }
            }
        }
        if problems.is_empty() {
            Check::ok(
                "sns.subscription",
                format!("{endpoint} is confirmed on {}", confirmed.join(", ")),
            )
        } else {
            Check::fail(
                "sns.subscription",
                problems.join("; "),
                format!(
                    "subscribe the gateway with `aws sns subscribe --topic-arn <topic> --protocol \
                     https --notification-endpoint {endpoint}` while it runs (it confirms \
                     itself); a pending one means the gateway never got or refused the \
                     confirmation: check the topic is in sns_topic_arns and the gateway's log"
                ),
            )
        }
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
