//! The operator console: one page at `/console`, its script and style embedded in the binary,
//! and the exchange of the admin token for a session cookie. The page calls the `/v1` admin
//! API with that cookie; it has no data routes of its own.
//!
//! The console's routes are left out of the OpenAPI document: they serve a page and a cookie to
//! a browser, not an API to programs (docs/reference.md says so).

mod assets;
pub mod auth;
pub mod session;
mod sign_in;

use axum::{
    Router,
    routing::{get, post},
};

use crate::config::Config;

use super::AppState;
pub use session::SessionKeys;

/// What the console needs from the configuration, fixed at start-up.
#[derive(Default)]
pub struct ConsoleSettings {
    /// `None` without an admin token: then nobody can sign in.
    pub sessions: Option<SessionKeys>,
    /// The public URL is https: cookies are `Secure` whatever the request says.
    pub https: bool,
    /// Jira's base URL, for links to issues.
    pub jira_url: Option<String>,
    /// The region of the SIR cases, for links to the AWS console.
    pub aws_region: Option<String>,
}

impl ConsoleSettings {
    pub fn from_config(config: &Config) -> ConsoleSettings {
        ConsoleSettings {
            sessions: config.admin_token.as_ref().map(SessionKeys::new),
            https: config
                .public_url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://")),
            jira_url: config
                .jira
                .as_ref()
                .map(|j| j.url.trim_end_matches('/').to_owned()),
            aws_region: config
                .sir
                .as_ref()
                .and_then(|s| s.region.clone())
                .or_else(|| config.aws.region.clone()),
        }
    }

    /// The case in the AWS console, as the synced issue's description links it.
    pub fn case_url(&self, case_id: &str) -> Option<String> {
        self.aws_region.as_ref().map(|region| {
            format!(
                "https://{region}.console.aws.amazon.com/security-ir/home?region={region}#/incidents/{case_id}"
            )
        })
    }

    pub fn issue_url(&self, issue_key: &str) -> Option<String> {
        self.jira_url
            .as_ref()
            .map(|base| format!("{base}/browse/{issue_key}"))
    }
}

/// The console's routes, outside the OpenAPI route table.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(assets::page))
        .route("/console/", get(assets::page))
        .route("/console/app.js", get(assets::script))
        .route("/console/app.css", get(assets::style))
        .route(
            "/console/session",
            post(sign_in::sign_in)
                .get(sign_in::current)
                .delete(sign_in::sign_out),
        )
}
