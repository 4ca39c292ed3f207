//! Cases as the service uses them, independent of the SDK's types so the sync logic can be
//! tested and reasoned about without AWS.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A SIR case id: 10 to 32 digits (`\d{10,32}`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a SIR case id (10 to 32 digits)")]
pub struct InvalidCaseId(String);

impl CaseId {
    pub fn parse(value: &str) -> Result<CaseId, InvalidCaseId> {
        if (10..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(CaseId(value.to_owned()))
        } else {
            Err(InvalidCaseId(value.chars().take(40).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CaseId {
    type Error = InvalidCaseId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CaseId::parse(&value)
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> String {
        id.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The case lifecycle. Only the self-managed ones can be set with UpdateCaseStatus, and only
/// along the service's allowed moves; `Closed` is reached with CloseCase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CaseStatus {
    Submitted,
    Acknowledged,
    #[serde(rename = "Detection and Analysis")]
    DetectionAndAnalysis,
    #[serde(rename = "Containment, Eradication and Recovery")]
    ContainmentEradicationAndRecovery,
    #[serde(rename = "Post-incident Activities")]
    PostIncidentActivities,
    #[serde(rename = "Ready to Close")]
    ReadyToClose,
    Closed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 7] = [
        CaseStatus::Submitted,
        CaseStatus::Acknowledged,
        CaseStatus::DetectionAndAnalysis,
        CaseStatus::ContainmentEradicationAndRecovery,
        CaseStatus::PostIncidentActivities,
        CaseStatus::ReadyToClose,
        CaseStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Submitted => "Submitted",
            CaseStatus::Acknowledged => "Acknowledged",
            CaseStatus::DetectionAndAnalysis => "Detection and Analysis",
            CaseStatus::ContainmentEradicationAndRecovery => {
                "Containment, Eradication and Recovery"
            }
            CaseStatus::PostIncidentActivities => "Post-incident Activities",
            CaseStatus::ReadyToClose => "Ready to Close",
            CaseStatus::Closed => "Closed",
        }
    }

    pub fn parse(value: &str) -> Option<CaseStatus> {
        CaseStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether UpdateCaseStatus accepts this status at all.
    pub fn is_self_managed(self) -> bool {
        matches!(
            self,
            CaseStatus::Submitted
                | CaseStatus::DetectionAndAnalysis
                | CaseStatus::ContainmentEradicationAndRecovery
                | CaseStatus::PostIncidentActivities
        )
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ClosureCode {
    #[serde(rename = "Investigation Completed")]
    InvestigationCompleted,
    #[serde(rename = "Not Resolved")]
    NotResolved,
    #[serde(rename = "False Positive")]
    FalsePositive,
    Duplicate,
}

impl ClosureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosureCode::InvestigationCompleted => "Investigation Completed",
            ClosureCode::NotResolved => "Not Resolved",
            ClosureCode::FalsePositive => "False Positive",
            ClosureCode::Duplicate => "Duplicate",
        }
    }

    pub fn parse(value: &str) -> Option<ClosureCode> {
        [
            ClosureCode::InvestigationCompleted,
            ClosureCode::NotResolved,
            ClosureCode::FalsePositive,
            ClosureCode::Duplicate,
        ]
        .into_iter()
        .find(|c| c.as_str() == value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watcher {
    pub email: String,
    pub name: Option<String>,
    pub job_title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreatActorIp {
    pub ip_address: String,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAttachment {
    pub attachment_id: String,
    pub file_name: String,
    /// `Verified`, `Pending`, `Failed`.
    pub status: Option<String>,
    pub creator: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created: Option<OffsetDateTime>,
}

/// Everything GetCase returns, plus the id it was asked for (GetCase's output has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    pub arn: Option<String>,
    pub title: String,
    pub description: String,
    pub status: CaseStatus,
    /// `Security Incident` or `Investigation`.
    pub engagement_type: Option<String>,
    /// `AWS` or `Self`.
    pub resolver_type: Option<String>,
    /// `Customer` or `None`.
    pub pending_action: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reported_incident_start: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub actual_incident_start: Option<OffsetDateTime>,
    pub impacted_accounts: Vec<String>,
    pub impacted_regions: Vec<String>,
    pub impacted_services: Vec<String>,
    pub threat_actor_ips: Vec<ThreatActorIp>,
    pub watchers: Vec<Watcher>,
    pub attachments: Vec<CaseAttachment>,
    pub closure_code: Option<ClosureCode>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_updated: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed: Option<OffsetDateTime>,
}

/// One row of ListCases: enough to tell whether a case changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub id: CaseId,
    pub title: Option<String>,
    pub status: Option<CaseStatus>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_updated: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseComment {
    /// Six digits in the real service.
    pub id: String,
    pub body: String,
    /// The principal (account id or ARN) that wrote it.
    pub creator: Option<String>,
    pub last_updated_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_updated: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids() {
        assert!(CaseId::parse("1234567890").is_ok());
        assert!(CaseId::parse("123456789").is_err());
        assert!(CaseId::parse("12345678901234567890123456789012").is_ok());
        assert!(CaseId::parse("123456789012345678901234567890123").is_err());
        assert!(CaseId::parse("12345abcde").is_err());
        assert!(serde_json::from_str::<CaseId>("\"12\"").is_err());
    }

    #[test]
    fn statuses_round_trip_by_their_service_names() {
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert!(!CaseStatus::Closed.is_self_managed());
        assert!(!CaseStatus::Acknowledged.is_self_managed());
        assert!(CaseStatus::ContainmentEradicationAndRecovery.is_self_managed());
    }
}
