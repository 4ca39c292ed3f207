//! The syncs that apply one peer's changes to the other.

pub mod issue_to_case;
