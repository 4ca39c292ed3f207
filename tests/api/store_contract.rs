//! The behaviour every `StateStore` must show. Each check takes `&dyn StateStore`; an
//! implementation joins by adding one `#[tokio::test]` that builds it and calls `all`.
//! SQLite runs here; DynamoDB (in moto) runs it in `dynamodb.rs`.

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
    one_issue_cannot_mirror_two_racing_cases(store.clone()).await;
    mappings_list_in_pages(store.as_ref()).await;
    ledger(store.as_ref()).await;
    links_compare_and_set(store.as_ref()).await;
    racing_link_creators_have_one_winner(store.clone()).await;
    checkpoints(store.as_ref()).await;
    checkpoints_in_batches(store.as_ref()).await;
    leases(store.as_ref()).await;
    dead_letters(store.as_ref()).await;
    blobs(store.as_ref()).await;
    store.ping().await.unwrap();
}

#[tokio::test]
async fn sqlite_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("s.sqlite3")).unwrap();
    let store = Arc::new(SqliteStore::new(db));
    all(store.clone()).await;

    // SQLite expires rows by purging (DynamoDB's TTL does it on its own).
    assert_eq!(
        store
            .claim_delivery("short", Duration::from_millis(1))
            .await
            .unwrap(),
        Claim::New
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(store.purge_expired().await.unwrap() >= 1);
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

    // Purging never brings an expired key back, whether or not it removes rows itself.
    assert_eq!(
        s.claim_delivery("d5", Duration::from_millis(1))
            .await
            .unwrap(),
        Claim::New
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    s.purge_expired().await.unwrap();
    assert_eq!(s.claim_delivery("d5", long).await.unwrap(), Claim::New);
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

/// Twenty creators race for one case, each with its own issue: one wins, all read the winner.
async fn mappings_are_insert_once(s: Arc<dyn StateStore>) {
    let tasks: Vec<_> = (0..20)
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

/// Twenty cases race for one issue: one wins; the others cannot map that issue, read the
/// winner, and leave no half-written mapping of their own case behind.
async fn one_issue_cannot_mirror_two_racing_cases(s: Arc<dyn StateStore>) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let m = Mapping {
                    case_id: format!("{}", 3_000_000_000u64 + i),
                    issue_key: "SEC-7".into(),
                    issue_id: None,
                };
                (m.clone(), s.insert_mapping(&m).await.unwrap())
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (m, InsertOutcome::Inserted) => winners.push(m),
            (m, InsertOutcome::Existing(seen)) => losers.push((m, seen)),
        }
    }
    assert_eq!(winners.len(), 1);
    for (mine, seen) in losers {
        assert_eq!(seen, winners[0]);
        assert_eq!(s.mapping_by_case(&mine.case_id).await.unwrap(), None);
    }
}

async fn mappings_list_in_pages(s: &dyn StateStore) {
    for i in 0..5 {
        let m = Mapping {
            case_id: format!("50000000{i:02}"),
            issue_key: format!("LIST-{i}"),
            issue_id: None,
        };
        assert_eq!(s.insert_mapping(&m).await.unwrap(), InsertOutcome::Inserted);
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_mappings(after.as_deref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.case_id.clone());
        seen.extend(page);
    }
    let ids: Vec<_> = seen.iter().map(|m| m.case_id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by case id");
    for i in 0..5 {
        assert!(ids.contains(&format!("50000000{i:02}").as_str()));
    }
    // Every mapping is listed once, by its case: the issue side is not listed again.
    assert_eq!(
        seen.len(),
        ids.iter().collect::<std::collections::HashSet<_>>().len()
    );
    assert!(seen.iter().any(|m| m.issue_key == "LIST-3"));
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

async fn links_compare_and_set(s: &dyn StateStore) {
    let kind = "jira.comment";
    assert!(
        s.link(kind, "1234567890", "000001")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.links(kind, "1234567890").await.unwrap().is_empty());

    let v1 = json!({"jira": "10001", "hash": "a"});
    assert!(
        s.put_link(kind, "1234567890", "000001", &v1, None)
            .await
            .unwrap()
    );
    // Creating again is refused and changes nothing.
    assert!(
        !s.put_link(kind, "1234567890", "000001", &json!({"x": 1}), None)
            .await
            .unwrap()
    );
    let l = s.link(kind, "1234567890", "000001").await.unwrap().unwrap();
    assert_eq!((l.value.clone(), l.version), (v1, 1));
    assert_eq!(
        (l.kind.as_str(), l.group.as_str(), l.key.as_str()),
        (kind, "1234567890", "000001")
    );

    // Compare-and-set on the version: a stale writer loses.
    let v2 = json!({"jira": "10001", "hash": "b"});
    assert!(
        s.put_link(kind, "1234567890", "000001", &v2, Some(1))
            .await
            .unwrap()
    );
    assert!(
        !s.put_link(kind, "1234567890", "000001", &json!({}), Some(1))
            .await
            .unwrap()
    );
    assert!(
        !s.put_link(kind, "1234567890", "000404", &json!({}), Some(1))
            .await
            .unwrap()
    );
    let l = s.link(kind, "1234567890", "000001").await.unwrap().unwrap();
    assert_eq!((l.value, l.version), (v2, 2));

    // Listing is per kind and group, in key order.
    for key in ["000003", "000002"] {
        assert!(
            s.put_link(kind, "1234567890", key, &json!({"k": key}), None)
                .await
                .unwrap()
        );
    }
    s.put_link(kind, "1234567891", "000009", &json!({}), None)
        .await
        .unwrap();
    s.put_link("jira.attachment", "1234567890", "a", &json!({}), None)
        .await
        .unwrap();
    let keys: Vec<String> = s
        .links(kind, "1234567890")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(keys, ["000001", "000002", "000003"]);
}

/// Ten writers race to create one record, then to update it from the same version.
async fn racing_link_creators_have_one_winner(s: Arc<dyn StateStore>) {
    let race = |expected: Option<u64>| {
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.put_link("claim", "race", "k", &json!({"owner": i}), expected)
                        .await
                        .unwrap()
                })
            })
            .collect();
        async move {
            let mut won = 0;
            for t in tasks {
                won += usize::from(t.await.unwrap());
            }
            won
        }
    };
    assert_eq!(race(None).await, 1);
    assert_eq!(race(Some(1)).await, 1);
    assert_eq!(
        s.link("claim", "race", "k").await.unwrap().unwrap().version,
        2
    );
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

