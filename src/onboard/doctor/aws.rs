//! The AWS side and the backends: SIR (ListCases), the state store, the bus, the consumers'
//! SQS queue and the SNS subscriptions.

use super::{BusProbe, Check, Doctor, Timed, sdk_message};
use crate::{config::StoreBackend, sir::SirError};

impl Doctor {
    pub(super) async fn sir_check(&self) -> Check {
        let Some(sir) = &self.sir else {
            return Check::skipped("sir", "sir_enabled is off: nothing syncs with SIR");
        };
        match self.timed(sir.list_cases(None)).await {
            Ok(page) => Check::ok(
                "sir",
                format!(
                    "ListCases answered ({} case(s) on the first page)",
                    page.cases.len()
                ),
            ),
            Err(Timed::Failed(SirError::AccessDenied { message, .. })) => Check::fail(
                "sir",
                format!("ListCases denied: {message}"),
                format!(
                    "grant the service's role the security-ir actions it uses ({}), as \
                     deploy/template.yaml does",
                    crate::aws::permissions::Role::Container
                        .actions()
                        .iter()
                        .filter_map(|a| a.strip_prefix("security-ir:"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(e) => Check::fail(
                "sir",
                format!("ListCases failed: {e}"),
                "check sir_region (or aws_region), sir_endpoint_url, the AWS credentials and \
                 that this host reaches security-ir.<region>.amazonaws.com",
            ),
        }
    }

    pub(super) async fn store_check(&self) -> Check {
        let what = match &self.config.backends.store {
            StoreBackend::Sqlite => format!("SQLite {}", self.config.database_path().display()),
            StoreBackend::DynamoDb { table } => format!("DynamoDB table {table}"),
        };
        let fix = match &self.config.backends.store {
            StoreBackend::Sqlite => "check that data_dir exists and is writable by this user",
            StoreBackend::DynamoDb { .. } => {
                "check dynamodb_table, the region and the role's dynamodb:GetItem/PutItem/Query \
                 permissions on the table"
            }
        };
        let store = match &self.store {
            Ok(s) => s,
            Err(e) => return Check::fail("store", format!("{what}: {e}"), fix),
        };
        match self.timed(store.ping()).await {
            Ok(()) => Check::ok("store", format!("{what} answers")),
            Err(e) => Check::fail("store", format!("{what}: {e}"), fix),
        }
    }

    pub(super) async fn bus_check(&self) -> Check {
        match &self.bus {
            BusProbe::Embedded(Some(queue)) => match self.timed(queue.stats()).await {
                Ok(s) => Check::ok(
                    "bus",
                    format!(
                        "embedded queue answers ({} ready, {} leased, {} dead)",
                        s.ready, s.leased, s.dead
                    ),
                ),
                Err(e) => Check::fail(
                    "bus",
                    format!("embedded queue: {e}"),
                    "check that data_dir exists and is writable by this user",
                ),
            },
            BusProbe::Embedded(None) => Check::fail(
                "bus",
                "the embedded queue could not be opened (see the store check)",
                "check that data_dir exists and is writable by this user",
            ),
            BusProbe::EventBridge(client, name) => {
                match self
                    .timed(client.describe_event_bus().name(name).send())
                    .await
                {
                    Ok(_) => Check::ok("bus", format!("EventBridge bus {name} exists")),
                    Err(e) => Check::fail(
                        "bus",
                        format!("EventBridge bus {name}: {}", sdk_message(&e)),
                        "check eventbridge_bus_name, the region, and the role's \
                         events:DescribeEventBus and events:PutEvents permissions",
                    ),
                }
            }
            BusProbe::Broken(e) => Check::fail("bus", e.clone(), "check the AWS configuration"),
        }
    }

    pub(super) async fn consumer_check(&self) -> Check {
        let Some((sqs, url)) = &self.consumer_queue else {
            return Check::skipped("consumer_queue", "consumer is not sqs: no queue to check");
        };
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send();
        match self.timed(attributes).await {
            Ok(out) => {
                let waiting = out
                    .attributes
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                            .cloned()
                    })
                    .unwrap_or_else(|| "?".into());
                Check::ok(
                    "consumer_queue",
                    format!("{url} answers (~{waiting} waiting)"),
                )
            }
            Err(e) => Check::fail(
                "consumer_queue",
                format!("{url}: {}", sdk_message(&e)),
                "check sqs_queue_url, the region and the role's sqs:ReceiveMessage/DeleteMessage \
                 permissions",
            ),
        }
    }

    pub(super) async fn sns_check(&self) -> Check {
        let client = match &self.sns {
            None => {
                return Check::skipped("sns.subscription", "no sns_topic_arns: SNS is not used");
            }
            Some(Err(e)) => {
                return Check::fail("sns.subscription", e.clone(), "check the AWS configuration");
            }
            Some(Ok(c)) => c,
        };
        let endpoint = self.config.sns_webhook_url();
        let mut problems = Vec::new();
        let mut confirmed = Vec::new();
        for topic in &self.config.sns.topic_arns {
            let listed = client
                .list_subscriptions_by_topic()
                .topic_arn(topic.as_str())
                .send();
            match self.timed(listed).await {
                Err(e) => problems.push(format!("{}: {}", topic.as_str(), sdk_message(&e))),
                Ok(out) => {
                    let subs = out.subscriptions.unwrap_or_default();
                    let ours = subs
                        .iter()
                        .find(|s| s.endpoint.as_deref() == Some(endpoint.as_str()));
                    match ours.and_then(|s| s.subscription_arn.as_deref()) {
                        None => problems.push(format!("{}: not subscribed", topic.as_str())),
                        Some("PendingConfirmation") => problems.push(format!(
                            "{}: subscription pending confirmation",
                            topic.as_str()
                        )),
                        Some(_) => confirmed.push(topic.as_str().to_owned()),
                    }
                }
            }
        }
        if problems.is_empty() {
            Check::ok(
                "sns.subscription",
                format!("{endpoint} is confirmed on {}", confirmed.join(", ")),
            )
        } else {
            Check::fail(
                "sns.subscription",
                problems.join("; "),
                format!(
                    "subscribe the gateway with `aws sns subscribe --topic-arn <topic> --protocol \
                     https --notification-endpoint {endpoint}` while it runs (it confirms \
                     itself); a pending one means the gateway never got or refused the \
                     confirmation: check the topic is in sns_topic_arns and the gateway's log"
                ),
            )
        }
    }
}
