//! The AWS Security Incident Response side: the case model the rest of the service speaks, and
//! [`SirApi`], the seam every SIR call goes through (implemented over `aws-sdk-securityir`;
//! tests drive that implementation against the SIR emulator in `tests/emulators/sir`).

mod api;
mod model;

pub use api::{CasePage, CaseUpdate, SirApi, SirError};
pub use model::{
    Case, CaseAttachment, CaseComment, CaseId, CaseStatus, CaseSummary, ClosureCode, InvalidCaseId,
    ThreatActorIp, Watcher,
};
