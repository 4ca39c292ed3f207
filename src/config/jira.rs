//! The Jira settings: where Jira is, how to authenticate, which project and issue type the
//! case → issue sync writes, and the mappings file. Jira is configured when `jira_url` is set;
//! without it the service runs as before (events are logged).

use std::{path::PathBuf, time::Duration};

use super::{
    ConfigError, PendingSecret, SecretRef, SecretSetting, Settings, settings::JiraFlavour,
};
use crate::{
    domain::ProjectKey,
    jira::{Flavour, IssueType, JiraAuth, JiraClientConfig, RetryPolicy},
    secret::Secret,
    sync::Mappings,
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
    /// `None` when this process runs no reconciler (turned off, or no SIR to reconcile into).
    pub reconciler: Option<ReconcilerConfig>,
}

impl JiraConfig {
    /// The client's settings: Basic auth (e-mail and API token) on Cloud, a bearer personal
    /// access token on Data Center. Fails while the token is an unresolved secret reference.
    pub fn client_config(
        &self,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<JiraClientConfig, ConfigError> {
        let token = self.api_token.clone().ok_or_else(|| {
            ConfigError::invalid("jira_api_token", "the secret reference was not resolved")
        })?;
        let auth = match self.flavour {
            Flavour::Cloud => JiraAuth::Basic {
                email: self.email.clone().unwrap_or_default(),
                token,
            },
            Flavour::DataCenter => JiraAuth::Bearer { token },
        };
        Ok(JiraClientConfig {
            base_url: self.url.clone(),
            flavour: self.flavour,
            auth,
            timeout,
            retry,
        })
    }
}

/// The Jira reconciler's schedule ([`crate::sync::reconciler`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilerConfig {
    pub interval: Duration,
    /// How far before the last run's start the next search reaches back.
    pub overlap: Duration,
    /// A change younger than this is left to its webhook until the next run.
    pub grace: Duration,
}

const DEFAULT_RECONCILE_INTERVAL_SECS: u64 = 300;
/// Ten minutes: Jira documents that a search may miss recent updates (its index lags), JQL's
/// relative dates count whole minutes, and the two clocks differ by seconds. Reaching further
/// back costs no Jira call (issues already reconciled at their current `updated` are skipped
/// from the store), only a larger first page.
const DEFAULT_RECONCILE_OVERLAP_SECS: u64 = 600;
const DEFAULT_RECONCILE_GRACE_SECS: u64 = 60;

