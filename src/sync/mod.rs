//! The syncs that apply one peer's changes to the other, and what both directions share: the
//! mappings file (one status map, its defaults written once), the echo rules, and the per-case
//! lease that keeps the two directions of one case from interleaving.

pub mod adopt;
pub mod case_to_issue;
pub mod echo;
pub mod error;
pub mod fields;
pub mod issue_to_case;
pub mod lease;
mod ledger;
pub mod links;
pub mod mappings;
pub mod reconciler;

pub use case_to_issue::{CaseToIssueSync, SyncSettings};
pub use error::SyncError;
pub use issue_to_case::IssueToCaseSync;
pub use mappings::Mappings;
