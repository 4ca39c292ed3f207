use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::{
    Claim, DeadLetter, InsertOutcome, LedgerEntry, Link, Mapping, Side, StateStore, StoreError,
};
use crate::db::{Db, DbError, now_ms};

/// The state store in the embedded SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn mapping(row: &Row<'_>) -> rusqlite::Result<Mapping> {
    Ok(Mapping {
        case_id: row.get(0)?,
        issue_key: row.get(1)?,
        issue_id: row.get(2)?,
    })
}

fn dead_letter(row: &Row<'_>) -> rusqlite::Result<DeadLetter> {
    Ok(DeadLetter {
        id: row.get(0)?,
        event_type: row.get(1)?,
        payload: row.get(2)?,
        raw: row.get(3)?,
        error: row.get(4)?,
        attempts: row.get(5)?,
        failed_at_ms: row.get(6)?,
    })
}

type LinkRow = (String, String, String, String, i64);

fn link_row(row: &Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn link((kind, group, key, value, version): LinkRow) -> Result<Link, DbError> {
    Ok(Link {
        value: serde_json::from_str(&value)
            .map_err(|e| DbError::Corrupt(format!("link {kind}/{group}/{key}: {e}")))?,
        kind,
        group,
        key,
        version: u64::try_from(version).unwrap_or(0),
    })
}

const DEAD_LETTER_COLUMNS: &str = "id, event_type, payload, raw, error, attempts, failed_at";

#[async_trait]
impl StateStore for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
            .map_err(Into::into)
    }

    async fn claim_delivery(&self, key: &str, pending_for: Duration) -> Result<Claim, StoreError> {
        let key = key.to_owned();
        let expires = ms(pending_for);
        Ok(self
            .db
            .write(move |c| {
                let now = now_ms();
                let existing: Option<(String, i64)> = c
                    .query_row(
                        "SELECT state, expires_at FROM deliveries WHERE key = ?1",
                        [&key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                match existing {
                    Some((state, expires_at)) if expires_at > now => {
                        return Ok(if state == "accepted" {
                            Claim::Accepted
                        } else {
                            Claim::Pending
                        });
                    }
                    _ => {}
                }
                c.execute(
                    "INSERT INTO deliveries (key, state, expires_at) VALUES (?1, 'pending', ?2)
                     ON CONFLICT (key) DO UPDATE SET state = 'pending', expires_at = ?2",
                    params![key, now + expires],
                )?;
                Ok(Claim::New)
            })
            .await?)
    }

    async fn confirm_delivery(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = key.to_owned();
        let ttl = ms(ttl);
        Ok(self
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO deliveries (key, state, expires_at) VALUES (?1, 'accepted', ?2)
                     ON CONFLICT (key) DO UPDATE SET state = 'accepted', expires_at = ?2",
                    params![key, now_ms() + ttl],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn release_delivery(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        Ok(self
            .db
            .write(move |c| {
                c.execute(
                    "DELETE FROM deliveries WHERE key = ?1 AND state = 'pending'",
                    [&key],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn insert_mapping(&self, m: &Mapping) -> Result<InsertOutcome, StoreError> {
        let m = m.clone();
        Ok(self
            .db
            .write(move |c| {
                let inserted = c.execute(
                    "INSERT INTO mappings (case_id, issue_key, issue_id, created_at)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![m.case_id, m.issue_key, m.issue_id, now_ms()],
                )?;
                if inserted == 1 {
                    return Ok(InsertOutcome::Inserted);
                }
                let existing = c
                    .query_row(
                        "SELECT case_id, issue_key, issue_id FROM mappings
                         WHERE case_id = ?1 OR issue_key = ?2 ORDER BY case_id = ?1 DESC LIMIT 1",
                        params![m.case_id, m.issue_key],
                        mapping,
                    )
                    .optional()?
                    .ok_or_else(|| DbError::Corrupt("mapping conflict without a row".into()))?;
                Ok(InsertOutcome::Existing(existing))
            })
            .await?)
    }

    async fn mapping_by_case(&self, case_id: &str) -> Result<Option<Mapping>, StoreError> {
        let id = case_id.to_owned();
        Ok(self
            .db
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT case_id, issue_key, issue_id FROM mappings WHERE case_id = ?1",
                    [id],
                    mapping,
                )
                .optional()?)
            })
            .await?)
    }

    async fn mapping_by_issue(&self, issue_key: &str) -> Result<Option<Mapping>, StoreError> {
        let key = issue_key.to_owned();
        Ok(self
            .db
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT case_id, issue_key, issue_id FROM mappings WHERE issue_key = ?1",
                    [key],
                    mapping,
                )
                .optional()?)
            })
            .await?)
    }

    async fn list_mappings(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Mapping>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        let limit = limit.min(1000) as i64;
        Ok(self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT case_id, issue_key, issue_id FROM mappings WHERE case_id > ?1
                     ORDER BY case_id LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![after, limit], mapping)?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?)
    }

    async fn ledger(&self, side: Side, entity: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let entity = entity.to_owned();
        Ok(self
            .db
            .read(move |c| {
                let row: Option<(String, i64)> = c
                    .query_row(
                        "SELECT state, updated_at FROM ledger WHERE side = ?1 AND entity = ?2",
                        params![side.as_str(), entity],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                row.map(|(state, updated_at_ms)| {
                    Ok(LedgerEntry {
                        side,
                        entity: entity.clone(),
                        state: serde_json::from_str(&state)
                            .map_err(|e| DbError::Corrupt(format!("ledger {entity}: {e}")))?,
                        updated_at_ms,
                    })
                })
                .transpose()
            })
            .await?)
    }

    async fn put_ledger(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let side = entry.side.as_str();
        let entity = entry.entity.clone();
        let state = entry.state.to_string();
        let at = entry.updated_at_ms;
        Ok(self
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO ledger (side, entity, state, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (side, entity) DO UPDATE SET state = ?3, updated_at = ?4",
                    params![side, entity, state, at],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn link(&self, kind: &str, group: &str, key: &str) -> Result<Option<Link>, StoreError> {
        let (kind, group, key) = (kind.to_owned(), group.to_owned(), key.to_owned());
        Ok(self
            .db
            .read(move |c| {
                c.query_row(
                    "SELECT kind, grp, key, value, version FROM links
                     WHERE kind = ?1 AND grp = ?2 AND key = ?3",
                    params![kind, group, key],
                    link_row,
                )
                .optional()?
                .map(link)
                .transpose()
            })
            .await?)
    }

    async fn put_link(
        &self,
        kind: &str,
        group: &str,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let (kind, group, key) = (kind.to_owned(), group.to_owned(), key.to_owned());
        let value = value.to_string();
        Ok(self
            .db
            .write(move |c| {
                let changed = match expected {
                    None => c.execute(
                        "INSERT INTO links (kind, grp, key, value, version, updated_at)
                         VALUES (?1, ?2, ?3, ?4, 1, ?5) ON CONFLICT DO NOTHING",
                        params![kind, group, key, value, now_ms()],
                    )?,
                    Some(v) => c.execute(
                        "UPDATE links SET value = ?4, version = version + 1, updated_at = ?5
                         WHERE kind = ?1 AND grp = ?2 AND key = ?3 AND version = ?6",
                        params![kind, group, key, value, now_ms(), v as i64],
                    )?,
                };
                Ok(changed == 1)
            })
            .await?)
    }

    async fn links(&self, kind: &str, group: &str) -> Result<Vec<Link>, StoreError> {
        let (kind, group) = (kind.to_owned(), group.to_owned());
        Ok(self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT kind, grp, key, value, version FROM links
                     WHERE kind = ?1 AND grp = ?2 ORDER BY key",
                )?;
                let rows = stmt.query_map(params![kind, group], link_row)?;
                rows.map(|r| link(r?)).collect()
            })
            .await?)
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_owned();
        Ok(self
            .db
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT value FROM checkpoints WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?)
    }

    async fn put_checkpoint(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        Ok(self
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO checkpoints (name, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET value = ?2, updated_at = ?3",
                    params![name, value, now_ms()],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn checkpoints(&self, names: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let names = names.to_vec();
        Ok(self
            .db
            .read(move |c| {
                let mut found = HashMap::new();
                // Well under SQLite's limit of bound parameters per statement.
                for chunk in names.chunks(500) {
                    let marks = vec!["?"; chunk.len()].join(", ");
                    let mut stmt = c.prepare(&format!(
                        "SELECT name, value FROM checkpoints WHERE name IN ({marks})"
                    ))?;
                    let rows = stmt.query_map(params_from_iter(chunk), |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?;
                    for row in rows {
                        let (name, value) = row?;
                        found.insert(name, value);
                    }
                }
                Ok(found)
            })
            .await?)
    }

    async fn put_checkpoints(&self, entries: &[(String, String)]) -> Result<(), StoreError> {
        let entries = entries.to_vec();
        Ok(self
            .db
            .write(move |c| {
                let now = now_ms();
                let mut stmt = c.prepare_cached(
                    "INSERT INTO checkpoints (name, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET value = ?2, updated_at = ?3",
                )?;
                for (name, value) in &entries {
                    stmt.execute(params![name, value, now])?;
                }
                Ok(())
            })
            .await?)
    }

    async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (name, owner) = (name.to_owned(), owner.to_owned());
        let ttl = ms(ttl);
        Ok(self
            .db
            .write(move |c| {
                let now = now_ms();
                let changed = c.execute(
                    "INSERT INTO leases (name, owner, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET owner = ?2, expires_at = ?3
                     WHERE leases.owner = ?2 OR leases.expires_at <= ?4",
                    params![name, owner, now + ttl, now],
                )?;
                Ok(changed == 1)
            })
            .await?)
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let (name, owner) = (name.to_owned(), owner.to_owned());
        Ok(self
            .db
            .write(move |c| {
                c.execute(
                    "DELETE FROM leases WHERE name = ?1 AND owner = ?2",
                    params![name, owner],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn put_dead_letter(&self, l: &DeadLetter) -> Result<(), StoreError> {
        let l = l.clone();
        Ok(self
            .db
            .write(move |c| {
                insert_dead_letter(c, &l)?;
                Ok(())
            })
            .await?)
    }

    async fn list_dead_letters(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        let limit = limit.min(1000) as i64;
        Ok(self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id > ?1
                     ORDER BY id LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![after, limit], dead_letter)?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?)
    }

    async fn dead_letter(&self, id: &str) -> Result<Option<DeadLetter>, StoreError> {
        let id = id.to_owned();
        Ok(self
            .db
            .read(move |c| {
                Ok(c.query_row(
                    &format!("SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?1"),
                    [id],
                    dead_letter,
                )
                .optional()?)
            })
            .await?)
    }

    async fn delete_dead_letter(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        Ok(self
            .db
            .write(move |c| Ok(c.execute("DELETE FROM dead_letters WHERE id = ?1", [&id])? == 1))
            .await?)
    }

    async fn put_blob(&self, key: &str, data: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let (key, data) = (key.to_owned(), data.to_vec());
        let ttl = ms(ttl);
        Ok(self
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO blobs (key, data, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET data = ?2, expires_at = ?3",
                    params![key, data, now_ms() + ttl],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn blob(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        Ok(self
            .db
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT data FROM blobs WHERE key = ?1 AND expires_at > ?2",
                    params![key, now_ms()],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?)
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(self
            .db
            .write(move |c| {
                let now = now_ms();
                let a = c.execute("DELETE FROM deliveries WHERE expires_at <= ?1", [now])?;
                let b = c.execute("DELETE FROM leases WHERE expires_at <= ?1", [now])?;
                let d = c.execute("DELETE FROM blobs WHERE expires_at <= ?1", [now])?;
                Ok((a + b + d) as u64)
            })
            .await?)
    }
}

/// Shared with the embedded queue, which moves a failed event here in its own transaction.
pub(crate) fn insert_dead_letter(c: &rusqlite::Connection, l: &DeadLetter) -> rusqlite::Result<()> {
    c.execute(
        &format!(
            "INSERT INTO dead_letters ({DEAD_LETTER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET error = ?5, attempts = ?6, failed_at = ?7"
        ),
        params![
            l.id,
            l.event_type,
            l.payload,
            l.raw,
            l.error,
            l.attempts,
            l.failed_at_ms
        ],
    )?;
    Ok(())
}
