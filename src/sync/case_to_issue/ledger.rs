//! What the issue holds as far as the integration knows (the sync ledger's Jira side, keyed by
//! issue key): what the case → issue sync wrote, and what the issue → case sync read from Jira
//! and carried to the case. Both directions keep it, under the case's lease: the case → issue
//! sync writes only what differs from it, and the issue → case sync takes a Jira value equal to
//! it for no change (an echo, or a change of formatting only).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    db::now_ms,
    sir::CaseStatus,
    store::{LedgerEntry, Side, StateStore, StoreError},
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueLedger {
    pub case_id: String,
    pub summary: Option<String>,
    /// The description's person part, as plain text ([`crate::sync::fields::description`]).
    pub description_text: Option<String>,
    /// SHA-256 of the service's part of the description last written.
    pub details_hash: Option<String>,
    /// That part as plain text: a Jira description whose service part reads otherwise was
    /// edited there, and the next case → issue sync writes the part again.
    #[serde(default)]
    pub details_text: Option<String>,
    /// When the description (and so its service part) was last written.
    #[serde(default)]
    pub details_at_ms: Option<i64>,
    /// When the case → issue sync last wrote the case's text into the description.
    #[serde(default)]
    pub text_written: Option<Written>,
    /// When it last wrote the case's title as the summary.
    #[serde(default)]
    pub summary_written: Option<Written>,
    /// Labels the integration added.
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Value>,
    /// The Jira status the integration last moved the issue to, or carried to the case.
    pub status: Option<String>,
    pub resolution: Option<String>,
    /// The case status both sides agreed on together with `status`: while the case still shows
    /// it, the case has nothing new for the issue's status.
    #[serde(default)]
    pub case_status: Option<CaseStatus>,
    /// When that agreement was made (Jira's time of the change when it came from Jira): a Jira
    /// status change reported as older than this is a stale delivery.
    #[serde(default)]
    pub status_at_ms: Option<i64>,
    /// The changelog id of that Jira change, when it came from Jira (orders changes made within
    /// one millisecond).
    #[serde(default)]
    pub status_change: Option<u64>,
    /// The issue property tagging the issue with its case was written.
    #[serde(default)]
    pub tagged: bool,
    /// The issue was opened in Jira and its case made from it: the next sync takes the case's
    /// summary and description as already written (people's Jira formatting stays), and writes
    /// them only when the case changes them later.
    #[serde(default)]
    pub adopt_text: bool,
}

/// When the case → issue sync wrote a field into the issue, and which case change it carried.
/// A Jira change of the field older than `case_at_ms` is stale; one between the two was made in
/// Jira after the case changed but written over by the service, and still wins (it goes to the
/// case, and back to the issue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// Our time of the write (ms).
    pub at_ms: i64,
    /// SIR's time of the case change it carried (ms).
    pub case_at_ms: i64,
}

impl Written {
    pub fn now(case_at_ms: i64) -> Written {
        Written {
            at_ms: now_ms(),
            case_at_ms,
        }
    }
}

impl IssueLedger {
    pub async fn load(
        store: &dyn StateStore,
        issue_key: &str,
    ) -> Result<Option<IssueLedger>, StoreError> {
        Ok(crate::sync::ledger::load(store, Side::Jira, issue_key)
            .await?
            .map(|(ledger, _)| ledger))
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
