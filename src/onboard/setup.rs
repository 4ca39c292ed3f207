//! `setup jira`: registers (or brings up to date) the one admin webhook that sends the
//! configured projects' issue and comment events to this gateway, signed with the webhook
//! secret. Run it again and it changes nothing; change a setting and it updates its webhook
//! in place rather than adding a second one.
//!
//! Jira never returns a webhook's secret, so whether the registered secret is current cannot be
//! seen: an unchanged webhook keeps its secret unless `update_secret` asks to send it again
//! (after a rotation).

use std::fmt;

use super::{WEBHOOK_EVENTS, manual, webhook_jql};
use crate::{
    config::Config,
    jira::{
        JiraError,
        site::{JiraSiteApi, RegisteredWebhook, WebhookRegistration},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "public_url is not set: Jira needs the gateway's public address \
         (set SIR_JIRA_PUBLIC_URL or --public-url, e.g. https://sir-jira.example.com)"
    )]
    NoPublicUrl,
    #[error(
        "Jira is not configured: set jira_url, jira_email, jira_api_token and jira_project_key \
         (SIR_JIRA_JIRA_URL, …)"
    )]
    NoJira,
    #[error("no webhook secret: set jira_webhook_secrets (SIR_JIRA_JIRA_WEBHOOK_SECRETS)")]
    NoSecret,
    #[error("Jira refused the webhook: {0}")]
    Jira(#[from] JiraError),
}

#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// The webhook's name; also how `setup` recognises its own webhook when the URL changed.
    pub name: String,
    /// Show what would change, change nothing.
    pub dry_run: bool,
    /// Send the secret again even when every visible field matches (after a rotation).
    pub update_secret: bool,
}

