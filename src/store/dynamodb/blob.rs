//! Byte strings larger than an item (400 KB): split into parts of one partition key, written
//! with BatchWriteItem and read back with one consistent Query. Each write stamps its parts
//! with a fresh version, so a reader never mixes parts of two writes.

use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};

use super::{
    DynamoStore, describe_err,
    item::{EXPIRES_MS, Item, PK, SK, b, expiry, get_n, get_s, item, n, opt_b, opt_n, s},
};
use crate::{db::now_ms, store::StoreError};

/// Bytes per part: well under the item limit, leaving room for the key and attributes.
pub const PART_BYTES: usize = 300 * 1024;
/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

fn blob_pk(key: &str) -> String {
    format!("BLOB#{key}")
}

impl DynamoStore {
    /// Writes `data` under `key`; `expires_ms` of `None` keeps it until deleted.
    pub(super) async fn write_blob(
        &self,
        key: &str,
        data: &[u8],
        expires_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let version = uuid::Uuid::new_v4().to_string();
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(PART_BYTES).collect()
        };
        let parts = chunks.len() as i64;
        let requests = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut it = item(
                    blob_pk(key),
                    format!("PART#{i:05}"),
                    "blob",
                    [
                        ("data", b(chunk.to_vec())),
                        ("parts", n(parts)),
                        ("version", s(version.clone())),
                    ],
                );
                if let Some(at) = expires_ms {
                    it.extend(expiry(at).map(|(k, v)| (k.to_owned(), v)));
                }
                let put = PutRequest::builder()
                    .set_item(Some(it))
                    .build()
                    .expect("item is set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        self.batch_write(requests).await
    }

    pub(super) async fn read_blob(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let items = self.query_all(blob_pk(key), None).await?;
        let Some(first) = items.first() else {
            return Ok(None);
        };
        if get_s(first, SK)? != "PART#00000" {
            return Err(StoreError::Corrupt(format!(
                "blob {key}: first part missing"
            )));
        }
        if opt_n(first, EXPIRES_MS)?.is_some_and(|at| at <= now_ms()) {
            return Ok(None);
        }
        let (parts, version) = (get_n(first, "parts")?, get_s(first, "version")?);
        let mut data = Vec::new();
        let mut found = 0;
        for it in &items {
            if get_s(it, "version")? == version && found < parts {
                data.extend(opt_b(it, "data")?.unwrap_or_default());
                found += 1;
            }
        }
        if found != parts {
            return Err(StoreError::Corrupt(format!(
                "blob {key}: {found} of {parts} parts"
            )));
        }
        Ok(Some(data))
    }

    pub(super) async fn delete_blob(&self, key: &str) -> Result<(), StoreError> {
        let items = self.query_all(blob_pk(key), Some("pk, sk")).await?;
        let requests = items
            .into_iter()
            .map(|it| {
                let key: Item = it.into_iter().filter(|(k, _)| k == PK || k == SK).collect();
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .expect("key is set");
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        self.batch_write(requests).await
    }

    /// Every item of partition `pk` in sort-key order, strongly consistent.
    async fn query_all(
        &self,
        pk: String,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(describe_err)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Sends `requests` in batches of 25, resending what DynamoDB leaves unprocessed.
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for batch in requests.chunks(BATCH) {
            let mut pending = batch.to_vec();
            let mut pause = Duration::from_millis(20);
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(describe_err)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(StoreError::Unavailable(format!(
                        "{} writes left unprocessed (throttled)",
                        pending.len()
                    )));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
        Ok(())
    }
}
