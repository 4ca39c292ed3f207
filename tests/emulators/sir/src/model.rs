//! The service's enums and timestamps, spelled exactly as they travel on the wire.
//!
//! Enum values are kept as Rust enums inside the emulator, but requests carry them as strings:
//! handlers parse them with `from_wire` so that an unknown value becomes a `ValidationException`
//! (as AWS answers) rather than a JSON parse failure.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value the service model lists, in model order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the exact wire spelling (case-sensitive, as the service is).
            pub fn from_wire(value: &str) -> Option<Self> {
                match value { $($wire => Some($name::$variant),)+ _ => None }
            }

            /// The wire values, comma-separated (as validation messages list them).
            pub fn wire_values() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// `CaseStatus`. Only some of these can be set through `UpdateCaseStatus`.
    CaseStatus {
        Submitted => "Submitted",
        Acknowledged => "Acknowledged",
        DetectionAndAnalysis => "Detection and Analysis",
        ContainmentEradicationAndRecovery => "Containment, Eradication and Recovery",
        PostIncidentActivities => "Post-incident Activities",
        ReadyToClose => "Ready to Close",
        Closed => "Closed",
    }
);

impl CaseStatus {
    /// The `SelfManagedCaseStatus` values: the only ones `UpdateCaseStatus` accepts.
    pub fn is_self_managed(self) -> bool {
        matches!(
            self,
            CaseStatus::Submitted
                | CaseStatus::DetectionAndAnalysis
                | CaseStatus::ContainmentEradicationAndRecovery
                | CaseStatus::PostIncidentActivities
        )
    }

    /// The transitions the API reference lists for `UpdateCaseStatus` on self-managed cases.
    /// Moving to the status a case already has is not listed, so it is refused too.
    pub fn can_move_to(self, to: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, to),
            (Submitted, DetectionAndAnalysis)
                | (DetectionAndAnalysis, ContainmentEradicationAndRecovery)
                | (DetectionAndAnalysis, PostIncidentActivities)
                | (ContainmentEradicationAndRecovery, DetectionAndAnalysis)
                | (ContainmentEradicationAndRecovery, PostIncidentActivities)
                | (PostIncidentActivities, ContainmentEradicationAndRecovery)
                | (PostIncidentActivities, DetectionAndAnalysis)
        )
    }

    pub(crate) fn self_managed_wire_values() -> String {
        Self::ALL
            .iter()
            .filter(|s| s.is_self_managed())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

wire_enum!(
    /// `ClosureCode`: read-only through the API (CloseCase takes none).
    ClosureCode {
        InvestigationCompleted => "Investigation Completed",
        NotResolved => "Not Resolved",
        FalsePositive => "False Positive",
        Duplicate => "Duplicate",
    }
);

wire_enum!(
    /// `EngagementType`.
    EngagementType {
        SecurityIncident => "Security Incident",
        Investigation => "Investigation",
    }
);

wire_enum!(
    /// `PendingAction`.
    PendingAction {
        Customer => "Customer",
        None => "None",
    }
);

wire_enum!(
    /// `ResolverType`.
    ResolverType {
        Aws => "AWS",
        SelfManaged => "Self",
    }
);

wire_enum!(
    /// `CaseAttachmentStatus`.
    AttachmentStatus {
        Verified => "Verified",
        Failed => "Failed",
        Pending => "Pending",
    }
);

/// The `AwsRegion` enum of the service model (impacted regions must be one of these).
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// A point in time with millisecond precision.
///
/// The service's REST-JSON protocol sends every timestamp as **epoch seconds, a JSON number**
/// (`1764164400.123`), never as an ISO-8601 string: the SDK refuses strings for these members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs * 1000)
    }

    /// Rounds to the millisecond, the precision the emulator keeps.
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp((secs * 1000.0).round() as i64)
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(d.as_millis() as i64),
            Err(e) => Timestamp(-(e.duration().as_millis() as i64)),
        }
    }

    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0 + d.as_millis() as i64)
    }

    pub fn minus(self, d: Duration) -> Self {
        Timestamp(self.0 - d.as_millis() as i64)
    }

    /// The SDK's own timestamp type, for comparing with what a client received.
    pub fn to_sdk(self) -> aws_sdk_securityir::primitives::DateTime {
        aws_sdk_securityir::primitives::DateTime::from_millis(self.0)
    }

    pub fn from_sdk(t: &aws_sdk_securityir::primitives::DateTime) -> Self {
        Self::from_secs_f64(t.as_secs_f64())
    }

    /// `2026-11-26T14:30:00Z`, as EventBridge envelopes carry `time` (whole seconds).
    pub fn to_rfc3339_seconds(self) -> String {
        let secs = self.0.div_euclid(1000);
        OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_travel_as_epoch_seconds_numbers() {
        let t = Timestamp::from_millis(1_764_164_400_123);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1764164400.123");
        assert_eq!(Timestamp::from_secs_f64(1_764_164_400.123), t);
        assert_eq!(t.to_rfc3339_seconds(), "2025-11-26T13:40:00Z");
    }

    #[test]
    fn status_transitions_follow_the_api_reference() {
        use CaseStatus::*;
        assert!(Submitted.can_move_to(DetectionAndAnalysis));
        assert!(!Submitted.can_move_to(ContainmentEradicationAndRecovery));
        assert!(!DetectionAndAnalysis.can_move_to(Submitted));
        assert!(!DetectionAndAnalysis.can_move_to(DetectionAndAnalysis));
        assert!(PostIncidentActivities.can_move_to(DetectionAndAnalysis));
        assert_eq!(
            CaseStatus::from_wire("Containment, Eradication and Recovery"),
            Some(ContainmentEradicationAndRecovery)
        );
        assert_eq!(CaseStatus::from_wire("closed"), None);
        assert!(!ReadyToClose.is_self_managed());
    }
}
