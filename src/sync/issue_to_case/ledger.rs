//! What the integration last wrote to a case (the `Side::Sir` ledger entry, keyed by case id):
//! a Jira change equal to it that is not newer than the write is our own echo or a stale
//! redelivery, and is not written again.

use serde::{Deserialize, Serialize};

use crate::sir::CaseStatus;
use crate::store::{LedgerEntry, Side, StateStore, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseWritten {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<CaseStatus>,
    #[serde(default)]
    pub closed: bool,
}

/// The ledger state and when it was last written (ms since the epoch).
#[derive(Debug, Clone, Default)]
pub struct CaseLedger {
    pub written: CaseWritten,
    pub at_ms: i64,
}

impl CaseLedger {
    pub async fn load(store: &dyn StateStore, case_id: &str) -> Result<CaseLedger, StoreError> {
        Ok(
            match crate::sync::ledger::load(store, Side::Sir, case_id).await? {
                Some((written, at_ms)) => CaseLedger { written, at_ms },
                None => CaseLedger::default(),
            },
        )
    }

    pub async fn save(&mut self, store: &dyn StateStore, case_id: &str) -> Result<(), StoreError> {
        self.at_ms = now_ms();
        store
            .put_ledger(&LedgerEntry {
                side: Side::Sir,
                entity: case_id.to_owned(),
                state: serde_json::to_value(&self.written)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                updated_at_ms: self.at_ms,
            })
            .await
    }

    /// True when writing `value` would only repeat our own last write: it equals what we wrote
    /// and the Jira change is not known to be newer than that write.
    pub fn is_echo<T: PartialEq>(
        &self,
        written: &Option<T>,
        value: &T,
        event_ms: Option<i64>,
    ) -> bool {
        written.as_ref() == Some(value) && event_ms.is_none_or(|t| t <= self.at_ms)
    }
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
