//! Onboarding: `setup jira` registers the admin webhook that feeds the gateway, and `doctor`
//! checks every link the integration depends on, one line each with the fix. Both are library
//! code so the tests, the CLI and the admin API (`GET /v1/doctor`) share them.

pub mod doctor;
pub mod healthcheck;
pub mod manual;
pub mod setup;

use std::{sync::Arc, time::Duration};

pub use doctor::{Check, CheckStatus, Doctor, DoctorReport};
pub use setup::{SetupAction, SetupError, SetupOptions, SetupReport, setup_jira};

use crate::{
    config::{Config, JiraConfig},
    jira::{IssueType, JiraClient, JiraError, RetryPolicy},
    metrics::Metrics,
    peers::PeerHealth,
};

/// The webhook events the gateway turns into sync events (`src/event/jira.rs`).
pub const WEBHOOK_EVENTS: [&str; 6] = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
];

/// The name `setup jira` registers its webhook under unless told otherwise.
pub const DEFAULT_WEBHOOK_NAME: &str = "sir-jira-bridge";

/// Every project the gateway cares about: `jira_project_keys`, and the sync's
/// `jira_project_key`, without repeats, in that order.
pub fn project_keys(config: &Config) -> Vec<String> {
    let mut keys: Vec<String> = config
        .intake
        .project_keys
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    if let Some(jira) = &config.jira
        && !keys.iter().any(|k| k == jira.project_key.as_str())
    {
        keys.push(jira.project_key.as_str().to_owned());
    }
    keys
}

/// The webhook's JQL filter: the configured projects, or none (every project) when no project
/// is configured.
pub fn webhook_jql(config: &Config) -> String {
    match project_keys(config).as_slice() {
        [] => String::new(),
        [one] => format!("project = {one}"),
        many => format!("project in ({})", many.join(", ")),
    }
}

/// The issue type case issues are created with: the mappings file's, else `jira_issue_type`.
pub fn issue_type(jira: &JiraConfig) -> IssueType {
    jira.mappings
        .issue_type
        .clone()
        .unwrap_or_else(|| jira.issue_type.clone())
}

/// A Jira client for one-off checks: its own metrics and peer health (a failing check must not
/// mark the running service's Jira as refusing credentials), a short time-out and a single
/// attempt, so a rate-limited Jira is reported, not waited out.
pub fn jira_client(jira: &JiraConfig, timeout: Duration) -> Result<JiraClient, JiraError> {
    // One attempt: a person is waiting for the answer.
    let retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let config = jira
        .client_config(timeout, retry)
        .map_err(|e| JiraError::client("configure", None, e))?;
    JiraClient::new(
        config,
        Arc::new(Metrics::new()),
        Arc::new(PeerHealth::default()),
    )
}
