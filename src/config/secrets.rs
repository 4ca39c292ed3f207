//! Secret settings: given by value or by reference (`ssm:…`, `secretsmanager:…`, `file:…`),
//! checked alike, and resolved once at start-up through a [`SecretSource`]; the ones nobody
//! set are generated into the data directory where that is safe.

use std::path::PathBuf;

use super::{
    ADMIN_TOKEN_FILE, Config, ConfigError, SecretRef, SecretSource, WEBHOOK_SECRET_FILE,
    load_or_create_secret,
};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub(super) struct PendingSecret {
    pub(super) setting: SecretSetting,
    pub(super) reference: SecretRef,
}

/// The settings that hold secrets: each may be given by value or by reference (`ssm:…`,
/// `secretsmanager:…`, `file:…`), resolved at start-up by [`Config::resolve_secrets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSetting {
    JiraApiToken,
    JiraWebhookSecrets,
    AutomationSecret,
    AdminToken,
}

impl SecretSetting {
    pub const fn name(self) -> &'static str {
        match self {
            SecretSetting::JiraApiToken => "jira_api_token",
            SecretSetting::JiraWebhookSecrets => "jira_webhook_secrets",
            SecretSetting::AutomationSecret => "automation_secret",
            SecretSetting::AdminToken => "admin_token",
        }
    }

    /// The Jira token is Atlassian's to choose (a PAT may be short); ours must be long.
    const fn min_len(self) -> usize {
        match self {
            SecretSetting::JiraApiToken => 1,
            _ => MIN_SECRET_LEN,
        }
    }

    /// A list setting's parameter may hold several comma-separated secrets, so a rotation is
    /// one parameter update.
    const fn is_list(self) -> bool {
        matches!(self, SecretSetting::JiraWebhookSecrets)
    }
}

/// Secrets shorter than this are refused: they are too easy to guess.
pub(super) const MIN_SECRET_LEN: usize = 16;

/// One secret setting: `None` when unset or given by reference (then waiting in `pending`),
/// otherwise the literal value, long enough.
pub(super) fn literal_or_pending(
    setting: SecretSetting,
    value: Option<Secret>,
    pending: &mut Vec<PendingSecret>,
) -> Result<Option<Secret>, ConfigError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Some(reference) = SecretRef::parse(value.expose()) {
        pending.push(PendingSecret {
            setting,
            reference: reference.map_err(|e| ConfigError::invalid(setting.name(), e))?,
        });
        return Ok(None);
    }
    if value.expose().len() < setting.min_len() {
        return Err(ConfigError::invalid(
            setting.name(),
            format!("is shorter than {} characters", setting.min_len()),
        ));
    }
    Ok(Some(value))
}

impl Config {
    /// Whether a secret reference points into AWS (SSM or Secrets Manager).
    pub fn secrets_need_aws(&self) -> bool {
        self.pending_secrets.iter().any(|p| p.reference.needs_aws())
    }

    /// Fetches every secret given by reference and checks it like a literal one. Idempotent:
    /// resolved references are not fetched again.
    pub async fn resolve_secrets(&mut self, source: &dyn SecretSource) -> Result<(), ConfigError> {
        for pending in std::mem::take(&mut self.pending_secrets) {
            let PendingSecret { setting, reference } = pending;
            let failed = |reason: String| ConfigError::SecretRef {
                setting: setting.name(),
                reference: reference.to_string(),
                reason,
            };
            let value = source.fetch(&reference).await.map_err(failed)?;
            let values: Vec<Secret> = if setting.is_list() {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(Secret::new)
                    .collect()
            } else {
                vec![Secret::new(value.trim())]
            };
            let min_len = setting.min_len();
            if values.is_empty() || values.iter().any(|v| v.expose().len() < min_len) {
                return Err(failed(format!(
                    "the value is empty or shorter than {min_len} characters"
                )));
            }
            tracing::info!(setting = setting.name(), reference = %reference, "secret loaded");
            let first = values.first().cloned();
            match setting {
                SecretSetting::JiraApiToken => {
                    if let Some(jira) = self.jira.as_mut() {
                        jira.api_token = first;
                    }
                }
                SecretSetting::JiraWebhookSecrets => self.intake.webhook_secrets.extend(values),
                SecretSetting::AdminToken => self.admin_token = first,
                SecretSetting::AutomationSecret => self.intake.automation_secret = first,
            }
        }
        Ok(())
    }

    /// Fills the webhook secrets from the data directory when none are configured, creating a
    /// random one on first start. The value is never logged; `print-webhook-secret` shows it.
    pub fn ensure_webhook_secret(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        let referenced = self
            .pending_secrets
            .iter()
            .any(|p| p.setting == SecretSetting::JiraWebhookSecrets);
        if !self.intake.webhook_secrets.is_empty() || referenced {
            return Ok(None);
        }
        let (secret, path) = load_or_create_secret(&self.data_dir, WEBHOOK_SECRET_FILE)?;
        self.intake.webhook_secrets.push(secret);
        Ok(Some(path))
    }

    /// Same for the admin token; `print-admin-token` shows it.
    pub fn ensure_admin_token(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        let referenced = self
            .pending_secrets
            .iter()
            .any(|p| p.setting == SecretSetting::AdminToken);
        if self.admin_token.is_some() || referenced {
            return Ok(None);
        }
        let (token, path) = load_or_create_secret(&self.data_dir, ADMIN_TOKEN_FILE)?;
        self.admin_token = Some(token);
        Ok(Some(path))
    }
}