fn reconciler(s: &mut Settings) -> Result<Option<ReconcilerConfig>, ConfigError> {
    let enabled = s.jira_reconcile_enabled.take();
    let interval = s
        .jira_reconcile_interval_secs
        .take()
        .unwrap_or(DEFAULT_RECONCILE_INTERVAL_SECS);
    let overlap = s
        .jira_reconcile_overlap_secs
        .take()
        .unwrap_or(DEFAULT_RECONCILE_OVERLAP_SECS);
    let grace = s
        .jira_reconcile_grace_secs
        .take()
        .unwrap_or(DEFAULT_RECONCILE_GRACE_SECS);
    if !(1..=86_400).contains(&interval) {
        return Err(ConfigError::invalid(
            "jira_reconcile_interval_secs",
            "must be between 1 and 86400",
        ));
    }
    if overlap > 7 * 86_400 {
        return Err(ConfigError::invalid(
            "jira_reconcile_overlap_secs",
            "must be at most 604800 (a week)",
        ));
    }
    if grace >= 86_400 {
        return Err(ConfigError::invalid(
            "jira_reconcile_grace_secs",
            "must be less than 86400",
        ));
    }
    // Without SIR there is no case to bring a change to.
    let on = enabled.unwrap_or(true) && s.sir_enabled.unwrap_or(false);
    Ok(on.then_some(ReconcilerConfig {
        interval: Duration::from_secs(interval),
        overlap: Duration::from_secs(overlap),
        grace: Duration::from_secs(grace),
    }))
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
            ("jira_reconcile_enabled", s.jira_reconcile_enabled.is_some()),
            (
                "jira_reconcile_interval_secs",
                s.jira_reconcile_interval_secs.is_some(),
            ),
            (
                "jira_reconcile_overlap_secs",
                s.jira_reconcile_overlap_secs.is_some(),
            ),
            (
                "jira_reconcile_grace_secs",
                s.jira_reconcile_grace_secs.is_some(),
            ),
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
                setting: SecretSetting::JiraApiToken,
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
    let reconciler = reconciler(s)?;
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
        reconciler,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;
    use crate::aws::SecretResolver;

    fn cloud() -> Settings {
        Settings {
            jira_url: Some("https://example.atlassian.net/".into()),
            jira_email: Some("bridge@example.com".into()),
            jira_api_token: Some(Secret::new("token")),
            jira_project_key: Some("SEC".into()),
            ..Settings::default()
        }
    }

    fn refused(s: Settings, setting: &str) {
        let msg = Config::from_settings(s).unwrap_err().to_string();
        assert!(msg.contains(&format!("`{setting}`")), "{msg}");
        assert!(!msg.contains("token\""), "{msg}");
    }

    #[test]
    fn without_a_url_there_is_no_jira_and_stray_settings_are_refused() {
        assert!(
            Config::from_settings(Settings::default())
                .unwrap()
                .jira
                .is_none()
        );
        refused(
            Settings {
                jira_project_key: Some("SEC".into()),
                ..Settings::default()
            },
            "jira_url",
        );
    }

    #[test]
    fn a_cloud_configuration_with_defaults() {
        let j = Config::from_settings(cloud()).unwrap().jira.unwrap();
        assert_eq!(j.url, "https://example.atlassian.net");
        assert_eq!(j.flavour, Flavour::Cloud);
        assert_eq!(j.issue_type, IssueType::Name("Task".into()));
        assert_eq!(j.api_token.unwrap().expose(), "token");
        assert_eq!(j.attachment_max_bytes, 10 * 1024 * 1024);
        assert_eq!(j.mappings, Mappings::default());
    }

    #[test]
    fn the_reconciler_runs_every_five_minutes_when_there_is_a_case_to_reconcile_into() {
        let j = Config::from_settings(cloud()).unwrap().jira.unwrap();
        assert_eq!(j.reconciler, None, "no SIR, nothing to bring changes to");
        let with_sir = || Settings {
            sir_enabled: Some(true),
            ..cloud()
        };
        let r = Config::from_settings(with_sir())
            .unwrap()
            .jira
            .unwrap()
            .reconciler
            .unwrap();
        assert_eq!(r.interval, Duration::from_secs(300));
        assert_eq!(r.overlap, Duration::from_secs(600));
        assert_eq!(r.grace, Duration::from_secs(60));
        let off = Settings {
            jira_reconcile_enabled: Some(false),
            ..with_sir()
        };
        assert_eq!(
            Config::from_settings(off).unwrap().jira.unwrap().reconciler,
            None
        );
        refused(
            Settings {
                jira_reconcile_interval_secs: Some(0),
                ..with_sir()
            },
            "jira_reconcile_interval_secs",
        );
        refused(
            Settings {
                jira_reconcile_grace_secs: Some(86_400),
                ..with_sir()
            },
            "jira_reconcile_grace_secs",
        );
        refused(
            Settings {
                jira_reconcile_interval_secs: Some(60),
                ..Settings::default()
            },
            "jira_url",
        );
    }

    #[test]
    fn each_missing_or_wrong_setting_is_named() {
        refused(
            Settings {
                jira_email: None,
                ..cloud()
            },
            "jira_email",
        );
        refused(
            Settings {
                jira_api_token: None,
                ..cloud()
            },
            "jira_api_token",
        );
        refused(
            Settings {
                jira_project_key: None,
                ..cloud()
            },
            "jira_project_key",
        );
        refused(
            Settings {
                jira_project_key: Some("b@d".into()),
                ..cloud()
            },
            "jira_project_key",
        );
        refused(
            Settings {
                jira_url: Some("ftp://x".into()),
                ..cloud()
            },
            "jira_url",
        );
        refused(
            Settings {
                jira_url: Some("https://u:p@x".into()),
                ..cloud()
            },
            "jira_url",
        );
        refused(
            Settings {
                jira_attachment_max_bytes: Some(0),
                ..cloud()
            },
            "jira_attachment_max_bytes",
        );
        refused(
            Settings {
                jira_api_token: Some(Secret::new("ssm:")),
                ..cloud()
            },
            "jira_api_token",
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("m.toml");
        std::fs::write(&bad, "[status]\n\"Open\" = \"To Do\"\n").unwrap();
        refused(
            Settings {
                jira_mappings_file: Some(bad),
                ..cloud()
            },
            "jira_mappings_file",
        );
        refused(
            Settings {
                jira_mappings_file: Some(dir.path().join("absent.toml")),
                ..cloud()
            },
            "jira_mappings_file",
        );
    }

    #[test]
    fn data_center_needs_no_email_and_issue_types_go_by_id() {
        let j = Config::from_settings(Settings {
            jira_flavour: Some(JiraFlavour::DataCenter),
            jira_email: None,
            jira_issue_type: Some("10003".into()),
            ..cloud()
        })
        .unwrap()
        .jira
        .unwrap();
        assert_eq!(j.flavour, Flavour::DataCenter);
        assert_eq!(j.issue_type, IssueType::Id("10003".into()));
    }

    #[tokio::test]
    async fn the_token_resolves_from_a_reference() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "pat-123\n").unwrap();
        let mut c = Config::from_settings(Settings {
            jira_api_token: Some(Secret::new(format!("file:{}", file.display()))),
            ..cloud()
        })
        .unwrap();
        assert!(c.jira.as_ref().unwrap().api_token.is_none());
        c.resolve_secrets(&SecretResolver::new(None)).await.unwrap();
        // Short is fine: the token is Atlassian's to choose.
        assert_eq!(c.jira.unwrap().api_token.unwrap().expose(), "pat-123");
        let c = Config::from_settings(Settings {
            jira_api_token: Some(Secret::new("ssm:/sir/jira-token")),
            ..cloud()
        })
        .unwrap();
        assert!(c.secrets_need_aws());
    }
}
