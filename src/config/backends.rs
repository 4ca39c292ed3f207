//! Which implementation backs each seam (bus, store, consumer), chosen independently, and the
//! AWS settings they share.

use super::{
    ConfigError, Settings,
    settings::{BusKind, ConsumerKind, StoreKind},
};
pub use crate::aws::AwsConfig;
use crate::bus::EventBridgeConfig;

/// `source` of the events on EventBridge unless configured: what rules match on.
pub const DEFAULT_EVENT_SOURCE: &str = "sir-jira-bridge";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendsConfig {
    pub bus: BusBackend,
    pub store: StoreBackend,
    pub consumer: ConsumerBackend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusBackend {
    /// The durable queue in the SQLite file.
    Embedded,
    EventBridge(EventBridgeConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    Sqlite,
    DynamoDb { table: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerBackend {
    /// Workers read the embedded queue.
    InProcess,
    /// Workers long-poll an SQS queue that an EventBridge rule feeds.
    Sqs { queue_url: String },
}

impl BackendsConfig {
    pub fn uses_aws(&self) -> bool {
        !matches!(self.bus, BusBackend::Embedded)
            || !matches!(self.store, StoreBackend::Sqlite)
            || !matches!(self.consumer, ConsumerBackend::InProcess)
    }

    /// Whether anything keeps data in the SQLite file.
    pub fn uses_sqlite(&self) -> bool {
        matches!(self.bus, BusBackend::Embedded) || matches!(self.store, StoreBackend::Sqlite)
    }
}

pub(super) fn from_settings(
    s: &mut Settings,
    workers: usize,
) -> Result<(BackendsConfig, AwsConfig), ConfigError> {
    let required = |setting: &'static str, value: Option<String>, needed_by: &str| {
        value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConfigError::invalid(setting, format!("is required with {needed_by}")))
    };

    let bus = match s.bus.unwrap_or(BusKind::Embedded) {
        BusKind::Embedded => BusBackend::Embedded,
        BusKind::EventBridge => {
            let bus_name = required(
                "eventbridge_bus_name",
                s.eventbridge_bus_name.take(),
                "bus = eventbridge",
            )?;
            let source = s
                .event_source
                .take()
                .unwrap_or_else(|| DEFAULT_EVENT_SOURCE.to_owned());
            if source.is_empty() || source.len() > 256 {
                return Err(ConfigError::invalid(
                    "event_source",
                    "must be 1 to 256 characters",
                ));
            }
            if source.starts_with("aws.") {
                return Err(ConfigError::invalid(
                    "event_source",
                    "must not start with `aws.` (reserved for AWS services)",
                ));
            }
            BusBackend::EventBridge(EventBridgeConfig { bus_name, source })
        }
    };

    let store = match s.store.unwrap_or(StoreKind::Sqlite) {
        StoreKind::Sqlite => StoreBackend::Sqlite,
        StoreKind::DynamoDb => {
            let table = required(
                "dynamodb_table",
                s.dynamodb_table.take(),
                "store = dynamodb",
            )?;
            let valid = (3..=255).contains(&table.len())
                && table
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !valid {
                return Err(ConfigError::invalid(
                    "dynamodb_table",
                    "must be 3 to 255 characters of letters, digits, `_`, `-` and `.`",
                ));
            }
            StoreBackend::DynamoDb { table }
        }
    };

    let consumer = match s.consumer.unwrap_or(ConsumerKind::InProcess) {
        ConsumerKind::InProcess => ConsumerBackend::InProcess,
        ConsumerKind::Sqs => {
            let queue_url = required("sqs_queue_url", s.sqs_queue_url.take(), "consumer = sqs")?;
            if !is_http_url(&queue_url) {
                return Err(ConfigError::invalid(
                    "sqs_queue_url",
                    "must start with https:// or http://",
                ));
            }
            ConsumerBackend::Sqs { queue_url }
        }
    };

    // Combinations that would silently lose events or split state are refused.
    match (&bus, &consumer) {
        (BusBackend::EventBridge(_), ConsumerBackend::InProcess) if workers > 0 => {
            return Err(ConfigError::invalid(
                "consumer",
                "in-process workers read the embedded queue, which bus = eventbridge never \
                 fills: use consumer = sqs, or workers = 0 when consumers run elsewhere (Lambda)",
            ));
        }
        (BusBackend::Embedded, ConsumerBackend::Sqs { .. }) => {
            return Err(ConfigError::invalid(
                "consumer",
                "sqs reads what an EventBridge rule delivers: it needs bus = eventbridge",
            ));
        }
        _ => {}
    }
    if bus == BusBackend::Embedded && store != StoreBackend::Sqlite {
        return Err(ConfigError::invalid(
            "store",
            "bus = embedded keeps its queue and dead letters in the SQLite file, so the state \
             must be there too: use store = sqlite, or bus = eventbridge",
        ));
    }

    let endpoint_url = s
        .aws_endpoint_url
        .take()
        .map(|u| u.trim().trim_end_matches('/').to_owned())
        .filter(|u| !u.is_empty());
    if endpoint_url.as_deref().is_some_and(|u| !is_http_url(u)) {
        return Err(ConfigError::invalid(
            "aws_endpoint_url",
            "must start with https:// or http://",
        ));
    }
    let aws = AwsConfig {
        region: s
            .aws_region
            .take()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty()),
        endpoint_url,
    };
    Ok((
        BackendsConfig {
            bus,
            store,
            consumer,
        },
        aws,
    ))
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}