/// Many checkpoints read and written at once (the SIR poller's per-case watermarks): more
/// than one DynamoDB batch each way, absent names left out, the last write winning.
async fn checkpoints_in_batches(s: &dyn StateStore) {
    let names: Vec<String> = (0..130)
        .map(|i| format!("sir.case.{}.last_updated", 1_000_000_000u64 + i))
        .collect();
    assert!(s.checkpoints(&names).await.unwrap().is_empty());
    let entries: Vec<(String, String)> = names
        .iter()
        .take(120)
        .enumerate()
        .map(|(i, n)| (n.clone(), format!("2026-11-26T00:00:{:02}Z", i % 60)))
        .collect();
    s.put_checkpoints(&entries).await.unwrap();
    s.put_checkpoints(&[
        (names[0].clone(), "first".into()),
        (names[0].clone(), "second".into()),
    ])
    .await
    .unwrap();
    s.put_checkpoints(&[]).await.unwrap();
    let found = s.checkpoints(&names).await.unwrap();
    assert_eq!(found.len(), 120, "the last ten were never written");
    assert_eq!(found[&names[0]], "second");
    assert_eq!(found[&names[119]], "2026-11-26T00:00:59Z");
    assert!(!found.contains_key(&names[125]));
    // One name, read either way, agrees.
    assert_eq!(
        s.checkpoint(&names[1]).await.unwrap().as_deref(),
        Some("2026-11-26T00:00:01Z")
    );
    assert!(s.checkpoints(&[]).await.unwrap().is_empty());
}

async fn leases(s: &dyn StateStore) {
    // Long enough that a slow store (an emulator under a parallel suite) answers within it.
    let ttl = Duration::from_millis(600);
    assert!(s.acquire_lease("poll", "a", ttl).await.unwrap());
    assert!(!s.acquire_lease("poll", "b", ttl).await.unwrap());
    assert!(
        s.acquire_lease("poll", "a", ttl).await.unwrap(),
        "owner renews"
    );
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
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

    // A dead letter may carry a raw delivery of a megabyte (larger than a DynamoDB item).
    // Failing again keeps its payload and raw delivery and records the new error.
    let big = DeadLetter {
        id: "evt-9".into(),
        event_type: "jira.comment.created".into(),
        payload: format!("{{\"text\":\"{}\"}}", "p".repeat(300 * 1024)),
        raw: Some((0..1024 * 1024).map(|i| (i % 251) as u8).collect()),
        error: "first".into(),
        attempts: 1,
        failed_at_ms: 5000,
    };
    s.put_dead_letter(&big).await.unwrap();
    s.put_dead_letter(&DeadLetter {
        raw: None,
        payload: "{}".into(),
        error: "second".into(),
        attempts: 2,
        failed_at_ms: 6000,
        ..big.clone()
    })
    .await
    .unwrap();
    let back = s.dead_letter("evt-9").await.unwrap().unwrap();
    assert_eq!(back.payload, big.payload);
    assert_eq!(back.raw, big.raw);
    assert_eq!((back.error.as_str(), back.attempts), ("second", 2));
    let listed = s.list_dead_letters(Some("evt-4"), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].raw, big.raw);
    assert!(s.delete_dead_letter("evt-9").await.unwrap());
    assert!(s.dead_letter("evt-9").await.unwrap().is_none());
}

async fn blobs(s: &dyn StateStore) {
    let hour = Duration::from_secs(3600);
    assert_eq!(s.blob("raw/none").await.unwrap(), None);
    s.put_blob("raw/a", b"first", hour).await.unwrap();
    s.put_blob("raw/a", b"second", hour).await.unwrap();
    assert_eq!(
        s.blob("raw/a").await.unwrap().as_deref(),
        Some(&b"second"[..])
    );
    s.put_blob("raw/empty", b"", hour).await.unwrap();
    assert_eq!(s.blob("raw/empty").await.unwrap(), Some(vec![]));

    // Larger than one DynamoDB item: comes back whole, in order; a shorter overwrite wins.
    let big: Vec<u8> = (0..1024 * 1024 + 7).map(|i| (i % 253) as u8).collect();
    s.put_blob("event/big", &big, hour).await.unwrap();
    assert_eq!(s.blob("event/big").await.unwrap(), Some(big.clone()));
    s.put_blob("event/big", &big[..1000], hour).await.unwrap();
    assert_eq!(
        s.blob("event/big").await.unwrap().as_deref(),
        Some(&big[..1000])
    );

    // Expired blobs read as absent even while still stored.
    s.put_blob("raw/short", b"x", Duration::from_millis(20))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(s.blob("raw/short").await.unwrap(), None);
}
