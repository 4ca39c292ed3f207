//! The mappings file (TOML): SIR status → Jira status, closure code → resolution, the issue
//! type, extra labels, and custom fields filled from case attributes. Every key is checked when
//! it is loaded, and an error names the key.
//!
//! ```toml
//! issue_type = "Security Incident"   # name or id; overrides jira_issue_type
//! labels = ["aws-sir"]               # besides aws-sir-<caseId>, which is always set
//! [status]
//! "Post-incident Activities" = "In Review"
//! [resolution]
//! "False Positive" = "Won't Do"
//! [custom_fields]
//! customfield_10050 = "caseArn"
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

use serde::Deserialize;

use crate::jira::api::IssueType;
use crate::sir::{CaseStatus, ClosureCode};
use crate::sync::issue_to_case::IssueToCaseConfig;

/// A case attribute a custom field can be filled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseField {
    CaseId,
    CaseArn,
    Title,
    Status,
    EngagementType,
    ResolverType,
    ConsoleUrl,
    ReportedIncidentStart,
    ImpactedAccounts,
    ImpactedRegions,
    ImpactedServices,
    ClosureCode,
}

impl CaseField {
    const ALL: [(&'static str, CaseField); 12] = [
        ("caseId", CaseField::CaseId),
        ("caseArn", CaseField::CaseArn),
        ("title", CaseField::Title),
        ("status", CaseField::Status),
        ("engagementType", CaseField::EngagementType),
        ("resolverType", CaseField::ResolverType),
        ("consoleUrl", CaseField::ConsoleUrl),
        ("reportedIncidentStart", CaseField::ReportedIncidentStart),
        ("impactedAccounts", CaseField::ImpactedAccounts),
        ("impactedRegions", CaseField::ImpactedRegions),
        ("impactedServices", CaseField::ImpactedServices),
        ("closureCode", CaseField::ClosureCode),
    ];

    pub fn parse(name: &str) -> Option<CaseField> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mappings {
    /// Overrides the `jira_issue_type` setting when set.
    pub issue_type: Option<IssueType>,
    pub labels: Vec<String>,
    pub status: HashMap<CaseStatus, String>,
    pub resolution: HashMap<ClosureCode, String>,
    pub custom_fields: BTreeMap<String, CaseField>,
    /// The other direction's maps (the `[issue_to_case]` table). Its `shown_as` follows
    /// `status` unless the table sets it, so a round trip stays stable.
    pub issue_to_case: IssueToCaseConfig,
}

/// The default status map, case status → Jira status: the case → issue sync's targets, and the
/// issue → case sync's `shown_as` (which case statuses a Jira status already stands for).
pub const DEFAULT_STATUS_MAP: [(CaseStatus, &str); 7] = [
    (CaseStatus::Submitted, "To Do"),
    (CaseStatus::Acknowledged, "In Progress"),
    (CaseStatus::DetectionAndAnalysis, "In Progress"),
    (CaseStatus::ContainmentEradicationAndRecovery, "In Progress"),
    (CaseStatus::PostIncidentActivities, "In Review"),
    (CaseStatus::ReadyToClose, "In Review"),
    (CaseStatus::Closed, "Done"),
];

impl Default for Mappings {
    fn default() -> Self {
        let status = DEFAULT_STATUS_MAP;
        let resolution = [
            (ClosureCode::InvestigationCompleted, "Done"),
            (ClosureCode::NotResolved, "Won't Do"),
            (ClosureCode::FalsePositive, "Won't Do"),
            (ClosureCode::Duplicate, "Duplicate"),
        ];
        Mappings {
            issue_type: None,
            labels: vec!["aws-sir".into()],
            status: status.map(|(s, j)| (s, j.to_owned())).into(),
            resolution: resolution.map(|(c, r)| (c, r.to_owned())).into(),
            custom_fields: BTreeMap::new(),
            issue_to_case: IssueToCaseConfig::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingsFile {
    issue_type: Option<String>,
    labels: Option<Vec<String>>,
    #[serde(default)]
    status: BTreeMap<String, String>,
    #[serde(default)]
    resolution: BTreeMap<String, String>,
    #[serde(default)]
    custom_fields: BTreeMap<String, String>,
    issue_to_case: Option<toml::Table>,
}

impl Mappings {
    pub fn load(path: &Path) -> Result<Mappings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Mappings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The defaults, with what `text` sets replacing them key by key.
    pub fn parse(text: &str) -> Result<Mappings, String> {
        let file: MappingsFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut m = Mappings::default();
        if let Some(t) = file.issue_type {
            if t.trim().is_empty() {
                return Err("`issue_type` is empty".into());
            }
            m.issue_type = Some(IssueType::parse(&t));
        }
        if let Some(labels) = file.labels {
            for l in &labels {
                if !valid_label(l) {
                    return Err(format!(
                        "`labels`: `{l}` is not a Jira label (no spaces, 1 to 255 characters)"
                    ));
                }
            }
            m.labels = labels;
        }
        for (sir, jira) in file.status {
            let status = CaseStatus::parse(&sir).ok_or_else(|| {
                format!(
                    "`status.\"{sir}\"`: not a SIR status (one of: {})",
                    CaseStatus::ALL.map(|s| s.as_str()).join(", ")
                )
            })?;
            if jira.trim().is_empty() {
                return Err(format!("`status.\"{sir}\"`: the Jira status is empty"));
            }
            m.status.insert(status, jira.trim().to_owned());
        }
        for (code, name) in file.resolution {
            let code = ClosureCode::parse(&code).ok_or_else(|| {
                format!(
                    "`resolution.\"{code}\"`: not a closure code (Investigation Completed, Not Resolved, False Positive, Duplicate)"
                )
            })?;
            if name.trim().is_empty() {
                return Err(format!("`resolution.\"{}\"`: empty", code.as_str()));
            }
            m.resolution.insert(code, name.trim().to_owned());
        }
        for (field, source) in file.custom_fields {
            let id_ok = field
                .strip_prefix("customfield_")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !id_ok {
                return Err(format!(
                    "`custom_fields.{field}`: not a custom field id (customfield_NNNNN)"
                ));
            }
            let source = CaseField::parse(&source).ok_or_else(|| {
                format!(
                    "`custom_fields.{field}`: `{source}` is not a case attribute (one of: {})",
                    CaseField::ALL.map(|(n, _)| n).join(", ")
                )
            })?;
            m.custom_fields.insert(field, source);
        }
        let reverse = file.issue_to_case.unwrap_or_default();
        if reverse.contains_key("own_jira_account_id") {
            // One account writes and echoes in both directions: the `jira_account_id` setting
            // (or the token's own account), never a second copy here that could disagree.
            return Err(
                "`issue_to_case.own_jira_account_id`: set `jira_account_id` \
                        (SIR_JIRA_JIRA_ACCOUNT_ID) instead; the token's account is the default"
                    .into(),
            );
        }
        let explicit_shown_as = reverse.contains_key("shown_as");
        m.issue_to_case = toml::Value::Table(reverse)
            .try_into()
            .map_err(|e: toml::de::Error| format!("`issue_to_case`: {}", e.message()))?;
        if !explicit_shown_as {
            m.issue_to_case.shown_as = m.status.clone();
        }
        Ok(m)
    }
}

pub fn valid_label(label: &str) -> bool {
    (1..=255).contains(&label.chars().count()) && !label.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::issue_to_case::StatusTarget;

    #[test]
    fn the_issue_to_case_table_lives_in_the_same_file() {
        let m = Mappings::parse(
            r#"
[status]
"Containment, Eradication and Recovery" = "Containing"
[issue_to_case]
default_closure_code = "Not Resolved"
[issue_to_case.status_map]
"Containing" = "Containment, Eradication and Recovery"
"Resolved" = "Closed"
"#,
        )
        .unwrap();
        let r = &m.issue_to_case;
        assert_eq!(r.default_closure_code, ClosureCode::NotResolved);
        assert_eq!(r.target_for("resolved", None), Some(StatusTarget::Close));
        // `shown_as` follows the file's status map when the table does not set it.
        assert!(r.already_shown_as(CaseStatus::ContainmentEradicationAndRecovery, "Containing"));
        let e = Mappings::parse("[issue_to_case]\ntypo = 1\n").unwrap_err();
        assert!(e.contains("issue_to_case") && e.contains("typo"), "{e}");
        let e =
            Mappings::parse("[issue_to_case.status_map]\n\"X\" = \"Acknowledged\"\n").unwrap_err();
        assert!(e.contains("cannot be a target"), "{e}");
        let e = Mappings::parse("[issue_to_case]\nown_jira_account_id = \"x\"\n").unwrap_err();
        assert!(e.contains("jira_account_id"), "{e}");
    }

    #[test]
    fn defaults_follow_the_sample() {
        let m = Mappings::default();
        assert_eq!(m.status[&CaseStatus::Submitted], "To Do");
        assert_eq!(
            m.status[&CaseStatus::ContainmentEradicationAndRecovery],
            "In Progress"
        );
        assert_eq!(m.status[&CaseStatus::ReadyToClose], "In Review");
        assert_eq!(m.status[&CaseStatus::Closed], "Done");
        assert_eq!(m.status.len(), 7);
    }

    #[test]
    fn a_file_overrides_key_by_key() {
        let m = Mappings::parse(
            r#"
issue_type = "10003"
labels = ["sec", "aws"]
[status]
"Ready to Close" = "Done"
[resolution]
"False Positive" = "Cannot Reproduce"
[custom_fields]
customfield_10050 = "caseArn"
"#,
        )
        .unwrap();
        assert_eq!(m.issue_type, Some(IssueType::Id("10003".into())));
        assert_eq!(m.status[&CaseStatus::ReadyToClose], "Done");
        assert_eq!(m.status[&CaseStatus::Submitted], "To Do");
        assert_eq!(
            m.resolution[&ClosureCode::FalsePositive],
            "Cannot Reproduce"
        );
        assert_eq!(m.custom_fields["customfield_10050"], CaseField::CaseArn);
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            ("[status]\n\"Open\" = \"To Do\"", "status.\"Open\""),
            ("[resolution]\n\"Fixed\" = \"Done\"", "resolution.\"Fixed\""),
            (
                "[custom_fields]\nsummary = \"caseId\"",
                "custom_fields.summary",
            ),
            (
                "[custom_fields]\ncustomfield_1 = \"arn\"",
                "custom_fields.customfield_1",
            ),
            ("labels = [\"a b\"]", "labels"),
            ("unknown = 1", "unknown"),
        ] {
            let e = Mappings::parse(text).unwrap_err();
            assert!(e.contains(key), "{e}");
        }
    }
}