impl Default for SetupOptions {
    fn default() -> Self {
        SetupOptions {
            name: super::DEFAULT_WEBHOOK_NAME.into(),
            dry_run: false,
            update_secret: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupAction {
    Created,
    Updated,
    Unchanged,
    /// The account may not manage webhooks: a person has to (see the report's manual steps).
    NeedsAdmin,
}

#[derive(Debug, Clone)]
pub struct SetupReport {
    pub action: SetupAction,
    pub dry_run: bool,
    /// The webhook as registered (or as it would be, on a dry run).
    pub webhook: Option<RegisteredWebhook>,
    /// One line per field that differs from what Jira had, `field: old -> new`.
    pub changes: Vec<String>,
    /// Other webhooks that also deliver to this gateway: each doubles the deliveries
    /// (harmless, deduplicated, but wasteful); remove them in Jira.
    pub duplicates: Vec<RegisteredWebhook>,
    /// For [`SetupAction::NeedsAdmin`]: what a person does instead.
    pub manual_steps: Option<String>,
}

impl SetupReport {
    /// Whether the webhook is (or on a dry run, would be) in place.
    pub fn is_done(&self) -> bool {
        self.action != SetupAction::NeedsAdmin
    }
}

/// Registers or updates the gateway's webhook in Jira; see the module documentation.
pub async fn setup_jira(
    config: &Config,
    jira: &dyn JiraSiteApi,
    options: &SetupOptions,
) -> Result<SetupReport, SetupError> {
    if config.public_url.is_none() {
        return Err(SetupError::NoPublicUrl);
    }
    if config.jira.is_none() {
        return Err(SetupError::NoJira);
    }
    let secret = config
        .intake
        .webhook_secrets
        .first()
        .cloned()
        .ok_or(SetupError::NoSecret)?;
    let wanted = WebhookRegistration {
        name: options.name.clone(),
        url: config.jira_webhook_url(),
        events: WEBHOOK_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
        jql: webhook_jql(config),
        secret,
    };
    let existing = match jira.webhooks().await {
        Ok(list) => list,
        Err(JiraError::Auth { status: 403, .. }) => {
            tracing::warn!("the Jira account may not manage webhooks: printing the manual steps");
            return Ok(SetupReport {
                action: SetupAction::NeedsAdmin,
                dry_run: options.dry_run,
                webhook: None,
                changes: Vec::new(),
                duplicates: Vec::new(),
                manual_steps: Some(format!(
                    "{}\n{}",
                    manual::webhook_steps(config, &options.name),
                    manual::automation_steps(config)
                )),
            });
        }
        Err(e) => return Err(e.into()),
    };
    // Ours: the one delivering here, else the one with our name (the URL changed).
    let mut candidates: Vec<&RegisteredWebhook> =
        existing.iter().filter(|w| w.url == wanted.url).collect();
    candidates.extend(
        existing
            .iter()
            .filter(|w| w.url != wanted.url && w.name == wanted.name),
    );
    let ours = candidates.first().copied().cloned();
    let duplicates: Vec<RegisteredWebhook> = candidates
        .iter()
        .skip(1)
        .filter(|w| w.url == wanted.url)
        .map(|w| (*w).clone())
        .collect();

    let as_registered = |id: String| RegisteredWebhook {
        id,
        name: wanted.name.clone(),
        url: wanted.url.clone(),
        events: wanted.events.clone(),
        jql: wanted.jql.clone(),
        exclude_body: false,
        enabled: true,
    };
    let report = |action, webhook, changes| SetupReport {
        action,
        dry_run: options.dry_run,
        webhook: Some(webhook),
        changes,
        duplicates: duplicates.clone(),
        manual_steps: None,
    };
    match ours {
        None => {
            let changes = vec![format!("new webhook `{}` -> {}", wanted.name, wanted.url)];
            if options.dry_run {
                return Ok(report(
                    SetupAction::Created,
                    as_registered("(new)".into()),
                    changes,
                ));
            }
            let created = jira.create_webhook(&wanted).await?;
            tracing::info!(webhook_id = %created.id, url = %created.url, "jira webhook registered");
            Ok(report(SetupAction::Created, created, changes))
        }
        Some(current) => {
            let mut changes = differences(&current, &as_registered(current.id.clone()));
            if options.update_secret {
                changes.push("secret: (sent again)".into());
            }
            if changes.is_empty() {
                return Ok(report(SetupAction::Unchanged, current, changes));
            }
            if options.dry_run {
                return Ok(report(
                    SetupAction::Updated,
                    as_registered(current.id.clone()),
                    changes,
                ));
            }
            let updated = jira.update_webhook(&current.id, &wanted).await?;
            tracing::info!(webhook_id = %updated.id, changes = ?changes, "jira webhook updated");
            Ok(report(SetupAction::Updated, updated, changes))
        }
    }
}

/// The visible fields that differ, `field: old -> new`. Event order does not matter.
fn differences(current: &RegisteredWebhook, wanted: &RegisteredWebhook) -> Vec<String> {
    let mut changes = Vec::new();
    let mut diff = |field: &str, old: String, new: String| {
        if old != new {
            changes.push(format!("{field}: {old} -> {new}"));
        }
    };
    diff("name", current.name.clone(), wanted.name.clone());
    diff("url", current.url.clone(), wanted.url.clone());
    let sorted = |events: &[String]| {
        let mut e = events.to_vec();
        e.sort();
        e.join(", ")
    };
    diff("events", sorted(&current.events), sorted(&wanted.events));
    diff("jql", current.jql.trim().to_owned(), wanted.jql.clone());
    diff(
        "excludeBody",
        current.exclude_body.to_string(),
        wanted.exclude_body.to_string(),
    );
    diff(
        "enabled",
        current.enabled.to_string(),
        wanted.enabled.to_string(),
    );
    changes
}

impl fmt::Display for SetupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let would = if self.dry_run { "would be " } else { "" };
        match (&self.action, &self.webhook) {
            (SetupAction::NeedsAdmin, _) => {
                writeln!(
                    f,
                    "The Jira account cannot manage webhooks (Jira answered 403: administrators only)."
                )?;
                writeln!(f, "Nothing was registered.\n")?;
                if let Some(steps) = &self.manual_steps {
                    write!(f, "{steps}")?;
                }
                return Ok(());
            }
            (action, Some(w)) => {
                let verb = match action {
                    SetupAction::Created => "created",
                    SetupAction::Updated => "updated",
                    _ => "already up to date",
                };
                if *action == SetupAction::Unchanged {
                    writeln!(f, "Jira webhook #{} `{}` is {verb}.", w.id, w.name)?;
                } else {
                    writeln!(f, "Jira webhook #{} `{}` {would}{verb}:", w.id, w.name)?;
                    for change in &self.changes {
                        writeln!(f, "  {change}")?;
                    }
                }
                writeln!(f, "  url:    {}", w.url)?;
                writeln!(f, "  events: {}", w.events.join(", "))?;
                writeln!(
                    f,
                    "  jql:    {}",
                    if w.jql.is_empty() {
                        "(none: every project)"
                    } else {
                        &w.jql
                    }
                )?;
                writeln!(
                    f,
                    "  secret: the first of jira_webhook_secrets (`print-webhook-secret` shows it)"
                )?;
            }
            (_, None) => {}
        }
        for d in &self.duplicates {
            writeln!(
                f,
                "warning: webhook #{} `{}` also delivers to {}: every event arrives twice \
                 (deduplicated, but wasteful); delete it in Jira settings > System > WebHooks",
                d.id, d.name, d.url
            )?;
        }
        if self.dry_run {
            writeln!(f, "Dry run: nothing was changed in Jira.")?;
        }
        Ok(())
    }
}
