//! The AWS Security Incident Response side: the case model the rest of the service speaks,
//! [`SirApi`], the seam every SIR call goes through, and its implementation over
//! `aws-sdk-securityir` ([`SirClient`]; tests drive it against the SIR emulator in
//! `tests/emulators/sir`). The [`poller`] finds changed cases with ListCases alone, and
//! [`backfill`] publishes every case on demand.

mod api;
pub mod backfill;
mod call_metrics;
mod client;
mod convert;
mod model;
pub mod poller;
mod sdk_error;
pub mod watermark;

pub use api::{CasePage, CaseUpdate, NewCase, SirApi, SirError};
pub use client::{PAGE_SIZE, SirClient};
pub use model::{
    Case, CaseAttachment, CaseComment, CaseId, CaseStatus, CaseSummary, ClosureCode, InvalidCaseId,
    ThreatActorIp, Watcher,
};
pub use poller::{PollOutcome, PollReport, Poller, PollerError, poll_once};
