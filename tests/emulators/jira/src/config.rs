//! Everything a test or `emulator.toml` can choose. Every field has a default, so an empty TOML
//! file (or `EmulatorConfig::default()`) gives a usable Jira Cloud site with one project `SEC`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which Jira the emulator pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Jira Cloud: `/rest/api/3` (ADF) and `/rest/api/2` (wiki strings), Basic email:token auth.
    #[default]
    Cloud,
    /// Jira Data Center: `/rest/api/2` (and `/rest/api/latest`) only, Bearer PAT auth.
    DataCenter,
    /// Both sets of routes and both kinds of credentials; webhooks use the Cloud shape.
    Both,
}

impl Mode {
    pub fn serves_v3(self) -> bool {
        matches!(self, Mode::Cloud | Mode::Both)
    }
    pub fn accepts_basic(self) -> bool {
        matches!(self, Mode::Cloud | Mode::Both)
    }
    pub fn accepts_bearer(self) -> bool {
        matches!(self, Mode::DataCenter | Mode::Both)
    }
    /// Data Center users have `name`/`key` and no `accountId`.
    pub fn is_data_center(self) -> bool {
        matches!(self, Mode::DataCenter)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmulatorConfig {
    pub mode: Mode,
    /// The site URL used in `self` links. `None`: the address the server is bound to.
    pub public_base_url: Option<String>,
    pub accounts: Vec<AccountConfig>,
    pub projects: Vec<ProjectConfig>,
    pub issue_types: Vec<IssueTypeConfig>,
    pub priorities: Vec<NamedConfig>,
    /// The priority new issues get when the create request names none.
    pub default_priority: Option<String>,
    pub resolutions: Vec<NamedConfig>,
    pub custom_fields: Vec<CustomFieldConfig>,
    /// Workflows by name; projects refer to one (`default` unless they say otherwise).
    pub workflows: BTreeMap<String, WorkflowConfig>,
    pub limits: LimitsConfig,
    pub rate_limit: RateLimitConfig,
    pub webhooks: WebhookConfig,
    /// Issue property keys usable in JQL as `issue.property[key].path`. Real Jira only indexes
    /// properties an app declared; unlisted keys are unknown fields there too.
    pub jql_indexed_properties: Vec<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        let mut workflows = BTreeMap::new();
        workflows.insert("default".to_owned(), WorkflowConfig::default());
        Self {
            mode: Mode::Cloud,
            public_base_url: None,
            accounts: vec![
                AccountConfig {
                    account_id: "557058:integration-bridge".into(),
                    email: "sir-bridge@example.com".into(),
                    name: "sir-bridge".into(),
                    display_name: "SIR Bridge".into(),
                    api_token: Some("bridge-api-token".into()),
                    pat: Some("bridge-pat".into()),
                    admin: true,
                    account_type: "atlassian".into(),
                },
                AccountConfig {
                    account_id: "5b10a2844c20165700ede21g".into(),
                    email: "dana.analyst@example.com".into(),
                    name: "dana".into(),
                    display_name: "Dana Analyst".into(),
                    api_token: Some("dana-api-token".into()),
                    pat: Some("dana-pat".into()),
                    admin: false,
                    account_type: "atlassian".into(),
                },
            ],
            projects: vec![ProjectConfig::default()],
            issue_types: vec![
                IssueTypeConfig {
                    id: "10001".into(),
                    name: "Task".into(),
                    subtask: false,
                },
                IssueTypeConfig {
                    id: "10002".into(),
                    name: "Bug".into(),
                    subtask: false,
                },
                IssueTypeConfig {
                    id: "10003".into(),
                    name: "Security Incident".into(),
                    subtask: false,
                },
            ],
            priorities: ["Highest", "High", "Medium", "Low", "Lowest"]
                .iter()
                .enumerate()
                .map(|(i, n)| NamedConfig {
                    id: (i + 1).to_string(),
                    name: (*n).into(),
                    description: String::new(),
                })
                .collect(),
            default_priority: Some("Medium".into()),
            resolutions: [
                ("10000", "Done", "Work has been completed on this issue."),
                ("10001", "Won't Do", "This issue won't be actioned."),
                (
                    "10002",
                    "Duplicate",
                    "The problem is a duplicate of an existing issue.",
                ),
                (
                    "10003",
                    "Cannot Reproduce",
                    "All attempts at reproducing this issue failed.",
                ),
            ]
            .iter()
            .map(|(id, name, d)| NamedConfig {
                id: (*id).into(),
                name: (*name).into(),
                description: (*d).into(),
            })
            .collect(),
            custom_fields: vec![CustomFieldConfig {
                id: "customfield_10050".into(),
                name: "Case ARN".into(),
                kind: CustomFieldKind::String,
            }],
            workflows,
            limits: LimitsConfig::default(),
            rate_limit: RateLimitConfig::default(),
            webhooks: WebhookConfig::default(),
            jql_indexed_properties: Vec::new(),
        }
    }
}

impl EmulatorConfig {
    /// Parses an `emulator.toml`; absent keys keep their defaults.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }

