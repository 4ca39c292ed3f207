//! The AWS Security Incident Response side: the case model the rest of the service speaks,
//! [`SirApi`], the seam every SIR call goes through, and its implementation over
//! `aws-sdk-securityir` ([`SirClient`]; tests drive it against the SIR emulator in
//! `tests/emulators/sir`). It knows nothing of the store or the bus: the poller and the
//! backfill that watch SIR through it live in `crate::poll`.

mod api;
mod call_metrics;
mod client;
mod convert;
mod model;
mod sdk_error;

pub use api::{CasePage, CaseUpdate, NewCase, SirApi, SirCause, SirError};
pub use client::{PAGE_SIZE, SirClient};
pub use model::{
    Case, CaseAttachment, CaseComment, CaseId, CaseStatus, CaseSummary, ClosureCode, InvalidCaseId,
    ThreatActorIp, Watcher,
};
