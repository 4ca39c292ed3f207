//! The Jira links: reachable, credentials, project, issue type, mapped statuses and
//! resolutions, workflow paths, and the webhook. Each step needs the one before it; what cannot
//! be checked after a failure is reported as skipped, never left out.

use std::collections::BTreeSet;

use super::{Check, Doctor, JIRA_CHECKS, Timed, skip_rest};
use crate::{
    config::JiraConfig,
    jira::{
        Flavour, IssueType, JiraError,
        site::{IssueTypeStatuses, JiraSiteApi, ProjectInfo},
    },
    onboard::{DEFAULT_WEBHOOK_NAME, WEBHOOK_EVENTS, issue_type},
    sir::CaseStatus,
    sync::reconciler,
};

impl Doctor {
    /// Whether the Jira reconciler recovered changes over the last day: each is a change whose
    /// webhook never arrived, so webhooks are being lost and the sync runs on the reconciler's
    /// interval instead of at once.
    pub(super) async fn reconciler_check(&self) -> Check {
        const ID: &str = "jira.reconciler";
        let Some(jira) = &self.config.jira else {
            return Check::skipped(ID, "jira_url is not set");
        };
        if jira.reconciler.is_none() {
            return Check::skipped(
                ID,
                "off (jira_reconcile_enabled = false, or sir_enabled is not set): changes whose                  webhook is lost are not recovered",
            );
        }
        let store = match &self.store {
            Ok(store) => store,
            Err(e) => return Check::skipped(ID, format!("no state store: {e}")),
        };
        let last_run = store
            .checkpoint(reconciler::LAST_RUN)
            .await
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok());
        let last = match &last_run {
            Some(run) => format!(
                "last run {}: {}",
                run["at"]
                    .as_i64()
                    .and_then(|ms| {
                        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                            .ok()
                    })
                    .map_or_else(|| "?".to_owned(), crate::poll::watermark::format),
                run["result"].as_str().unwrap_or("?"),
            ),
            None => "not run yet".to_owned(),
        };
        match self
            .timed(reconciler::recovered_last_day(store.as_ref()))
            .await
        {
            Ok(0) => Check::ok(
                ID,
                format!("no change lost by webhooks in the last day ({last})"),
            ),
            Ok(n) => Check::warn(
                ID,
                format!("recovered {n} change(s) no webhook delivered in the last day ({last})"),
                "Jira webhooks are being lost: check the webhook's registration (Jira Settings >                  System > WebHooks, or run `setup jira`): enabled, pointing at jira_webhook_url,                  subscribed to issue and comment events, and its JQL filter still matching the                  project; and that the gateway answered Jira (its log, /metrics)",
            ),
            Err(e) => Check::fail(
                ID,
                format!("cannot read the reconciler's record: {e}"),
                "check the state store (see the store check)",
            ),
        }
    }

    pub(super) async fn jira_checks(&self) -> Vec<Check> {
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

    fn statuses_check(&self, config: &JiraConfig, t: &IssueTypeStatuses) -> Check {
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

    async fn resolutions_check(&self, config: &JiraConfig, jira: &dyn JiraSiteApi) -> Check {
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
        config: &JiraConfig,
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
                // Data Center has no such resource; on Cloud a 404 means the project's scheme
                // or workflow was not found, which is no reason to name Data Center.
                let what = match config.flavour {
                    crate::jira::Flavour::DataCenter => {
                        "this Jira has no workflow REST resource (Data Center): paths not checked"
                    }
                    crate::jira::Flavour::Cloud => {
                        "Jira answered 404 for the project's workflow scheme: paths not checked"
                    }
                };
                return Check::warn(
                    "jira.transitions",
                    what,
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
                .filter(|h| h.name == DEFAULT_WEBHOOK_NAME)
                .map(|h| h.url.clone())
                .collect();
            let detail = if elsewhere.is_empty() {
                format!("no webhook delivers to {url}")
            } else {
                format!(
                    "no webhook delivers to {url}; `{}` points at {}",
                    DEFAULT_WEBHOOK_NAME,
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
}
