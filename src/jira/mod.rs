//! The Jira side: a REST client behind the [`JiraApi`] seam (Cloud v3 with ADF, Data Center v2
//! with wiki text), the ADF builder, workflow path finding, the case → issue sync, the echo
//! check the issue → case sync uses, and the site calls setting up and diagnosing need.

pub mod adf;
pub mod api;
pub mod client;
pub mod echo;
pub mod mappings;
pub mod site;
pub mod sync;
pub mod wiki;
pub mod workflow;

pub use api::{Flavour, IssueType, JiraApi, JiraError};
pub use client::{JiraAuth, JiraClient, JiraClientConfig, RetryPolicy};
pub use mappings::Mappings;
pub use site::JiraSiteApi;
pub use sync::{CaseToIssue, SyncSettings};
