//! What the issue → case sync maps Jira values to. Loadable from the `[issue_to_case]` section
//! of the mappings file; the defaults mirror the case → issue defaults so a round trip is stable.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::jira::mappings::Mappings;
use crate::sir::{CaseStatus, ClosureCode};

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
        let shown_as = [
            (Submitted, "To Do"),
            (Acknowledged, "In Progress"),
            (DetectionAndAnalysis, "In Progress"),
            (ContainmentEradicationAndRecovery, "In Progress"),
            (PostIncidentActivities, "In Review"),
            (ReadyToClose, "In Review"),
            (Closed, "Done"),
        ];
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
