//! The state store in one DynamoDB table (design: `docs/dynamodb.md`).
//!
//! Every guarantee that SQLite gets from a transaction is a conditional write here: insert-once
//! mappings are one TransactWriteItems of two conditional puts (the case item and the issue
//! item), a delivery claim is a put conditioned on absence or expiry, a lease a put conditioned
//! on absence, ownership or expiry. Reads are strongly consistent.

mod blob;
mod checkpoints;
mod dead_letters;
mod deliveries;
mod item;
mod table;

use crate::retry::Backoff;
use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::{
    Client,
    error::SdkError,
    operation::{
        delete_item::DeleteItemError, put_item::PutItemError,
        transact_write_items::TransactWriteItemsError, update_item::UpdateItemError,
    },
    types::{Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem},
};

use self::item::{EXPIRES_MS, Item, b, expiry, get_n, get_s, item, key, n, opt_b, opt_n, opt_s, s};
use super::{
    Claim, DeadLetter, InsertOutcome, LedgerEntry, Link, Mapping, Side, StateStore, StoreError,
};
use crate::{aws::describe, db::now_ms};

/// Largest payload or raw delivery kept inside a dead-letter item; larger ones go to a blob.
const INLINE_MAX: usize = 100 * 1024;
/// Conflicting transactions are retried this many times before giving up.
const TRANSACTION_TRIES: u32 = 10;

const MAPPING_PK: &str = "MAPPING";
const DEAD_LETTER_PK: &str = "DEADLETTER";

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

fn describe_err<E>(e: SdkError<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Backend {
        message: describe(&e),
        source: Box::new(e),
    }
}

/// Records of one kind and group share a partition, so listing them is one query.
fn link_pk(kind: &str, group: &str) -> String {
    format!("LINK#{kind}#{group}")
}

fn link_from(item: &Item) -> Result<Link, StoreError> {
    let value = get_s(item, "value")?;
    Ok(Link {
        kind: get_s(item, "kind")?,
        group: get_s(item, "group")?,
        key: get_s(item, "sk")?,
        value: serde_json::from_str(&value)
            .map_err(|e| StoreError::Corrupt(format!("link value: {e}")))?,
        version: u64::try_from(get_n(item, "version")?).unwrap_or(0),
    })
}

fn case_sk(case_id: &str) -> String {
    format!("CASE#{case_id}")
}

fn issue_sk(issue_key: &str) -> String {
    format!("ISSUE#{issue_key}")
}

/// The state store in a DynamoDB table; cheap to clone.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn from_sdk(sdk: &SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(describe_err)?;
        Ok(out.item)
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(describe_err)?;
        Ok(())
    }

    fn mapping(item: &Item) -> Result<Mapping, StoreError> {
        Ok(Mapping {
            case_id: get_s(item, "case_id")?,
            issue_key: get_s(item, "issue_key")?,
            issue_id: opt_s(item, "issue_id")?,
        })
    }

    /// Inline when small, otherwise in a blob named after the item (an item holds 400 KB).
    async fn spill(
        &self,
        attrs: &mut Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
        name: &'static str,
        blob_attr: &'static str,
        blob_key: String,
        data: Vec<u8>,
    ) -> Result<(), StoreError> {
        if data.len() <= INLINE_MAX {
            attrs.push((name, b(data)));
        } else {
            self.write_blob(&blob_key, &data, None).await?;
            attrs.push((blob_attr, s(blob_key)));
        }
        Ok(())
    }

    async fn unspill(
        &self,
        item: &Item,
        name: &str,
        blob_attr: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(data) = opt_b(item, name)? {
            return Ok(Some(data));
        }
        match opt_s(item, blob_attr)? {
            Some(key) => Ok(Some(self.read_blob(&key).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("blob {key} of a dead letter is missing"))
            })?)),
            None => Ok(None),
        }
    }

    async fn dead_letter_from(&self, item: &Item) -> Result<DeadLetter, StoreError> {
        let payload = self
            .unspill(item, "payload", "payload_blob")
            .await?
            .unwrap_or_default();
        Ok(DeadLetter {
            id: get_s(item, "id")?,
            event_type: get_s(item, "event_type")?,
            payload: String::from_utf8(payload)
                .map_err(|_| StoreError::Corrupt("dead letter payload is not UTF-8".into()))?,
            raw: self.unspill(item, "raw", "raw_blob").await?,
            error: get_s(item, "error")?,
            attempts: u32::try_from(get_n(item, "attempts")?).unwrap_or(u32::MAX),
            failed_at_ms: get_n(item, "failed_at_ms")?,
        })
    }
}

