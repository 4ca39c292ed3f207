//! Checkpoints, one item each, read and written in batches: the SIR poller keeps one per case
//! (its watermark) and reads a page's worth at a time, so a poll over N cases costs about
//! N/25 BatchGetItem calls, not N GetItem calls.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, WriteRequest};

use super::{
    DynamoStore, describe_err,
    item::{Item, get_s, key, n, s},
};
use crate::{db::now_ms, store::StoreError};

/// BatchGetItem takes at most 100 keys.
const GET_BATCH: usize = 100;
/// Rounds of resending what DynamoDB leaves unprocessed (throttling) before giving up.
const UNPROCESSED_ROUNDS: u32 = 8;

pub const SK: &str = "CHECKPOINT";

pub fn pk(name: &str) -> String {
    format!("CHECKPOINT#{name}")
}

pub fn item(name: &str, value: &str) -> Item {
    super::item::item(
        pk(name),
        SK,
        "checkpoint",
        [("value", s(value)), ("updated_at_ms", n(now_ms()))],
    )
}

impl DynamoStore {
    pub(super) async fn batch_get_checkpoints(
        &self,
        names: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut found = HashMap::new();
        for chunk in names.chunks(GET_BATCH) {
            let keys: Vec<Item> = chunk.iter().map(|name| key(pk(name), SK)).collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Backend {
                        message: e.to_string(),
                        source: Box::new(e),
                    })?,
            );
            let mut pause = Duration::from_millis(20);
            for round in 0.. {
                let Some(request) = pending.take() else { break };
                let mut out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(describe_err)?;
                for it in out
                    .responses
                    .as_mut()
                    .and_then(|r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let name = get_s(&it, "pk")?
                        .strip_prefix("CHECKPOINT#")
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            StoreError::Corrupt("checkpoint key without prefix".into())
                        })?;
                    found.insert(name, get_s(&it, "value")?);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    if round == UNPROCESSED_ROUNDS {
                        return Err(StoreError::Unavailable(
                            "checkpoint reads left unprocessed (throttled)".into(),
                        ));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
        Ok(found)
    }

    pub(super) async fn batch_put_checkpoints(
        &self,
        entries: &[(String, String)],
    ) -> Result<(), StoreError> {
        // BatchWriteItem refuses two requests for one key in a call: the last value wins.
        let mut last: HashMap<&str, &str> = HashMap::new();
        for (name, value) in entries {
            last.insert(name, value);
        }
        let requests = last
            .into_iter()
            .map(|(name, value)| {
                let put = PutRequest::builder()
                    .set_item(Some(item(name, value)))
                    .build()
                    .expect("item is set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        self.batch_write(requests).await
    }
}