    /// A Data Center flavoured default configuration.
    pub fn data_center() -> Self {
        Self {
            mode: Mode::DataCenter,
            ..Self::default()
        }
    }

    /// The default configuration with `workflow` as the only (default) workflow.
    pub fn with_workflow(mut self, workflow: WorkflowConfig) -> Self {
        self.workflows.insert("default".into(), workflow);
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Cloud account id (`accountId`).
    pub account_id: String,
    /// Cloud login for Basic auth.
    pub email: String,
    /// Data Center user name (`name`, also used as its `key`).
    pub name: String,
    pub display_name: String,
    /// Cloud API token (Basic `email:token`). `None`: cannot use the Cloud API.
    pub api_token: Option<String>,
    /// Data Center personal access token (Bearer). `None`: cannot use the DC API.
    pub pat: Option<String>,
    /// Jira administrator: may manage admin webhooks.
    #[serde(default)]
    pub admin: bool,
    #[serde(default = "default_account_type")]
    pub account_type: String,
}

fn default_account_type() -> String {
    "atlassian".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectConfig {
    pub id: String,
    pub key: String,
    pub name: String,
    /// Issue type names available in the project; empty: all configured issue types.
    pub issue_types: Vec<String>,
    pub workflow: String,
    /// Account id of the project lead; `None`: the first account.
    pub lead: Option<String>,
}

impl Default for ProjectConfig {
    fn default() -> Self {
        Self {
            id: "10000".into(),
            key: "SEC".into(),
            name: "Security".into(),
            issue_types: Vec::new(),
            workflow: "default".into(),
            lead: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueTypeConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
}

/// Priorities and resolutions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CustomFieldKind {
    /// Single line text: a JSON string.
    String,
    /// Multi-line text: ADF in v3, a wiki string in v2.
    Textarea,
    Number,
    /// URL field: a JSON string.
    Url,
    /// A labels-like list of strings.
    Labels,
    /// Anything JSON; not validated.
    Any,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldConfig {
    /// `customfield_NNNNN`.
    pub id: String,
    pub name: String,
    #[serde(rename = "type", default = "default_cf_kind")]
    pub kind: CustomFieldKind,
}

fn default_cf_kind() -> CustomFieldKind {
    CustomFieldKind::String
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatusCategory {
    New,
    Indeterminate,
    Done,
}

impl StatusCategory {
    pub fn key(self) -> &'static str {
        match self {
            StatusCategory::New => "new",
            StatusCategory::Indeterminate => "indeterminate",
            StatusCategory::Done => "done",
        }
    }
    /// Jira's fixed status category ids.
    pub fn id(self) -> u32 {
        match self {
            StatusCategory::New => 2,
            StatusCategory::Indeterminate => 4,
            StatusCategory::Done => 3,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            StatusCategory::New => "To Do",
            StatusCategory::Indeterminate => "In Progress",
            StatusCategory::Done => "Done",
        }
    }
    pub fn color(self) -> &'static str {
        match self {
            StatusCategory::New => "blue-gray",
            StatusCategory::Indeterminate => "yellow",
            StatusCategory::Done => "green",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    pub id: String,
    pub name: String,
    pub category: StatusCategory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionConfig {
    pub id: String,
    pub name: String,
    /// Status names this transition leaves from; empty: a global transition (from any status
    /// other than its target).
    #[serde(default)]
    pub from: Vec<String>,
    /// Target status name.
    pub to: String,
    /// Fields on the transition screen (settable with `fields` in the POST). Default: the
    /// resolution when the target is a done status, nothing otherwise.
    #[serde(default)]
    pub screen_fields: Option<Vec<String>>,
    /// Resolution a post function sets when the request names none (done targets only).
    #[serde(default)]
    pub resolution: Option<String>,
    /// `issue_event_type_name` of the webhook this transition fires.
    #[serde(default)]
    pub event: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowConfig {
    /// Status new issues start in.
    pub initial: String,
    pub statuses: Vec<StatusConfig>,
    pub transitions: Vec<TransitionConfig>,
}

impl Default for WorkflowConfig {
    /// To Do → In Progress → In Review → Done, where Done is reachable only from In Review, so
    /// that reaching Done from To Do takes three transitions.
    fn default() -> Self {
        let s = |id: &str, name: &str, category| StatusConfig {
            id: id.into(),
            name: name.into(),
            category,
        };
        let t = |id: &str, name: &str, from: &[&str], to: &str| TransitionConfig {
            id: id.into(),
            name: name.into(),
            from: from.iter().map(|f| (*f).to_owned()).collect(),
            to: to.into(),
            screen_fields: None,
            resolution: None,
            event: None,
        };
        let mut done = t("31", "Done", &["In Review"], "Done");
        done.resolution = Some("Done".into());
        Self {
            initial: "To Do".into(),
            statuses: vec![
                s("10000", "To Do", StatusCategory::New),
                s("3", "In Progress", StatusCategory::Indeterminate),
                s("10001", "In Review", StatusCategory::Indeterminate),
                s("10002", "Done", StatusCategory::Done),
            ],
            transitions: vec![
                t("11", "Start Progress", &["To Do"], "In Progress"),
                t("21", "Submit for Review", &["In Progress"], "In Review"),
                done,
                t("41", "Stop Progress", &["In Progress"], "To Do"),
                t("51", "Back to In Progress", &["In Review"], "In Progress"),
                t("61", "Reopen", &["Done"], "To Do"),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest accepted attachment (bytes); larger is a 413.
    pub max_attachment_bytes: u64,
    /// Most comments one page returns, whatever `maxResults` asks for.
    pub comments_page_cap: usize,
    /// Most issues one `/search/jql` page returns when fields other than id/key are asked for.
    pub search_page_cap: usize,
    /// `GET /rest/api/3/attachment/content/{id}` answers 303 to a media URL (as Cloud does)
    /// instead of the bytes, unless `redirect=false` is passed.
    pub attachment_redirect: bool,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_attachment_bytes: 10 * 1024 * 1024,
            comments_page_cap: 50,
            search_page_cap: 100,
            attachment_redirect: true,
        }
    }
}

/// Which requests a rate limit counts and refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RateLimitScope {
    #[default]
    All,
    Writes,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RateLimitPolicy {
    Off,
    /// At most `limit` requests per fixed `window_ms` window.
    Budget {
        limit: u32,
        window_ms: u64,
    },
    /// Every `k`-th counted request is refused (k = 2: every other call).
    EveryKth {
        k: u32,
    },
    /// Refuse the next `n` counted requests, then allow again.
    Next {
        n: u32,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub policy: RateLimitPolicy,
    pub scope: RateLimitScope,
    /// `Retry-After` seconds on a 429 (0 is allowed, as Jira sometimes sends).
    pub retry_after_secs: u64,
    /// `RateLimit-Reason` (`jira-burst-based`, `jira-per-issue-on-write`, `jira-quota-global-based`…).
    pub reason: String,
    /// `X-RateLimit-Limit` to advertise (for `Budget`, the budget).
    pub advertised_limit: u32,
    /// When set, counted requests are answered 503 with this `Retry-After` instead (the
    /// "resource limit reached" 503s Jira sends), on the same policy.
    pub unavailable_retry_after_secs: Option<u64>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            policy: RateLimitPolicy::Off,
            scope: RateLimitScope::All,
            retry_after_secs: 1,
            reason: "jira-burst-based".into(),
            advertised_limit: 100,
            unavailable_retry_after_secs: None,
        }
    }
}

/// Shape of rich text (description, comment bodies) inside webhook payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookBodyFormat {
    /// Wiki/plain strings, as admin webhooks carry the v2 representation.
    #[default]
    Wiki,
    /// ADF documents.
    Adf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Target of the configured admin webhook (as if registered in Jira settings); `None`: none.
    pub url: Option<String>,
    /// Secret for `X-Hub-Signature`; `None`: deliveries are unsigned.
    pub secret: Option<String>,
    /// Events the configured webhook subscribes to.
    pub events: Vec<String>,
    /// JQL filter (`issue-related-events-section`) of the configured webhook.
    pub jql: Option<String>,
    pub body_format: WebhookBodyFormat,
    /// Delays before each retry; the number of entries is the number of retries.
    pub retry_delays_ms: Vec<u64>,
    pub timeout_ms: u64,
    /// Every k-th delivery is sent twice (same identifier), as Jira does after a lost ack.
    pub duplicate_every: Option<u32>,
    /// Hold deliveries until this many are waiting (or `reorder_flush_ms` passed), then send
    /// them newest first.
    pub reorder_batch: Option<usize>,
    pub reorder_flush_ms: u64,
    /// Whether the admin webhook REST resource (`/rest/webhooks/1.0/webhook`) answers. `false`:
    /// it is a 404, as where jira_url misses the context path or a proxy does not forward
    /// `/rest/webhooks` (Atlassian documents this resource for Cloud and Data Center alike).
    pub rest_resource: bool,
}

/// The issue and comment events the gateway understands.
pub const DEFAULT_WEBHOOK_EVENTS: &[&str] = &[
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
];

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url: None,
            secret: None,
            events: DEFAULT_WEBHOOK_EVENTS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            jql: None,
            body_format: WebhookBodyFormat::Wiki,
            retry_delays_ms: vec![100, 200, 400, 800, 1600],
            timeout_ms: 10_000,
            duplicate_every: None,
            reorder_batch: None,
            reorder_flush_ms: 300,
            rest_resource: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_compiles() {
        let text = include_str!("../emulator.example.toml");
        let config = EmulatorConfig::from_toml(text).unwrap();
        assert_eq!(config.projects[0].workflow, "incident");
        assert_eq!(config.custom_fields[1].kind, CustomFieldKind::Labels);
        assert_eq!(config.rate_limit.policy, RateLimitPolicy::Off);
        crate::site::Site::compile(&config, "http://x".into()).unwrap();
    }

    #[test]
    fn an_empty_file_is_the_default_site() {
        let config = EmulatorConfig::from_toml("").unwrap();
        assert_eq!(config.projects[0].key, "SEC");
        assert!(
            EmulatorConfig::from_toml("nonsense = 1").is_err(),
            "unknown keys are refused"
        );
        let policy: RateLimitConfig =
            toml::from_str("policy = { kind = \"every-kth\", k = 2 }\nretry_after_secs = 0")
                .unwrap();
        assert_eq!(policy.policy, RateLimitPolicy::EveryKth { k: 2 });
    }
}
