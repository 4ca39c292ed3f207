//! Wiring: builds the [`Components`] from the configured backends (embedded queue or
//! EventBridge, SQLite or DynamoDB, in-process or SQS consumers) and peers (Jira, SIR). The
//! long-running [`Application`] serves them until shut down; the Lambda entry points
//! (`lambda-http/`) serve the same components one invocation at a time. Nothing below this
//! module imports it.

mod application;
mod components;
mod error;
mod jira;
mod scheduled;
mod served;
mod tasks;

pub use application::Application;
pub use components::{Components, UnsetSecrets};
pub use error::StartupError;
pub use jira::JiraPeer;
pub use scheduled::{poll_once, reconcile_if_due};
pub use served::Served;
pub use tasks::shutdown_signal;