fn is_condition_failed_put(e: &SdkError<PutItemError>) -> bool {
    matches!(
        e.as_service_error(),
        Some(PutItemError::ConditionalCheckFailedException(_))
    )
}

fn is_condition_failed_delete(e: &SdkError<DeleteItemError>) -> bool {
    matches!(
        e.as_service_error(),
        Some(DeleteItemError::ConditionalCheckFailedException(_))
    )
}

fn is_condition_failed_update(e: &SdkError<UpdateItemError>) -> bool {
    matches!(
        e.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

/// A lost transaction race: wait a little (10 ms doubling to 320 ms, jittered) so the racers
/// do not collide again.
async fn jitter_pause(attempt: u32) {
    const CONFLICT: Backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(320));
    tokio::time::sleep(CONFLICT.delay(attempt + 1)).await;
}

#[async_trait]
impl StateStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.get("PING", "PING").await.map(|_| ())
    }

    async fn claim_delivery(&self, key: &str, pending_for: Duration) -> Result<Claim, StoreError> {
        self.claim_delivery_item(key, pending_for).await
    }

    async fn confirm_delivery(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        self.confirm_delivery_item(key, ttl).await
    }

    async fn release_delivery(&self, key: &str) -> Result<(), StoreError> {
        self.release_delivery_item(key).await
    }

    async fn insert_mapping(&self, m: &Mapping) -> Result<InsertOutcome, StoreError> {
        let now = now_ms();
        let attrs = || {
            let mut a = vec![
                ("case_id", s(m.case_id.clone())),
                ("issue_key", s(m.issue_key.clone())),
                ("created_at_ms", n(now)),
            ];
            if let Some(id) = &m.issue_id {
                a.push(("issue_id", s(id.clone())));
            }
            a
        };
        let put = |sk: String| {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(MAPPING_PK, sk, "mapping", attrs())))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("table, item and condition are set");
            TransactWriteItem::builder().put(put).build()
        };
        for attempt in 0..TRANSACTION_TRIES {
            let result = self
                .client
                .transact_write_items()
                .transact_items(put(case_sk(&m.case_id)))
                .transact_items(put(issue_sk(&m.issue_key)))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(InsertOutcome::Inserted),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(TransactWriteItemsError::TransactionCanceledException(_))
                    ) =>
                {
                    // Cancelled because the case or the issue is taken (read the winner), or
                    // because a racing transaction held the items (try again).
                    if let Some(winner) = self.mapping_by_case(&m.case_id).await? {
                        return Ok(InsertOutcome::Existing(winner));
                    }
                    if let Some(winner) = self.mapping_by_issue(&m.issue_key).await? {
                        return Ok(InsertOutcome::Existing(winner));
                    }
                    jitter_pause(attempt).await;
                }
                Err(e) => return Err(describe_err(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "mapping for case {}: transactions kept conflicting",
            m.case_id
        )))
    }

    async fn mapping_by_case(&self, case_id: &str) -> Result<Option<Mapping>, StoreError> {
        self.get(MAPPING_PK, case_sk(case_id))
            .await?
            .map(|i| Self::mapping(&i))
            .transpose()
    }

    async fn mapping_by_issue(&self, issue_key: &str) -> Result<Option<Mapping>, StoreError> {
        self.get(MAPPING_PK, issue_sk(issue_key))
            .await?
            .map(|i| Self::mapping(&i))
            .transpose()
    }

    async fn list_mappings(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Mapping>, StoreError> {
        let limit = limit.min(1000);
        let skip = after.map(case_sk);
        let mut found = Vec::new();
        let mut start = None;
        // Case items sort between `CASE#` and `CASE$` (`$` follows `#`); BETWEEN is
        // inclusive, so the `after` item itself is skipped here.
        while found.len() < limit {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(MAPPING_PK))
                .expression_attribute_values(
                    ":from",
                    s(skip.clone().unwrap_or_else(|| "CASE#".into())),
                )
                .expression_attribute_values(":to", s("CASE$"))
                .consistent_read(true)
                .limit(i32::try_from(limit - found.len() + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(describe_err)?;
            for it in out.items.unwrap_or_default() {
                if Some(get_s(&it, "sk")?) != skip && found.len() < limit {
                    found.push(Self::mapping(&it)?);
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(found)
    }

    async fn ledger(&self, side: Side, entity: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let Some(it) = self
            .get(format!("LEDGER#{}#{entity}", side.as_str()), "LEDGER")
            .await?
        else {
            return Ok(None);
        };
        let state = get_s(&it, "state")?;
        Ok(Some(LedgerEntry {
            side,
            entity: entity.to_owned(),
            state: serde_json::from_str(&state)
                .map_err(|e| StoreError::Corrupt(format!("ledger {entity}: {e}")))?,
            updated_at_ms: get_n(&it, "updated_at_ms")?,
        }))
    }

    async fn put_ledger(&self, e: &LedgerEntry) -> Result<(), StoreError> {
        self.put(item(
            format!("LEDGER#{}#{}", e.side.as_str(), e.entity),
            "LEDGER",
            "ledger",
            [
                ("side", s(e.side.as_str())),
                ("entity", s(e.entity.clone())),
                ("state", s(e.state.to_string())),
                ("updated_at_ms", n(e.updated_at_ms)),
            ],
        ))
        .await
    }

    async fn link(&self, kind: &str, group: &str, key: &str) -> Result<Option<Link>, StoreError> {
        self.get(link_pk(kind, group), key)
            .await?
            .map(|it| link_from(&it))
            .transpose()
    }

    async fn put_link(
        &self,
        kind: &str,
        group: &str,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let version = expected.map_or(1, |v| v + 1);
        let record = item(
            link_pk(kind, group),
            key,
            "link",
            [
                ("kind", s(kind)),
                ("group", s(group)),
                ("value", s(value.to_string())),
                ("version", n(i64::try_from(version).unwrap_or(i64::MAX))),
                ("updated_at_ms", n(now_ms())),
            ],
        );
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record));
        let request = match expected {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(v) => request
                .condition_expression("#version = :v")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":v", n(i64::try_from(v).unwrap_or(i64::MAX))),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed_put(&e) => Ok(false),
            Err(e) => Err(describe_err(e)),
        }
    }

    async fn links(&self, kind: &str, group: &str) -> Result<Vec<Link>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(link_pk(kind, group)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(describe_err)?;
            for it in out.items.unwrap_or_default() {
                found.push(link_from(&it)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(found)
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.get(checkpoints::pk(name), checkpoints::SK)
            .await?
            .map(|it| get_s(&it, "value"))
            .transpose()
    }

    async fn put_checkpoint(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.put(checkpoints::item(name, value)).await
    }

    async fn checkpoints(&self, names: &[String]) -> Result<HashMap<String, String>, StoreError> {
        self.batch_get_checkpoints(names).await
    }

    async fn put_checkpoints(&self, entries: &[(String, String)]) -> Result<(), StoreError> {
        self.batch_put_checkpoints(entries).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let lease = item(
            format!("LEASE#{name}"),
            "LEASE",
            "lease",
            [("owner", s(owner))]
                .into_iter()
                .chain(expiry(now + ms(ttl))),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(lease))
            .condition_expression(
                "attribute_not_exists(pk) OR #owner = :owner OR expires_at_ms <= :now",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed_put(&e) => Ok(false),
            Err(e) => Err(describe_err(e)),
        }
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("LEASE#{name}"), "LEASE")))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                if is_condition_failed_delete(&e) {
                    Ok(())
                } else {
                    Err(describe_err(e))
                }
            })
    }

    async fn put_dead_letter(&self, l: &DeadLetter) -> Result<(), StoreError> {
        self.store_dead_letter(l).await
    }

    async fn list_dead_letters(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        self.dead_letter_page(after, limit).await
    }

    async fn dead_letter(&self, id: &str) -> Result<Option<DeadLetter>, StoreError> {
        self.read_dead_letter(id).await
    }

    async fn delete_dead_letter(&self, id: &str) -> Result<bool, StoreError> {
        self.remove_dead_letter(id).await
    }

    async fn put_blob(&self, key: &str, data: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.write_blob(key, data, Some(now_ms() + ms(ttl))).await
    }

    async fn blob(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_blob(key).await
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        // DynamoDB's TTL deletes expired items; every read and condition already treats them
        // as absent, so there is nothing to do without a scan.
        Ok(0)
    }
}
