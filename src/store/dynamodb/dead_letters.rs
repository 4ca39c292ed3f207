//! Dead letters: events that exhausted their attempts, kept (large payloads spilled to blobs)
//! until an operator replays or deletes them.

use super::*;

impl DynamoStore {
    pub(super) async fn store_dead_letter(&self, l: &DeadLetter) -> Result<(), StoreError> {
        // Like SQLite: a dead letter already there keeps its payload and raw delivery and
        // takes the new error, attempts and time.
        for attempt in 0..TRANSACTION_TRIES {
            let updated = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(DEAD_LETTER_PK, l.id.clone())))
                .update_expression("SET #error = :error, attempts = :attempts, failed_at_ms = :at")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":error", s(l.error.clone()))
                .expression_attribute_values(":attempts", n(i64::from(l.attempts)))
                .expression_attribute_values(":at", n(l.failed_at_ms))
                .send()
                .await;
            match updated {
                Ok(_) => return Ok(()),
                Err(e) if is_condition_failed_update(&e) => {}
                Err(e) => return Err(describe_err(e)),
            }

            let mut attrs = vec![
                ("id", s(l.id.clone())),
                ("event_type", s(l.event_type.clone())),
                ("error", s(l.error.clone())),
                ("attempts", n(i64::from(l.attempts))),
                ("failed_at_ms", n(l.failed_at_ms)),
            ];
            let blob_key = |part: &str| format!("deadletter/{}/{part}", l.id);
            self.spill(
                &mut attrs,
                "payload",
                "payload_blob",
                blob_key("payload"),
                l.payload.clone().into_bytes(),
            )
            .await?;
            if let Some(raw) = &l.raw {
                self.spill(&mut attrs, "raw", "raw_blob", blob_key("raw"), raw.clone())
                    .await?;
            }
            let created = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item(
                    DEAD_LETTER_PK,
                    l.id.clone(),
                    "dead_letter",
                    attrs,
                )))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            match created {
                Ok(_) => return Ok(()),
                // Another writer created it in between: update theirs.
                Err(e) if is_condition_failed_put(&e) => jitter_pause(attempt).await,
                Err(e) => return Err(describe_err(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "dead letter {}: writes kept conflicting",
            l.id
        )))
    }

    pub(super) async fn dead_letter_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let limit = limit.min(1000);
        let mut found = Vec::new();
        let mut start = None;
        while found.len() < limit {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(DEAD_LETTER_PK))
                .consistent_read(true)
                .limit(i32::try_from(limit - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start);
            query = match after {
                Some(after) => query
                    .key_condition_expression("pk = :pk AND sk > :after")
                    .expression_attribute_values(":after", s(after)),
                None => query.key_condition_expression("pk = :pk"),
            };
            let out = query.send().await.map_err(describe_err)?;
            for it in out.items.unwrap_or_default() {
                found.push(self.dead_letter_from(&it).await?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(found)
    }

    pub(super) async fn read_dead_letter(
        &self,
        id: &str,
    ) -> Result<Option<DeadLetter>, StoreError> {
        match self.get(DEAD_LETTER_PK, id).await? {
            Some(it) => Ok(Some(self.dead_letter_from(&it).await?)),
            None => Ok(None),
        }
    }

    pub(super) async fn remove_dead_letter(&self, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(DEAD_LETTER_PK, id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(describe_err)?;
        let Some(old) = out.attributes.filter(|a| !a.is_empty()) else {
            return Ok(false);
        };
        for attr in ["payload_blob", "raw_blob"] {
            if let Some(key) = opt_s(&old, attr)? {
                self.delete_blob(&key).await?;
            }
        }
        Ok(true)
    }
}
