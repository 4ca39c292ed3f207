//! The gateway role: the service's axum router, served by `lambda_http` behind a Function URL
//! or an HTTP API. `lambda_http` turns each payload-format-2.0 event into an HTTP request
//! (base64 bodies decoded to the exact bytes Jira signed) and the response back into the
//! event's answer; the routes, verification and limits are the long-running process's own.

use sir_jira_bridge::app::Components;

/// Serves the router until the runtime stops.
pub async fn run(components: &Components) -> Result<(), lambda_runtime::Error> {
    lambda_http::run(components.router()).await
}
