//! Settings of the Jira webhook routes: the secrets that verify a delivery, the projects
//! accepted, how long a delivery id is remembered.

use std::time::Duration;

use axum::http::HeaderName;

use super::{
    ConfigError, Settings,
    secrets::{MIN_SECRET_LEN, PendingSecret, SecretSetting, literal_or_pending},
    values::secs,
};
use crate::{
    domain::ProjectKey,
    secret::{Secret, SecretRef},
};

/// Settings of the Jira webhook routes (and of SNS-carried Jira deliveries: the project filter).
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
    pub dedupe_ttl: Duration,
    /// How long a delivery being accepted blocks its copies; after a crash, its retry waits
    /// this long at most.
    pub claim_ttl: Duration,
}

pub(super) fn from_settings(
    s: &mut Settings,
    pending: &mut Vec<PendingSecret>,
) -> Result<IntakeConfig, ConfigError> {
    let mut webhook_secrets = Vec::new();
    let setting = SecretSetting::JiraWebhookSecrets;
    for (i, secret) in s
        .jira_webhook_secrets
        .take()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        match SecretRef::parse(secret.expose()) {
            Some(reference) => pending.push(PendingSecret {
                setting,
                reference: reference.map_err(|e| ConfigError::invalid(setting.name(), e))?,
            }),
            None if secret.expose().len() < MIN_SECRET_LEN => {
                return Err(ConfigError::invalid(
                    setting.name(),
                    format!(
                        "secret #{} is shorter than {MIN_SECRET_LEN} characters",
                        i + 1
                    ),
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
    let automation_secret = literal_or_pending(
        SecretSetting::AutomationSecret,
        s.automation_secret.take(),
        pending,
    )?;
    let project_keys = s
        .jira_project_keys
        .take()
        .unwrap_or_default()
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| ProjectKey::parse(k.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::invalid("jira_project_keys", e.to_string()))?;
    Ok(IntakeConfig {
        webhook_secrets,
        automation_header,
        automation_secret,
        project_keys,
        // Jira retries for about half an hour; a day leaves a wide margin.
        dedupe_ttl: secs("dedupe_ttl_secs", s.dedupe_ttl_secs, 24 * 3600, 60)?,
        claim_ttl: secs("delivery_claim_secs", s.delivery_claim_secs, 30, 1)?,
    })
}
