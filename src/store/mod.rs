//! Shared state: delivery dedupe, case ⇄ issue mappings, the sync ledger, checkpoints, leases
//! and dead letters. One trait; SQLite implements it for the embedded default, DynamoDB in AWS.
//! The behaviour every implementation must show is in `tests/api/store_contract.rs`.

mod dynamodb;
pub(crate) mod sqlite;

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use dynamodb::DynamoStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// A backend call failed: `message` says which and how (for logs and dead letters),
    /// `source` is the backend's own error, kept for the chain.
    #[error("state store unavailable: {message}")]
    Backend {
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl From<crate::db::DbError> for StoreError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Corrupt(m) => StoreError::Corrupt(m),
            other => StoreError::Backend {
                message: other.to_string(),
                source: Box::new(other),
            },
        }
    }
}

/// Outcome of claiming a delivery key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First sighting (or the previous one expired): the caller owns the delivery.
    New,
    /// Already accepted: answer the sender 2xx and do nothing.
    Accepted,
    /// Another request holds it and has not finished: wait, then ask again.
    Pending,
}

/// A SIR case and the Jira issue that mirrors it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub case_id: String,
    pub issue_key: String,
    pub issue_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// Someone else created the mapping for this case or this issue first; here it is.
    Existing(Mapping),
}

/// Which peer a ledger entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Jira,
    Sir,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Jira => "jira",
            Side::Sir => "sir",
        }
    }
}

/// The last state the integration wrote to one entity on one side, so an echo of that write
/// is recognised and only real differences are applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub side: Side,
    pub entity: String,
    pub state: serde_json::Value,
    pub updated_at_ms: i64,
}

/// A small versioned record a sync keeps about one entity: which Jira comment mirrors which
/// SIR comment, an attachment copied, a claim on creating an issue. `kind` names the record type,
/// `group` what it belongs to (a case id: one query lists a case's records), `key` the entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub kind: String,
    pub group: String,
    pub key: String,
    pub value: serde_json::Value,
    /// 1 when created, incremented by every write: the compare-and-set token.
    pub version: u64,
}

/// An event that failed for good, with everything needed to replay it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The event id.
    pub id: String,
    pub event_type: String,
    /// The event envelope as JSON.
    pub payload: String,
    /// The raw delivery it came from, when kept.
    pub raw: Option<Vec<u8>>,
    pub error: String,
    pub attempts: u32,
    pub failed_at_ms: i64,
}

#[async_trait]
pub trait StateStore: Send + Sync {
    /// Cheap reachability check for readiness.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Claims a delivery key as `pending` for `pending_for` (long enough to hand the event to
    /// the bus). A key that is pending or accepted and not expired is not claimed again.
    async fn claim_delivery(&self, key: &str, pending_for: Duration) -> Result<Claim, StoreError>;
    /// Marks a claimed delivery accepted and remembers it for `ttl`.
    async fn confirm_delivery(&self, key: &str, ttl: Duration) -> Result<(), StoreError>;
    /// Forgets a pending claim after a failure, so the sender's retry is processed.
    async fn release_delivery(&self, key: &str) -> Result<(), StoreError>;

    /// Insert-once: of two racing creators for one case (or one issue), exactly one inserts.
    async fn insert_mapping(&self, mapping: &Mapping) -> Result<InsertOutcome, StoreError>;
    async fn mapping_by_case(&self, case_id: &str) -> Result<Option<Mapping>, StoreError>;
    async fn mapping_by_issue(&self, issue_key: &str) -> Result<Option<Mapping>, StoreError>;
    /// Mappings ordered by case id, starting after the case id `after` (paging).
    async fn list_mappings(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Mapping>, StoreError>;

    async fn ledger(&self, side: Side, entity: &str) -> Result<Option<LedgerEntry>, StoreError>;
    async fn put_ledger(&self, entry: &LedgerEntry) -> Result<(), StoreError>;

    async fn link(&self, kind: &str, group: &str, key: &str) -> Result<Option<Link>, StoreError>;
    /// Compare-and-set: writes `value` when the stored version is `expected` (`None`: only if
    /// there is no record yet). False, writing nothing, when another writer got there first.
    async fn put_link(
        &self,
        kind: &str,
        group: &str,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> Result<bool, StoreError>;
    /// Every record of `kind` in `group`, ordered by key.
    async fn links(&self, kind: &str, group: &str) -> Result<Vec<Link>, StoreError>;

    async fn checkpoint(&self, name: &str) -> Result<Option<String>, StoreError>;
    async fn put_checkpoint(&self, name: &str, value: &str) -> Result<(), StoreError>;
    /// Many checkpoints in one round trip (the SIR poller reads a page's per-case watermarks
    /// at once); names without a checkpoint are absent from the map.
    async fn checkpoints(&self, names: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let mut found = HashMap::new();
        for name in names {
            if let Some(value) = self.checkpoint(name).await? {
                found.insert(name.clone(), value);
            }
        }
        Ok(found)
    }
    /// Writes many checkpoints in as few round trips as the store allows. Each one lands
    /// whole; on an error, some may have landed and some not.
    async fn put_checkpoints(&self, entries: &[(String, String)]) -> Result<(), StoreError> {
        for (name, value) in entries {
            self.put_checkpoint(name, value).await?;
        }
        Ok(())
    }

    /// Takes or renews the named lease for `owner`; false while someone else holds it.
    async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up if `owner` holds it.
    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError>;

    async fn put_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError>;
    /// Oldest first, starting after the id `after` (paging).
    async fn list_dead_letters(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError>;
    async fn dead_letter(&self, id: &str) -> Result<Option<DeadLetter>, StoreError>;
    async fn delete_dead_letter(&self, id: &str) -> Result<bool, StoreError>;

    /// Keeps `data` under `key` for `ttl`: the raw delivery and oversize events that the
    /// AWS bus cannot carry itself. Overwrites whatever the key held.
    async fn put_blob(&self, key: &str, data: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// The bytes under `key`, unless absent or expired.
    async fn blob(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Drops expired delivery keys, leases and blobs; returns how many rows went. A store
    /// that expires items itself (DynamoDB TTL) may return 0: expired items never count as
    /// present either way.
    async fn purge_expired(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_failure_keeps_its_cause() {
        let e: StoreError = crate::db::DbError::Closed.into();
        assert_eq!(
            e.to_string(),
            "state store unavailable: the database writer has stopped"
        );
        let cause = std::error::Error::source(&e).expect("the database's own error is kept");
        assert_eq!(cause.to_string(), "the database writer has stopped");
    }
}
