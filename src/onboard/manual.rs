//! The steps a person takes in Jira when the integration's account may not register webhooks
//! itself: the admin webhook through Jira's settings, or a Jira Automation rule. They name the
//! exact values, never a secret: those are printed by their own commands.

use std::fmt::Write;

use super::{WEBHOOK_EVENTS, webhook_jql};
use crate::config::Config;

/// How a Jira event shows in the WebHooks page's check boxes.
fn event_label(event: &str) -> &'static str {
    match event {
        "jira:issue_created" => "Issue: created",
        "jira:issue_updated" => "Issue: updated",
        "jira:issue_deleted" => "Issue: deleted",
        "comment_created" => "Comment: created",
        "comment_updated" => "Comment: updated",
        "comment_deleted" => "Comment: deleted",
        _ => "(other)",
    }
}

/// Steps to register the admin webhook by hand (a Jira administrator does them).
pub fn webhook_steps(config: &Config, name: &str) -> String {
    let jql = webhook_jql(config);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Ask a Jira administrator to do either of these:\n\
         \n\
         A. Run this command with their own credentials (it changes nothing else):\n\
         \x20  SIR_JIRA_JIRA_EMAIL=<admin e-mail> SIR_JIRA_JIRA_API_TOKEN=<admin token> sir-jira-bridge setup jira\n\
         \n\
         B. Register the webhook in Jira by hand:\n\
         \x20  1. Jira settings (cog) > System > WebHooks > Create a WebHook.\n\
         \x20  2. Name: {name}\n\
         \x20  3. Status: Enabled\n\
         \x20  4. URL: {url}\n\
         \x20  5. Secret: the output of `sir-jira-bridge print-webhook-secret` (the first line)\n\
         \x20  6. Issue related events, JQL: {jql}\n\
         \x20  7. Events: {events}\n\
         \x20  8. Leave \"Exclude body\" unticked, then Create.",
        url = config.jira_webhook_url(),
        jql = if jql.is_empty() {
            "(empty: every project)".to_owned()
        } else {
            jql
        },
        events = WEBHOOK_EVENTS
            .iter()
            .map(|e| event_label(e))
            .collect::<Vec<_>>()
            .join(", "),
    );
    s
}

/// Steps to create a Jira Automation rule that posts to the gateway (no admin rights needed,
/// a project administrator can create project rules).
pub fn automation_steps(config: &Config) -> String {
    let header = config.intake.automation_header.as_str();
    let projects = super::project_keys(config);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Teams that keep Jira Automation: create one rule per project instead of the webhook.\n\
         \x20  1. Project settings > Automation > Create rule (or global automation, scoped to: {scope}).\n\
         \x20  2. Trigger: \"Multiple issue events\" with Issue created, Issue updated, Issue transitioned,\n\
         \x20     Issue commented, Issue comment edited, Issue deleted (or one rule per trigger).\n\
         \x20  3. Action: \"Send web request\".\n\
         \x20     Web request URL: {url}\n\
         \x20     HTTP method: POST\n\
         \x20     Web request body: Issue data (Jira format)\n\
         \x20     Headers: {header} = the value of automation_secret (tick \"Hidden\")\n\
         \x20  4. Name the rule \"sir-jira-bridge\" and turn it on.",
        scope = if projects.is_empty() {
            "your security project".to_owned()
        } else {
            projects.join(", ")
        },
        url = config.jira_webhook_url(),
    );
    if config.intake.automation_secret.is_none() {
        let _ = writeln!(
            s,
            "   The gateway refuses Automation requests until automation_secret is set\n\
             \x20  (SIR_JIRA_AUTOMATION_SECRET, at least 16 characters; e.g. `openssl rand -hex 24`)."
        );
    }
    s
}
