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
        Flavour, JiraError,
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
    /// A Jira call failed: what was being done, Jira's answer (once: it is not also the
    /// error's source, so a printed chain does not repeat it), the fix and the manual steps.
    #[error("could not {step}: {cause}\nfix: {fix}\n\n{manual}")]
    Jira {
        step: &'static str,
        cause: String,
        fix: String,
        manual: String,
    },
}

/// What to do about a failed webhook call: one line.
fn fix_for(error: &JiraError, flavour: Flavour) -> String {
    match (error, flavour) {
        (JiraError::NotFound { .. }, Flavour::Cloud) => {
            "Jira answered 404 for its admin webhook resource (/rest/webhooks/1.0/webhook): \
             set jira_url to the site's base URL (https://<site>.atlassian.net, no path) and \
             run again, or register the webhook by hand as below"
                .into()
        }
        (JiraError::NotFound { .. }, Flavour::DataCenter) => {
            "Jira answered 404 for its admin webhook resource (/rest/webhooks/1.0/webhook): \
             include Jira's context path in jira_url (e.g. https://jira.example.com/jira) and \
             let a proxy in front forward /rest/webhooks, then run again, or register the \
             webhook by hand as below"
                .into()
        }
        (JiraError::Auth { status: 401, .. }, _) => {
            "check jira_email and jira_api_token (an expired or revoked token?), then run again"
                .into()
        }
        (JiraError::Auth { .. }, _) => {
            "only Jira administrators manage webhooks: run this as one, or have one register \
             it by hand as below"
                .into()
        }
        (JiraError::Rejected { .. }, _) => {
            "check public_url (the https address Jira delivers to) and jira_project_keys (the \
             webhook's JQL), then run again"
                .into()
        }
        (JiraError::RateLimited { .. } | JiraError::Unavailable { .. }, _) => {
            "Jira is unreachable or busy: check jira_url and this host's network, then run again"
                .into()
        }
        (JiraError::TooLarge | JiraError::Unexpected { .. } | JiraError::Client { .. }, _) => {
            "check that jira_url points at Jira itself (not a login page or proxy), then run \
             again with SIR_JIRA_LOG_LEVEL=debug"
                .into()
        }
    }
}

/// The steps a person takes instead of this command.
fn manual_steps(config: &Config, name: &str) -> String {
    format!(
        "{}\n{}",
        manual::webhook_steps(config, name),
        manual::automation_steps(config)
    )
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
    /// For [`SetupAction::NeedsAdmin`], and a dry run that could not list the webhooks: what
    /// a person does instead.
    pub manual_steps: Option<String>,
    /// Why the plan is not certain (a dry run that could not list the existing webhooks).
    pub warning: Option<String>,
}

impl SetupReport {
    /// Whether the webhook is (or on a dry run, would be) in place.
    pub fn is_done(&self) -> bool {
        self.action != SetupAction::NeedsAdmin && self.warning.is_none()
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
    let Some(jira_config) = config.jira.as_ref() else {
        return Err(SetupError::NoJira);
    };
    let failed = |step: &'static str, e: JiraError| SetupError::Jira {
        step,
        fix: fix_for(&e, jira_config.flavour),
        cause: e.to_string(),
        manual: manual_steps(config, &options.name),
    };
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
    let as_registered = |id: String| RegisteredWebhook {
        id,
        name: wanted.name.clone(),
        url: wanted.url.clone(),
        events: wanted.events.clone(),
        jql: wanted.jql.clone(),
        exclude_body: false,
        enabled: true,
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
                manual_steps: Some(manual_steps(config, &options.name)),
                warning: None,
            });
        }
        // The plan is still worth showing: what would be registered, and why it is unsure.
        Err(e) if options.dry_run => {
            let cause = format!(
                "could not list the existing webhooks ({e}), so whether one would be created \
                 or updated is unknown; fix: {}",
                fix_for(&e, jira_config.flavour)
            );
            return Ok(SetupReport {
                action: SetupAction::Created,
                dry_run: true,
                webhook: Some(as_registered("(new)".into())),
                changes: vec![format!("webhook `{}` -> {}", wanted.name, wanted.url)],
                duplicates: Vec::new(),
                manual_steps: Some(manual_steps(config, &options.name)),
                warning: Some(cause),
            });
        }
        Err(e) => return Err(failed("list Jira's webhooks", e)),
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

    let report = |action, webhook, changes| SetupReport {
        action,
        dry_run: options.dry_run,
        webhook: Some(webhook),
        changes,
        duplicates: duplicates.clone(),
        manual_steps: None,
        warning: None,
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
            let created = jira
                .create_webhook(&wanted)
                .await
                .map_err(|e| failed("register the webhook", e))?;
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
            let updated = jira
                .update_webhook(&current.id, &wanted)
                .await
                .map_err(|e| failed("update the webhook", e))?;
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
        if let Some(warning) = &self.warning {
            writeln!(f, "warning: {warning}")?;
        }
        if self.dry_run {
            writeln!(f, "Dry run: nothing was changed in Jira.")?;
        }
        if let Some(steps) = self
            .manual_steps
            .as_ref()
            .filter(|_| self.warning.is_some())
        {
            write!(f, "\nIf running it fails the same way:\n{steps}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_404_is_explained_for_the_flavour_in_use() {
        let not_found = || JiraError::NotFound {
            operation: "list_webhooks",
            message: "null for uri".into(),
        };
        let cloud = fix_for(&not_found(), Flavour::Cloud);
        assert!(
            !cloud.contains("Data Center") && !cloud.contains("context path"),
            "{cloud}"
        );
        assert!(cloud.contains("atlassian.net"), "{cloud}");
        let dc = fix_for(&not_found(), Flavour::DataCenter);
        assert!(dc.contains("context path"), "{dc}");
        for fix in [cloud, dc] {
            assert!(!fix.contains('\n'), "one line: {fix}");
        }
    }
}
