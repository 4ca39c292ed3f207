//! The DynamoDB state store against moto: the whole store contract, plus what only a
//! conditional-write store must show.

use std::{sync::Arc, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use sir_jira_bridge::store::{Claim, InsertOutcome, Mapping, StateStore};

use crate::{helpers::*, store_contract};

#[tokio::test]
async fn dynamodb_store_meets_the_contract() {
    let sdk = moto_sdk().await;
    store_contract::all(Arc::new(dynamo_store(&sdk).await)).await;
}

#[tokio::test]
async fn twenty_concurrent_creators_of_one_mapping_make_one_winner() {
    let sdk = moto_sdk().await;
    let store = Arc::new(dynamo_store(&sdk).await);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let m = Mapping {
                    case_id: "9876543210".into(),
                    issue_key: format!("SEC-{}", 500 + i),
                    issue_id: Some(format!("{}", 30000 + i)),
                };
                store.insert_mapping(&m).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let winners: Vec<_> = outcomes
        .iter()
        .filter(|o| **o == InsertOutcome::Inserted)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = store.mapping_by_case("9876543210").await.unwrap().unwrap();
    assert!(
        outcomes.iter().all(|o| matches!(o, InsertOutcome::Inserted)
            || *o == InsertOutcome::Existing(winner.clone()))
    );
    // Exactly one issue item exists: the losers' issues stay free.
    assert_eq!(
        store.mapping_by_issue(&winner.issue_key).await.unwrap(),
        Some(winner.clone())
    );
    for i in 0..20 {
        let key = format!("SEC-{}", 500 + i);
        if key != winner.issue_key {
            assert_eq!(store.mapping_by_issue(&key).await.unwrap(), None);
        }
    }
}

/// TTL deletes lazily: an item past `expires_at` can still be read back, and must not block.
#[tokio::test]
async fn an_expired_key_still_in_the_table_does_not_block() {
    let sdk = moto_sdk().await;
    let store = dynamo_store(&sdk).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let past = sir_jira_bridge::db::now_ms() - 60_000;
    for (pk, sk, state) in [
        ("DELIVERY#stale", "DELIVERY", Some("accepted")),
        ("LEASE#poller", "LEASE", None),
    ] {
        let mut put = client
            .put_item()
            .table_name(store.table())
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S(sk.into()))
            .item("expires_at_ms", AttributeValue::N(past.to_string()))
            .item("expires_at", AttributeValue::N((past / 1000).to_string()))
            .item("owner", AttributeValue::S("crashed-replica".into()));
        if let Some(state) = state {
            put = put.item("state", AttributeValue::S(state.into()));
        }
        put.send().await.unwrap();
    }
    assert_eq!(
        store
            .claim_delivery("stale", Duration::from_secs(30))
            .await
            .unwrap(),
        Claim::New
    );
    assert!(
        store
            .acquire_lease("poller", "me", Duration::from_secs(30))
            .await
            .unwrap()
    );
    // TTL is on, on `expires_at`.
    let ttl = client
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let spec = ttl.time_to_live_description.unwrap();
    assert_eq!(spec.attribute_name.as_deref(), Some("expires_at"));
}

#[tokio::test]
async fn a_missing_table_is_unavailable_not_a_panic() {
    let sdk = moto_sdk().await;
    let store = sir_jira_bridge::store::DynamoStore::from_sdk(&sdk, unique("missing"));
    let err = store.ping().await.unwrap_err().to_string();
    assert!(err.contains("unavailable"), "{err}");
}
