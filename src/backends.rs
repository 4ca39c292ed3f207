//! The state store and the bus a configuration names, opened: the one place that turns
//! `store = …` and `bus = …` into the SQLite file, DynamoDB or EventBridge. The application
//! (`app/`), `doctor` and `backfill` all open them here.

use std::sync::Arc;

use aws_config::SdkConfig;

use crate::{
    bus::{EmbeddedQueue, EventBridgeBus, EventBus},
    config::{BusBackend, Config, StoreBackend},
    db::{Db, DbError},
    store::{DynamoStore, SqliteStore, StateStore},
};

#[derive(Debug, thiserror::Error)]
pub enum BackendsError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0} needs the AWS SDK, but none was configured")]
    NoAws(&'static str),
}

/// The state store and the bus, as configured: what the gateway, the workers, the poller and
/// the `backfill` command share.
pub struct Backends {
    pub store: Arc<dyn StateStore>,
    pub bus: Arc<dyn EventBus>,
    /// Present when the bus is the embedded queue.
    pub queue: Option<Arc<EmbeddedQueue>>,
}

impl Backends {
    /// Opens the SQLite file if anything keeps data there, and builds the store and the bus.
    /// `sdk` serves the AWS ones.
    pub fn open(config: &Config, sdk: Option<&SdkConfig>) -> Result<Backends, BackendsError> {
        let need_sdk = |what| sdk.ok_or(BackendsError::NoAws(what));
        let db = match config.backends.uses_sqlite() {
            true => Some(Db::open(&config.database_path())?),
            false => None,
        };
        let store: Arc<dyn StateStore> = match (&config.backends.store, &db) {
            (StoreBackend::Sqlite, Some(db)) => Arc::new(SqliteStore::new(db.clone())),
            (StoreBackend::DynamoDb { table }, _) => {
                Arc::new(DynamoStore::from_sdk(need_sdk("store = dynamodb")?, table))
            }
            (StoreBackend::Sqlite, None) => unreachable!("uses_sqlite covers store = sqlite"),
        };
        let queue = match (&config.backends.bus, &db) {
            (BusBackend::Embedded, Some(db)) => Some(Arc::new(EmbeddedQueue::new(
                db.clone(),
                config.queue.clone(),
            ))),
            _ => None,
        };
        let bus: Arc<dyn EventBus> = match (&config.backends.bus, &queue) {
            (BusBackend::Embedded, Some(queue)) => queue.clone(),
            (BusBackend::EventBridge(eb), _) => Arc::new(EventBridgeBus::new(
                aws_sdk_eventbridge::Client::new(need_sdk("bus = eventbridge")?),
                eb.clone(),
                store.clone(),
            )),
            (BusBackend::Embedded, None) => unreachable!("uses_sqlite covers bus = embedded"),
        };
        Ok(Backends { store, bus, queue })
    }
}
