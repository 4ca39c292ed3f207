//! What the integration last wrote to an issue (the sync ledger's Jira side, keyed by issue
//! key): updates write only what differs from it, and the echo check compares Jira's events
//! with it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    db::now_ms,
    store::{LedgerEntry, Side, StateStore, StoreError},
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueLedger {
    pub case_id: String,
    pub summary: Option<String>,
    /// SHA-256 of the ADF description written (the details section included).
    pub description_hash: Option<String>,
    /// The description written, as plain text (for recognising its echo).
    pub description_text: Option<String>,
    /// Labels the integration added.
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Value>,
    /// The Jira status the integration last moved the issue to (or found it in).
    pub status: Option<String>,
    pub resolution: Option<String>,
    /// The issue property tagging the issue with its case was written.
    #[serde(default)]
    pub tagged: bool,
    /// The issue was opened in Jira and its case made from it: the next sync takes the case's
    /// summary and description as already written (people's Jira formatting stays), and writes
    /// them only when the case changes them later.
    #[serde(default)]
    pub adopt_text: bool,
}

impl IssueLedger {
    pub async fn load(
        store: &dyn StateStore,
        issue_key: &str,
    ) -> Result<Option<IssueLedger>, StoreError> {
        match store.ledger(Side::Jira, issue_key).await? {
            Some(e) => serde_json::from_value(e.state)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("jira ledger of {issue_key}: {e}"))),
            None => Ok(None),
        }
    }

    pub async fn save(&self, store: &dyn StateStore, issue_key: &str) -> Result<(), StoreError> {
        store
            .put_ledger(&LedgerEntry {
                side: Side::Jira,
                entity: issue_key.to_owned(),
                state: serde_json::to_value(self).expect("the ledger serializes"),
                updated_at_ms: now_ms(),
            })
            .await
    }
}

/// SHA-256 (hex) of a JSON value's text.
pub fn hash_json(v: &Value) -> String {
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}
