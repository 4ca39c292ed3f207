//! The integration suite: one binary, shared helpers, a module per area.

mod admin;
mod helpers;
mod intake;
mod jira_emulator;
mod jira_webhook;
mod process;
mod queue;
mod schema;
mod store_contract;
