//! The one rule both ledgers follow when an entry cannot be read: it is logged, as an error
//! naming the entry, and treated as absent. The sync then works from the peers' current state
//! (the case and the issue as they are, which still keeps it from writing a value the target
//! holds), and its next write replaces the entry. Failing instead would stop the case's sync for
//! good: no operator tool edits a ledger, and a replay would meet the same entry.

use serde::de::DeserializeOwned;

use crate::store::{Side, StateStore, StoreError};

/// The ledger entry of `entity` on `side` as `T`, with when it was written (ms).
pub(crate) async fn load<T: DeserializeOwned>(
    store: &dyn StateStore,
    side: Side,
    entity: &str,
) -> Result<Option<(T, i64)>, StoreError> {
    let Some(entry) = store.ledger(side, entity).await? else {
        return Ok(None);
    };
    match serde_json::from_value(entry.state) {
        Ok(state) => Ok(Some((state, entry.updated_at_ms))),
        Err(e) => {
            tracing::error!(
                side = ?side,
                entity,
                error = %e,
                "a sync ledger entry does not read: treated as absent, and replaced at the next write"
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{
        db::{Db, now_ms},
        store::{LedgerEntry, Side, SqliteStore, StateStore},
        sync::{case_to_issue::IssueLedger, issue_to_case::ledger::CaseLedger},
    };

    /// Both ledgers read an entry of another shape as absent, and their next save replaces it.
    #[tokio::test]
    async fn an_unreadable_entry_is_absent_on_both_sides_until_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(Db::open(&dir.path().join("s")).unwrap());
        for (side, entity) in [(Side::Jira, "SEC-1"), (Side::Sir, "1234567890")] {
            store
                .put_ledger(&LedgerEntry {
                    side,
                    entity: entity.into(),
                    state: json!({"summary": ["not", "a", "string"], "status": 7}),
                    updated_at_ms: now_ms(),
                })
                .await
                .unwrap();
        }
        assert_eq!(IssueLedger::load(&store, "SEC-1").await.unwrap(), None);
        let case = CaseLedger::load(&store, "1234567890").await.unwrap();
        assert_eq!(case.written, Default::default());
        assert_eq!(case.at_ms, 0);

        let ledger = IssueLedger {
            case_id: "1234567890".into(),
            summary: Some("Fixed".into()),
            ..IssueLedger::default()
        };
        ledger.save(&store, "SEC-1").await.unwrap();
        assert_eq!(
            IssueLedger::load(&store, "SEC-1").await.unwrap(),
            Some(ledger)
        );
    }
}
