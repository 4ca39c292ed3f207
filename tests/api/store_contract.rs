//! The behaviour every `StateStore` must show. Each check takes `&dyn StateStore`; an
//! implementation joins by adding one `#[tokio::test]` that builds it and calls `all`.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use sir_jira_bridge::{
    db::Db,
    store::{
        Claim, DeadLetter, InsertOutcome, LedgerEntry, Mapping, Side, SqliteStore, StateStore,
    },
};

pub async fn all(store: Arc<dyn StateStore>) {
    delivery_dedupe(store.as_ref()).await;
    concurrent_claims_have_one_winner(store.clone()).await;
    mappings_are_insert_once(store.clone()).await;
    ledger(store.as_ref()).await;
    checkpoints(store.as_ref()).await;
    leases(store.as_ref()).await;
    dead_letters(store.as_ref()).await;
    store.ping().await.unwrap();
}

#[tokio::test]
async fn sqlite_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("s.sqlite3")).unwrap();
    all(Arc::new(SqliteStore::new(db))).await;
}

async fn delivery_dedupe(s: &dyn StateStore) {
    let long = Duration::from_secs(60);
    assert_eq!(s.claim_delivery("d1", long).await.unwrap(), Claim::New);
    assert_eq!(s.claim_delivery("d1", long).await.unwrap(), Claim::Pending);
    s.confirm_delivery("d1", long).await.unwrap();
    assert_eq!(s.claim_delivery("d1", long).await.unwrap(), Claim::Accepted);
    // Release only forgets pending claims, never accepted ones.
    s.release_delivery("d1").await.unwrap();
    assert_eq!(s.claim_delivery("d1", long).await.unwrap(), Claim::Accepted);

    // A released claim lets the retry through.
    assert_eq!(s.claim_delivery("d2", long).await.unwrap(), Claim::New);
    s.release_delivery("d2").await.unwrap();
    assert_eq!(s.claim_delivery("d2", long).await.unwrap(), Claim::New);

    // An abandoned pending claim expires; so does an accepted key past its TTL, even while
    // its row is still present.
    assert_eq!(
        s.claim_delivery("d3", Duration::from_millis(30))
            .await
            .unwrap(),
        Claim::New
    );
    assert_eq!(s.claim_delivery("d4", long).await.unwrap(), Claim::New);
    s.confirm_delivery("d4", Duration::from_millis(30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(s.claim_delivery("d3", long).await.unwrap(), Claim::New);
    assert_eq!(s.claim_delivery("d4", long).await.unwrap(), Claim::New);

    assert_eq!(
        s.claim_delivery("d5", Duration::from_millis(1))
            .await
            .unwrap(),
        Claim::New
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(s.purge_expired().await.unwrap() >= 1);
}

async fn concurrent_claims_have_one_winner(s: Arc<dyn StateStore>) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.claim_delivery("race", Duration::from_secs(60))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut new = 0;
    for t in tasks {
        if t.await.unwrap() == Claim::New {
            new += 1;
        }
    }
    assert_eq!(new, 1);
}

async fn mappings_are_insert_once(s: Arc<dyn StateStore>) {
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let m = Mapping {
                    case_id: "1234567890".into(),
                    issue_key: format!("SEC-{}", 100 + i),
                    issue_id: Some(format!("{}", 20000 + i)),
                };
                (m.clone(), s.insert_mapping(&m).await.unwrap())
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut existing = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (m, InsertOutcome::Inserted) => winners.push(m),
            (_, InsertOutcome::Existing(m)) => existing.push(m),
        }
    }
    assert_eq!(winners.len(), 1);
    let winner = winners.remove(0);
    assert!(
        existing.iter().all(|m| *m == winner),
        "losers read the winner"
    );

    assert_eq!(
        s.mapping_by_case("1234567890").await.unwrap(),
        Some(winner.clone())
    );
    assert_eq!(
        s.mapping_by_issue(&winner.issue_key).await.unwrap(),
        Some(winner.clone())
    );
    assert_eq!(s.mapping_by_issue("SEC-999").await.unwrap(), None);
    assert_eq!(s.mapping_by_case("999").await.unwrap(), None);

    // The issue is taken too: another case cannot claim it.
    let other = Mapping {
        case_id: "2234567890".into(),
        issue_key: winner.issue_key.clone(),
        issue_id: None,
    };
    assert_eq!(
        s.insert_mapping(&other).await.unwrap(),
        InsertOutcome::Existing(winner)
    );
}

