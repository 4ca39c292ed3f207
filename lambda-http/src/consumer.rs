//! The consumer role: an EventBridge rule invokes the function with one event; the core's
//! [`EventConsumer`] decodes our envelope from its `detail` (resolving the `payload_ref` of an
//! oversize event from the store; turning one of SIR's own events into `sir.case.changed`) and
//! runs the handler the container's workers run.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use sir_jira_bridge::{
    app::Components,
    consumer::{Consumed, EventConsumer},
};

use crate::InvocationError;

/// Handles one invocation. Any failure is returned, so the invocation fails and EventBridge's
/// retry policy and the function's dead-letter queue take the event.
pub async fn handle(
    consumer: &EventConsumer,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Value, InvocationError> {
    let (event, context) = event.into_parts();
    tracing::debug!(request_id = %context.request_id, source = %event.source, detail_type = %event.detail_type, "eventbridge event");
    // Back to the wire form: the core decodes what every target receives, so an SQS message
    // and a Lambda invocation go through the same code.
    let wire = serde_json::to_value(&event).unwrap_or(Value::Null);
    // Lambda does not say which attempt this is.
    Ok(match consumer.consume(wire, 1).await? {
        Consumed::Handled(envelope) => json!({
            "status": "handled",
            "event_id": envelope.id,
            "type": envelope.event.type_name(),
        }),
        Consumed::Ignored { detail_type } => json!({
            "status": "ignored",
            "detail_type": detail_type,
        }),
    })
}

/// Serves invocations until the runtime stops.
pub async fn run(components: &Components) -> Result<(), lambda_runtime::Error> {
    let consumer = components.consumer();
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event| handle(consumer, event))).await
}
