//! The poller role: a schedule invokes the function; each invocation is one poll cycle of the
//! core's [`poll_once`]. The invocation fails when the cycle fails, so the schedule's retry
//! policy and dead-letter queue see it.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serde_json::json;
use sir_jira_bridge::{
    app::{Components, poll_once, reconcile_if_due},
    poll::PollOutcome,
    sync::reconciler::ReconcileOutcome,
};

use crate::InvocationError;

/// Handles one scheduled invocation. The payload (an EventBridge "Scheduled Event", or
/// whatever a scheduler sends) carries nothing the poll needs.
pub async fn handle(
    components: &Components,
    event: LambdaEvent<Value>,
) -> Result<Value, InvocationError> {
    let scheduled_at = event.payload.get("time").and_then(Value::as_str);
    tracing::debug!(request_id = %event.context.request_id, scheduled_at, "scheduled poll");
    let outcome = poll_once(components).await.inspect_err(|e| {
        tracing::error!(error = %e, "poll failed");
    })?;
    let mut answer = match outcome {
        PollOutcome::Polled(report) => json!({"status": "polled", "report": report}),
        // Another poller holds the lease (an overlapping run): nothing to do.
        PollOutcome::Skipped => json!({"status": "skipped"}),
    };
    // The Jira side's safety net rides on the same schedule, at its own interval.
    if let Some(reconciled) = reconcile_if_due(components).await {
        answer["reconcile"] = match reconciled.inspect_err(|e| {
            tracing::error!(error = %e, "Jira reconcile failed");
        })? {
            ReconcileOutcome::Reconciled(report) => {
                json!({"status": "reconciled", "report": report})
            }
            ReconcileOutcome::Skipped => json!({"status": "skipped"}),
        };
    }
    Ok(answer)
}

/// Serves invocations until the runtime stops.
pub async fn run(components: &Components) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event| handle(components, event))).await
}