async fn ledger(s: &dyn StateStore) {
    assert!(s.ledger(Side::Jira, "SEC-1").await.unwrap().is_none());
    let mut entry = LedgerEntry {
        side: Side::Jira,
        entity: "SEC-1".into(),
        state: json!({"summary": "a", "status": "To Do"}),
        updated_at_ms: 1,
    };
    s.put_ledger(&entry).await.unwrap();
    entry.state = json!({"summary": "b", "status": "Done"});
    entry.updated_at_ms = 2;
    s.put_ledger(&entry).await.unwrap();
    assert_eq!(s.ledger(Side::Jira, "SEC-1").await.unwrap(), Some(entry));
    // Sides are separate.
    assert!(s.ledger(Side::Sir, "SEC-1").await.unwrap().is_none());
}

async fn checkpoints(s: &dyn StateStore) {
    assert_eq!(s.checkpoint("poller").await.unwrap(), None);
    s.put_checkpoint("poller", "2026-11-26T00:00:00Z")
        .await
        .unwrap();
    s.put_checkpoint("poller", "2026-11-26T00:01:00Z")
        .await
        .unwrap();
    assert_eq!(
        s.checkpoint("poller").await.unwrap().as_deref(),
        Some("2026-11-26T00:01:00Z")
    );
}

async fn leases(s: &dyn StateStore) {
    let ttl = Duration::from_millis(80);
    assert!(s.acquire_lease("poll", "a", ttl).await.unwrap());
    assert!(!s.acquire_lease("poll", "b", ttl).await.unwrap());
    assert!(
        s.acquire_lease("poll", "a", ttl).await.unwrap(),
        "owner renews"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(
        s.acquire_lease("poll", "b", ttl).await.unwrap(),
        "expired lease is taken over"
    );
    s.release_lease("poll", "a").await.unwrap(); // not a's any more: no effect
    assert!(!s.acquire_lease("poll", "a", ttl).await.unwrap());
    s.release_lease("poll", "b").await.unwrap();
    assert!(s.acquire_lease("poll", "a", ttl).await.unwrap());
}

async fn dead_letters(s: &dyn StateStore) {
    for i in 0..5 {
        s.put_dead_letter(&DeadLetter {
            id: format!("evt-{i}"),
            event_type: "jira.issue.updated".into(),
            payload: format!("{{\"n\":{i}}}"),
            raw: (i % 2 == 0).then(|| vec![i as u8]),
            error: "peer said no".into(),
            attempts: 8,
            failed_at_ms: 1000 + i,
        })
        .await
        .unwrap();
    }
    let page1 = s.list_dead_letters(None, 2).await.unwrap();
    let page2 = s.list_dead_letters(Some(&page1[1].id), 2).await.unwrap();
    let page3 = s.list_dead_letters(Some(&page2[1].id), 2).await.unwrap();
    let ids: Vec<_> = [page1, page2, page3]
        .concat()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(ids, ["evt-0", "evt-1", "evt-2", "evt-3", "evt-4"]);
    let one = s.dead_letter("evt-2").await.unwrap().unwrap();
    assert_eq!(one.raw, Some(vec![2]));
    assert_eq!(one.error, "peer said no");
    assert!(s.delete_dead_letter("evt-2").await.unwrap());
    assert!(!s.delete_dead_letter("evt-2").await.unwrap());
    assert!(s.dead_letter("evt-2").await.unwrap().is_none());
}
