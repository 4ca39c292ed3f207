//! What the issue → case sync maps Jira values to. Loadable from the `[issue_to_case]` section
//! of the mappings file; the defaults mirror the case → issue defaults so a round trip is stable.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::sir::{CaseStatus, ClosureCode};
use crate::sync::mappings::Mappings;

/// Where a Jira status takes the case: a self-managed status (set with UpdateCaseStatus) or
/// closed (CloseCase). Acknowledged and Ready to Close are AWS-managed and cannot be targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum StatusTarget {
    Status(CaseStatus),
    Close,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` cannot be a target SIR status: use Submitted, Detection and Analysis, \
     Containment, Eradication and Recovery, Post-incident Activities or Closed"
)]
pub struct InvalidStatusTarget(String);

impl TryFrom<String> for StatusTarget {
    type Error = InvalidStatusTarget;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match CaseStatus::parse(value.trim()) {
            Some(CaseStatus::Closed) => Ok(StatusTarget::Close),
            Some(s) if s.is_self_managed() => Ok(StatusTarget::Status(s)),
            _ => Err(InvalidStatusTarget(value)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssueToCaseConfig {
    /// The Jira account the integration writes with: its changes are echoes, never applied.
    pub own_jira_account_id: Option<String>,
    /// Jira status name (compared case-insensitively) → where the case goes.
    pub status_map: BTreeMap<String, StatusTarget>,
    /// Jira status category key (`new`, `indeterminate`, `done`) → where the case goes, for
    /// statuses not named in `status_map`.
    pub category_map: BTreeMap<String, StatusTarget>,
    /// SIR status → the Jira status name the case → issue sync shows it as. Several SIR statuses
    /// share one Jira status; a case already in any of them stays put (no backward moves).
    pub shown_as: HashMap<CaseStatus, String>,
    /// Jira resolution name (case-insensitive) → the closure code recorded when closing.
    pub closure_code_map: BTreeMap<String, ClosureCode>,
    /// The closure code for a resolution not in `closure_code_map` (or none).
    pub default_closure_code: ClosureCode,
    /// Opening SIR cases for Jira issues that opt in; absent: Jira never creates cases.
    pub create_cases: Option<CreateCases>,
}

/// Which Jira issues open a SIR case, and the case members a Jira issue cannot supply. Every
/// value is the operator's: nothing is made up to satisfy CreateCase.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "CreateCasesTable")]
pub struct CreateCases {
    /// An issue carrying any of these labels opts in (labels compare exactly, as in Jira).
    pub labels: Vec<String>,
    /// An issue of any of these types opts in (names compare case-insensitively).
    pub issue_types: Vec<String>,
    pub engagement_type: String,
    pub resolver_type: String,
    pub impacted_accounts: Vec<String>,
    pub impacted_regions: Vec<String>,
    pub watchers: Vec<crate::sir::Watcher>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCasesTable {
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    issue_types: Vec<String>,
    engagement_type: String,
    resolver_type: String,
    impacted_accounts: Vec<String>,
    #[serde(default)]
    impacted_regions: Vec<String>,
    watchers: Vec<WatcherTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WatcherTable {
    email: String,
    name: Option<String>,
    job_title: Option<String>,
}

impl TryFrom<CreateCasesTable> for CreateCases {
    type Error = String;
    fn try_from(t: CreateCasesTable) -> Result<Self, Self::Error> {
        if t.labels.is_empty() && t.issue_types.is_empty() {
            return Err(
                "`create_cases` needs `labels` or `issue_types`: which issues open a case".into(),
            );
        }
        let engagement_type = match t.engagement_type.trim() {
            "Security Incident" | "Investigation" => t.engagement_type.trim().to_owned(),
            other => {
                return Err(format!(
                    "`create_cases.engagement_type`: `{other}` is not `Security Incident` or `Investigation`"
                ));
            }
        };
        let resolver_type = match t.resolver_type.trim() {
            "AWS" | "Self" => t.resolver_type.trim().to_owned(),
            other => {
                return Err(format!(
                    "`create_cases.resolver_type`: `{other}` is not `AWS` or `Self`"
                ));
            }
        };
        if t.impacted_accounts.is_empty() {
            return Err("`create_cases.impacted_accounts`: at least one AWS account id".into());
        }
        for a in &t.impacted_accounts {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "`create_cases.impacted_accounts`: `{a}` is not a 12-digit AWS account id"
                ));
            }
        }
        if t.watchers.is_empty() {
            return Err("`create_cases.watchers`: at least one watcher (email)".into());
        }
        let mut watchers = Vec::with_capacity(t.watchers.len());
        for w in t.watchers {
            let email = w.email.trim();
            if !email.contains('@') || email.len() < 3 {
                return Err(format!(
                    "`create_cases.watchers`: `{email}` is not an email address"
                ));
            }
            watchers.push(crate::sir::Watcher {
                email: email.to_owned(),
                name: w.name,
                job_title: w.job_title,
            });
        }
        Ok(CreateCases {
            labels: t.labels,
            issue_types: t.issue_types,
            engagement_type,
            resolver_type,
            impacted_accounts: t.impacted_accounts,
            impacted_regions: t.impacted_regions,
            watchers,
        })
    }
}

impl CreateCases {
    /// Whether an issue with these labels and this type opens a case.
    pub fn opts_in(&self, labels: &[String], issue_type: Option<&str>) -> bool {
        labels.iter().any(|l| self.labels.contains(l))
            || issue_type.is_some_and(|t| {
                self.issue_types
                    .iter()
                    .any(|wanted| wanted.eq_ignore_ascii_case(t.trim()))
            })
    }
}

impl Default for IssueToCaseConfig {
    fn default() -> Self {
        use CaseStatus::*;
        let target = StatusTarget::Status;
        let status_map = [
            ("To Do", target(Submitted)),
            ("In Progress", target(DetectionAndAnalysis)),
            ("In Review", target(PostIncidentActivities)),
            ("Done", StatusTarget::Close),
        ];
        let category_map = [
            ("new", target(Submitted)),
            ("indeterminate", target(DetectionAndAnalysis)),
            ("done", StatusTarget::Close),
        ];
        let shown_as = crate::sync::mappings::DEFAULT_STATUS_MAP;
        let closure_code_map = [
            ("Done", ClosureCode::InvestigationCompleted),
            ("Fixed", ClosureCode::InvestigationCompleted),
            ("Won't Do", ClosureCode::NotResolved),
            ("Won't Fix", ClosureCode::NotResolved),
            ("Cannot Reproduce", ClosureCode::FalsePositive),
            ("False Positive", ClosureCode::FalsePositive),
            ("Duplicate", ClosureCode::Duplicate),
        ];
        IssueToCaseConfig {
            own_jira_account_id: None,
            status_map: status_map.map(|(k, v)| (k.to_owned(), v)).into(),
            category_map: category_map.map(|(k, v)| (k.to_owned(), v)).into(),
            shown_as: shown_as
                .map(|(k, v)| (k, v.to_owned()))
                .into_iter()
                .collect(),
            closure_code_map: closure_code_map.map(|(k, v)| (k.to_owned(), v)).into(),
            default_closure_code: ClosureCode::InvestigationCompleted,
            create_cases: None,
        }
    }
}

impl IssueToCaseConfig {
    /// Reads the `[issue_to_case]` table of a mappings file (absent table: the defaults). A map
    /// given in the file replaces that default map whole, so no surprise entries linger.
    pub fn from_mappings_toml(text: &str) -> Result<IssueToCaseConfig, toml::de::Error> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            issue_to_case: Option<IssueToCaseConfig>,
        }
        let file: File = toml::from_str(text)?;
        Ok(file.issue_to_case.unwrap_or_default())
    }

    /// The mappings file's `[issue_to_case]` table for a deployment whose case → issue sync
    /// writes as `own_account`.
    /// The account the case → issue sync writes with is the one whose changes are echoes,
    /// whatever the table says.
    pub fn for_jira(own_account: &str, mappings: &Mappings) -> IssueToCaseConfig {
        IssueToCaseConfig {
            own_jira_account_id: Some(own_account.to_owned()),
            ..mappings.issue_to_case.clone()
        }
    }

    /// Where a Jira status takes the case: by name first, then by category.
    pub fn target_for(&self, name: &str, category: Option<&str>) -> Option<StatusTarget> {
        lookup(&self.status_map, name)
            .or_else(|| category.and_then(|c| lookup(&self.category_map, c)))
    }

    /// Whether the case's current status already shows as this Jira status.
    pub fn already_shown_as(&self, current: CaseStatus, jira_status: &str) -> bool {
        self.shown_as
            .get(&current)
            .is_some_and(|shown| shown.eq_ignore_ascii_case(jira_status.trim()))
    }

    pub fn closure_code_for(&self, resolution: Option<&str>) -> ClosureCode {
        resolution
            .and_then(|r| lookup(&self.closure_code_map, r))
            .unwrap_or(self.default_closure_code)
    }
}

fn lookup<V: Copy>(map: &BTreeMap<String, V>, key: &str) -> Option<V> {
    let key = key.trim();
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_reverse_the_case_to_issue_map() {
        let c = IssueToCaseConfig::default();
        assert_eq!(
            c.target_for("in progress", None),
            Some(StatusTarget::Status(CaseStatus::DetectionAndAnalysis))
        );
        assert_eq!(c.target_for("Done", None), Some(StatusTarget::Close));
        assert_eq!(
            c.target_for("Triage", Some("done")),
            Some(StatusTarget::Close)
        );
        assert_eq!(c.target_for("Triage", None), None);
        assert!(c.already_shown_as(CaseStatus::ContainmentEradicationAndRecovery, "In Progress"));
        assert!(!c.already_shown_as(CaseStatus::Submitted, "In Progress"));
        assert_eq!(
            c.closure_code_for(Some("won't do")),
            ClosureCode::NotResolved
        );
        assert_eq!(
            c.closure_code_for(None),
            ClosureCode::InvestigationCompleted
        );
    }

    #[test]
    fn case_creation_is_opt_in_and_takes_real_values_only() {
        let c = IssueToCaseConfig::from_mappings_toml(
            r#"
            [issue_to_case.create_cases]
            labels = ["sir-case"]
            issue_types = ["Security Incident"]
            engagement_type = "Security Incident"
            resolver_type = "Self"
            impacted_accounts = ["123456789012"]
            watchers = [{ email = "secops@example.com", name = "SecOps" }]
            "#,
        )
        .unwrap();
        let create = c.create_cases.unwrap();
        assert!(create.opts_in(&["sir-case".into()], Some("Task")));
        assert!(create.opts_in(&[], Some("security incident")));
        assert!(!create.opts_in(&["Sir-Case".into()], Some("Task")));
        assert!(IssueToCaseConfig::default().create_cases.is_none());

        for (bad, says) in [
            ("labels = []\n", "needs `labels` or `issue_types`"),
            ("impacted_accounts = [\"12345\"]\n", "12-digit"),
            ("engagement_type = \"Incident\"\n", "engagement_type"),
            ("resolver_type = \"Someone\"\n", "resolver_type"),
            ("watchers = []\n", "at least one watcher"),
        ] {
            let mut table = vec![
                ("labels", "labels = [\"sir-case\"]\n"),
                ("engagement_type", "engagement_type = \"Investigation\"\n"),
                ("resolver_type", "resolver_type = \"AWS\"\n"),
                (
                    "impacted_accounts",
                    "impacted_accounts = [\"123456789012\"]\n",
                ),
                ("watchers", "watchers = [{ email = \"a@example.com\" }]\n"),
            ];
            let key = bad.split(' ').next().unwrap();
            table.retain(|(k, _)| *k != key);
            let text: String = std::iter::once("[issue_to_case.create_cases]\n")
                .chain(table.iter().map(|(_, line)| *line))
                .chain(std::iter::once(bad))
                .collect();
            let e = IssueToCaseConfig::from_mappings_toml(&text).unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn toml_section_replaces_maps_and_refuses_aws_managed_targets() {
        let c = IssueToCaseConfig::from_mappings_toml(
            r#"
            [issue_to_case]
            own_jira_account_id = "557058:bridge"
            default_closure_code = "Not Resolved"
            [issue_to_case.status_map]
            "Triage" = "Submitted"
            "Containing" = "Containment, Eradication and Recovery"
            "Resolved" = "Closed"
            "#,
        )
        .unwrap();
        assert_eq!(c.own_jira_account_id.as_deref(), Some("557058:bridge"));
        assert_eq!(c.status_map.len(), 3);
        assert_eq!(c.target_for("resolved", None), Some(StatusTarget::Close));
        assert_eq!(c.default_closure_code, ClosureCode::NotResolved);
        // Untouched maps keep their defaults.
        assert_eq!(c.shown_as.len(), 7);

        let bad = IssueToCaseConfig::from_mappings_toml(
            "[issue_to_case.status_map]\n\"Waiting\" = \"Acknowledged\"\n",
        );
        assert!(bad.unwrap_err().to_string().contains("cannot be a target"));
        assert!(IssueToCaseConfig::from_mappings_toml("").is_ok());

        let c = IssueToCaseConfig::from_mappings_toml(
            r#"
            [issue_to_case.shown_as]
            "Containment, Eradication and Recovery" = "Containing"
            [issue_to_case.closure_code_map]
            "Obsolete" = "Duplicate"
            "#,
        )
        .unwrap();
        assert!(c.already_shown_as(CaseStatus::ContainmentEradicationAndRecovery, "containing"));
        assert_eq!(c.closure_code_for(Some("obsolete")), ClosureCode::Duplicate);
        assert!(IssueToCaseConfig::from_mappings_toml("[issue_to_case]\ntypo = 1\n").is_err());
    }
}
