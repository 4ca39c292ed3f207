//! The poller role: a schedule invokes the function; each invocation is one poll cycle of the
//! core's [`poll_once`]. The invocation fails when the cycle fails, so the schedule's retry
//! policy and dead-letter queue see it.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use sir_jira_bridge::{
    poll::{PollReport, poll_once},
    startup::Components,
};

use crate::InvocationError;

/// Handles one scheduled invocation. The payload (an EventBridge "Scheduled Event", or
/// whatever a scheduler sends) carries nothing the poll needs.
pub async fn handle(
    components: &Components,
    event: LambdaEvent<Value>,
) -> Result<PollReport, InvocationError> {
    let scheduled_at = event.payload.get("time").and_then(Value::as_str);
    tracing::debug!(request_id = %event.context.request_id, scheduled_at, "scheduled poll");
    let report = poll_once(components).await.inspect_err(|e| {
        tracing::error!(error = %e, "poll failed");
    })?;
    tracing::info!(
        cases_seen = report.cases_seen,
        changes_published = report.changes_published,
        "poll done"
    );
    Ok(report)
}

/// Serves invocations until the runtime stops.
pub async fn run(components: &Components) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event| handle(components, event))).await
}
