//! Delivery claims: a delivery id is claimed while it is being accepted, confirmed once its
//! event is on the bus, released when acceptance failed.

use super::*;

impl DynamoStore {
    pub(super) async fn claim_delivery_item(
        &self,
        key: &str,
        pending_for: Duration,
    ) -> Result<Claim, StoreError> {
        let pk = format!("DELIVERY#{key}");
        for attempt in 0..TRANSACTION_TRIES {
            let now = now_ms();
            let claim = item(
                pk.clone(),
                "DELIVERY",
                "delivery",
                [("state", s("pending"))]
                    .into_iter()
                    .chain(expiry(now + ms(pending_for))),
            );
            // An expired key may still be there (TTL deletes lazily): it must not block.
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(claim))
                .condition_expression("attribute_not_exists(pk) OR expires_at_ms <= :now")
                .expression_attribute_values(":now", n(now))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let existing = match result {
                Ok(_) => return Ok(Claim::New),
                Err(e) if is_condition_failed_put(&e) => match e.into_service_error() {
                    PutItemError::ConditionalCheckFailedException(c) => match c.item {
                        Some(item) => Some(item),
                        None => self.get(pk.clone(), "DELIVERY").await?,
                    },
                    _ => unreachable!("checked above"),
                },
                Err(e) => return Err(describe_err(e)),
            };
            match existing {
                Some(item) if opt_n(&item, EXPIRES_MS)?.is_some_and(|at| at > now_ms()) => {
                    return Ok(if get_s(&item, "state")? == "accepted" {
                        Claim::Accepted
                    } else {
                        Claim::Pending
                    });
                }
                // Released or expired in between: claim again.
                _ => jitter_pause(attempt).await,
            }
        }
        Err(StoreError::Unavailable(format!(
            "delivery {key}: claim kept conflicting"
        )))
    }

    pub(super) async fn confirm_delivery_item(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.put(item(
            format!("DELIVERY#{key}"),
            "DELIVERY",
            "delivery",
            [("state", s("accepted"))]
                .into_iter()
                .chain(expiry(now_ms() + ms(ttl))),
        ))
        .await
    }

    pub(super) async fn release_delivery_item(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self::item::key(format!("DELIVERY#{key}"), "DELIVERY")))
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
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
}
