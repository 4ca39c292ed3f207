//! The Jira side: a REST client behind the [`JiraApi`] seam (Cloud v3 with ADF, Data Center v2
//! with wiki text), the ADF builder, workflow path finding, and the site calls setting up and
//! diagnosing need. It knows nothing of the store or of the syncs (`crate::sync`).

pub mod account;
pub mod adf;
pub mod api;
pub mod client;
pub mod site;
pub mod wiki;
pub mod workflow;

pub use account::OwnAccount;
pub use api::{Flavour, IssueType, JiraApi, JiraError};
pub use client::{JiraAuth, JiraClient, JiraClientConfig, RetryPolicy};
pub use site::JiraSiteApi;
