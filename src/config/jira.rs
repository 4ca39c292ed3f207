//! The Jira settings: where Jira is, how to authenticate, which project and issue type the
//! case → issue sync writes, and the mappings file. Jira is configured when `jira_url` is set;
//! without it the service runs as before (events are logged).

use std::path::PathBuf;

use super::{ConfigError, PendingSecret, SecretRef, Settings, settings::JiraFlavour};
use crate::{
    domain::ProjectKey,
    jira::{Flavour, IssueType, Mappings},
    secret::Secret,
};

#[derive(Debug, Clone)]
pub struct JiraConfig {
    /// Base URL without a trailing slash (`https://your-site.atlassian.net`).
    pub url: String,
    pub flavour: Flavour,
    /// The integration account's e-mail (Cloud's Basic auth).
    pub email: Option<String>,
    /// API token (Cloud) or personal access token (Data Center). `None` until start-up resolves
    /// a secret reference.
    pub api_token: Option<Secret>,
    pub project_key: ProjectKey,
    pub issue_type: IssueType,
    /// The integration's own account (accountId; user name on Data Center); asked of
    /// `/myself` at start-up when unset.
    pub account_id: Option<String>,
    pub mappings: Mappings,
    pub mappings_file: Option<PathBuf>,
    pub attachment_max_bytes: u64,
}

pub(super) fn from_settings(
    s: &mut Settings,
    pending: &mut Vec<PendingSecret>,
) -> Result<Option<JiraConfig>, ConfigError> {
    let Some(url) = s
        .jira_url
        .take()
        .map(|u| u.trim().trim_end_matches('/').to_owned())
    else {
        let stray = [
            ("jira_email", s.jira_email.is_some()),
            ("jira_api_token", s.jira_api_token.is_some()),
            ("jira_project_key", s.jira_project_key.is_some()),
            ("jira_mappings_file", s.jira_mappings_file.is_some()),
        ];
        if let Some((name, _)) = stray.iter().find(|(_, set)| *set) {
            return Err(ConfigError::invalid(
                "jira_url",
                format!("is required when {name} is set"),
            ));
        }
        return Ok(None);
    };
    let parsed = url::Url::parse(&url)
        .map_err(|e| ConfigError::invalid("jira_url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host().is_none()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
    {
        return Err(ConfigError::invalid(
            "jira_url",
            "must be an http(s) base URL without credentials, query or fragment",
        ));
    }
    let flavour = match s.jira_flavour.take().unwrap_or(JiraFlavour::Cloud) {
        JiraFlavour::Cloud => Flavour::Cloud,
        JiraFlavour::DataCenter => Flavour::DataCenter,
    };
    let email = s
        .jira_email
        .take()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    if flavour == Flavour::Cloud && email.is_none() {
        return Err(ConfigError::invalid(
            "jira_email",
            "is required with jira_flavour = cloud (Basic auth is e-mail and API token)",
        ));
    }
    let mut api_token = s
        .jira_api_token
        .take()
        .filter(|t| !t.expose().trim().is_empty());
    match api_token
        .as_ref()
        .map(|t| SecretRef::parse(t.expose().trim()))
    {
        None => {
            return Err(ConfigError::invalid(
                "jira_api_token",
                "is required with jira_url (Cloud: an API token; Data Center: a personal access token)",
            ));
        }
        Some(Some(reference)) => {
            pending.push(PendingSecret {
                setting: "jira_api_token",
                reference: reference.map_err(|e| ConfigError::invalid("jira_api_token", e))?,
            });
            api_token = None;
        }
        Some(None) => {}
    }
    let project_key = s
        .jira_project_key
        .take()
        .ok_or_else(|| ConfigError::invalid("jira_project_key", "is required with jira_url"))
        .and_then(|k| {
            ProjectKey::parse(k.trim())
                .map_err(|e| ConfigError::invalid("jira_project_key", e.to_string()))
        })?;
    let issue_type = match s.jira_issue_type.take() {
        Some(t) if t.trim().is_empty() => {
            return Err(ConfigError::invalid("jira_issue_type", "must not be empty"));
        }
        Some(t) => IssueType::parse(&t),
        None => IssueType::Name("Task".into()),
    };
    let account_id = s
        .jira_account_id
        .take()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let mappings_file = s.jira_mappings_file.take();
    let mappings = match &mappings_file {
        Some(path) => {
            Mappings::load(path).map_err(|e| ConfigError::invalid("jira_mappings_file", e))?
        }
        None => Mappings::default(),
    };
    let attachment_max_bytes = match s
        .jira_attachment_max_bytes
        .take()
        .unwrap_or(10 * 1024 * 1024)
    {
        n @ 1..=1_073_741_824 => n,
        _ => {
            return Err(ConfigError::invalid(
                "jira_attachment_max_bytes",
                "must be between 1 and 1073741824",
            ));
        }
    };
    Ok(Some(JiraConfig {
        url,
        flavour,
        email,
        api_token,
        project_key,
        issue_type,
        account_id,
        mappings,
        mappings_file,
        attachment_max_bytes,
    }))
}
