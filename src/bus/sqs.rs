//! Consuming from an SQS queue that an EventBridge rule targets (the container deployment).
//!
//! The visibility timeout is the lease: a received message is hidden for `lease`, extended
//! while work goes on, deleted on success. A retryable failure hides it for a backoff delay and
//! leaves the rest to the queue's redrive policy (its dead-letter queue after
//! `maxReceiveCount` receives); a permanent failure becomes a dead letter in the state store
//! and the message is deleted. Each body is the EventBridge event; its `detail` is our
//! envelope, or a reference to it in the store for oversize events. SIR's own events
//! (`source: aws.security-ir`, routed to the same queue by a rule on the default bus) become
//! `sir.case.changed` events; SIR events about anything but cases are deleted and counted.

use crate::retry::Backoff;
use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use aws_sdk_sqs::{
    Client,
    operation::{
        change_message_visibility::ChangeMessageVisibilityError, delete_message::DeleteMessageError,
    },
    types::{Message, MessageSystemAttributeName},
};
use serde_json::Value;

use super::QueueConfig;
use super::{
    BusError, Delivery, EventSource, Failure,
    eventbridge::{self, Decoded},
    settle,
};
use crate::{aws::describe, metrics::Metrics, store::StateStore};

/// Longest long poll SQS allows.
const LONG_POLL: Duration = Duration::from_secs(20);
/// Longest visibility timeout SQS allows (12 hours).
const MAX_VISIBILITY_SECS: u64 = 12 * 3600;

pub struct SqsSource {
    client: Client,
    queue_url: String,
    store: Arc<dyn StateStore>,
    config: QueueConfig,
    wait: Duration,
    metrics: Option<Arc<Metrics>>,
}

impl SqsSource {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        store: Arc<dyn StateStore>,
        config: QueueConfig,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            store,
            config,
            wait: LONG_POLL,
            metrics: None,
        }
    }

    /// Counts the SIR events it drops in `ignored_deliveries`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Shortens the long poll (tests).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait.min(LONG_POLL);
        self
    }

    async fn set_visibility(&self, receipt: &str, secs: u64) -> Result<(), BusError> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(secs.min(MAX_VISIBILITY_SECS) as i32)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The message was deleted or received again after our lease ran out: whoever
            // holds it now settles it.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_))
                        | Some(ChangeMessageVisibilityError::MessageNotInflight(_))
                ) =>
            {
                tracing::warn!(error = %describe(&e), "visibility change after the lease was lost");
                Ok(())
            }
            Err(e) => Err(BusError::Backend {
                message: describe(&e),
                source: Box::new(e),
            }),
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), BusError> {
        let result = self
            .client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteMessageError::ReceiptHandleIsInvalid(_))
                ) =>
            {
                tracing::warn!(error = %describe(&e), "delete after the lease was lost");
                Ok(())
            }
            Err(e) => Err(BusError::Backend {
                message: describe(&e),
                source: Box::new(e),
            }),
        }
    }

    /// The message's delivery, or `None` when it was unreadable and set aside.
    async fn delivery(&self, message: Message) -> Result<Option<Delivery>, BusError> {
        let receipt = message
            .receipt_handle
            .clone()
            .ok_or_else(|| BusError::malformed("message without a receipt handle"))?;
        let attempt = message
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let body = message.body.clone().unwrap_or_default();
        match self.decode(&body).await {
            Ok(Decoded::Event(envelope)) => Ok(Some(Delivery {
                envelope: *envelope,
                attempt,
                receipt,
            })),
            Ok(Decoded::Ignored(detail_type)) => {
                settle::ignored(
                    self.metrics.as_deref(),
                    &detail_type,
                    message.message_id.as_deref().unwrap_or(""),
                );
                self.delete(&receipt).await?;
                Ok(None)
            }
            Err(BusError::Decode { message: error, .. }) => {
                // No retry can make it readable: keep it as a dead letter, off the queue.
                let id = message.message_id.unwrap_or_else(|| receipt.clone());
                settle::dead_letter_unreadable(self.store.as_ref(), &id, body, &error, attempt)
                    .await?;
                self.delete(&receipt).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Parses an EventBridge event body (see [`eventbridge::decode_event`]).
    async fn decode(&self, body: &str) -> Result<Decoded, BusError> {
        let value: Value = serde_json::from_str(body).map_err(BusError::undecodable)?;
        eventbridge::decode_event(value, self.store.as_ref()).await
    }
}

#[async_trait]
impl EventSource for SqsSource {
    async fn receive(&self, max: usize) -> Result<Vec<Delivery>, BusError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(self.wait.as_secs() as i32)
            .visibility_timeout(self.config.lease.as_secs().clamp(1, MAX_VISIBILITY_SECS) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| BusError::Backend {
                message: describe(&e),
                source: Box::new(e),
            })?;
        let mut deliveries = Vec::new();
        for message in out.messages.unwrap_or_default() {
            match self.delivery(message).await {
                Ok(Some(d)) => deliveries.push(d),
                Ok(None) => {}
                // Its visibility runs out and it comes back: at-least-once holds.
                Err(e) => tracing::warn!(error = %e, "cannot take a message"),
            }
        }
        Ok(deliveries)
    }

    async fn ack(&self, d: &Delivery) -> Result<(), BusError> {
        self.delete(&d.receipt).await
    }

    async fn nack(&self, d: &Delivery, failure: &Failure) -> Result<(), BusError> {
        if failure.retryable {
            let delay =
                Backoff::new(self.config.backoff_base, self.config.backoff_max).delay(d.attempt);
            // SQS counts whole seconds; at least one, so a retry is never immediate.
            let secs = u64::try_from(delay.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
            return self.set_visibility(&d.receipt, secs.max(1)).await;
        }
        settle::dead_letter_event(self.store.as_ref(), &d.envelope, &failure.error, d.attempt)
            .await?;
        self.delete(&d.receipt).await
    }

    async fn extend(&self, d: &Delivery) -> Result<(), BusError> {
        self.set_visibility(&d.receipt, self.config.lease.as_secs().max(1))
            .await
    }

    async fn release(&self, d: &Delivery) -> Result<(), BusError> {
        // SQS counts the receive anyway: ApproximateReceiveCount cannot be given back.
        self.set_visibility(&d.receipt, 0).await
    }

    async fn wait_for_work(&self, max_wait: Duration) {
        // `receive` already long-polled; this only keeps an empty queue from being polled in
        // a tight loop if the poll returns early.
        tokio::time::sleep(max_wait.min(Duration::from_millis(100))).await;
    }
}
