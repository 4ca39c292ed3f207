//! The emulator's rules, exercised over HTTP the way a Jira client would.

mod helpers;

mod adf_rules;
mod attachments;
mod auth;
mod comments;
mod data_center;
mod issues;
mod properties;
mod rate_limits;
mod request_log;
mod search;
mod webhooks;
mod workflow;
