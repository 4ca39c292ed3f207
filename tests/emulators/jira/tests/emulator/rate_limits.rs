use jira_emulator::{RateLimitConfig, RateLimitPolicy, RateLimitScope};

use crate::helpers::*;

#[tokio::test]
async fn every_other_call_is_429_with_jiras_headers_including_retry_after_zero() {
    let (jira, client) = start().await;
    jira.set_rate_limit(RateLimitConfig {
        policy: RateLimitPolicy::EveryKth { k: 2 },
        retry_after_secs: 0,
        reason: "jira-per-issue-on-write".into(),
        ..RateLimitConfig::default()
    });
    let first = client.get("/rest/api/3/myself").await;
    assert_eq!(first.status, 200);
    assert!(first.header("x-ratelimit-limit").is_some());
    assert!(first.header("x-ratelimit-remaining").is_some());
    let second = client.get("/rest/api/3/myself").await;
    assert_eq!(second.status, 429);
    assert_eq!(second.header("retry-after"), Some("0"));
    assert_eq!(second.header("x-ratelimit-remaining"), Some("0"));
    assert!(second.header("x-ratelimit-limit").is_some());
    assert_eq!(
        second.header("ratelimit-reason"),
        Some("jira-per-issue-on-write")
    );
    let reset = second.header("x-ratelimit-reset").unwrap();
    assert!(
        reset.len() == 17 && reset.ends_with('Z') && reset.contains('T'),
        "yyyy-MM-ddTHH:mmZ, got {reset}"
    );
    assert!(second.body["errorMessages"].is_array());
    assert_eq!(client.get("/rest/api/3/myself").await.status, 200);

    let statuses: Vec<u16> = jira.requests().all().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 429, 200], "refusals are logged too");

    jira.clear_rate_limit();
    for _ in 0..4 {
        let r = client.get("/rest/api/3/myself").await;
        assert_eq!(r.status, 200);
        assert!(r.header("x-ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn a_budget_per_window_and_a_writes_only_scope() {
    let (jira, client) = start().await;
    jira.set_rate_limit(RateLimitConfig {
        policy: RateLimitPolicy::Budget {
            limit: 3,
            window_ms: 60_000,
        },
        retry_after_secs: 7,
        ..RateLimitConfig::default()
    });
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(client.get("/rest/api/3/myself").await.status);
        }
        v
    };
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    assert_eq!(
        client.get("/rest/api/3/myself").await.header("retry-after"),
        Some("7")
    );

    jira.set_rate_limit(RateLimitConfig {
        policy: RateLimitPolicy::Next { n: 1 },
        scope: RateLimitScope::Writes,
        ..RateLimitConfig::default()
    });
    assert_eq!(
        client.get("/rest/api/3/myself").await.status,
        200,
        "reads are not counted"
    );
    let r = client
        .post("/rest/api/3/issue", serde_json::json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "x"}}))
        .await;
    assert_eq!(r.status, 429);
    assert!(jira.issues().is_empty(), "a refused write changes nothing");
    client.create("retried", &[]).await;
}

#[tokio::test]
async fn the_503_switch_answers_with_retry_after() {
    let (jira, client) = start().await;
    jira.unavailable(RateLimitPolicy::Next { n: 2 }, 3);
    let r = client.get("/rest/api/3/myself").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("3"));
    assert_eq!(client.get("/rest/api/3/myself").await.status, 503);
    assert_eq!(client.get("/rest/api/3/myself").await.status, 200);
}
