//! The integration suite: one binary, shared helpers, a module per area.

mod admin;
mod dynamodb;
mod edge;
mod end_to_end;
mod eventbridge;
mod fake_eventbridge;
mod helpers;
mod intake;
mod issue_to_case;
mod jira_emulator;
mod jira_sync;
mod jira_webhook;
mod onboard;
mod process;
mod queue;
mod reliability;
mod schema;
mod secrets;
mod sir_backfill;
mod sir_client;
mod sir_native;
mod sir_poller;
mod sns;
mod sqs;
mod store_contract;
mod user_guide;
