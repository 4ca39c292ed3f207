use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_log_counts_calls_and_writes() {
    let (jira, client) = start().await;
    let key = client.create("logged", &[]).await;
    client.get(&format!("/rest/api/3/issue/{key}")).await;
    client
        .post("/rest/api/3/search/jql", json!({"jql": "project = SEC"}))
        .await;
    client
        .put(
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"summary": "y"}}),
        )
        .await;
    client.with_auth(None).get("/rest/api/3/myself").await;

    let log = jira.requests();
    assert_eq!(log.count(), 5);
    let writes: Vec<String> = log
        .writes()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        writes,
        [
            "POST /rest/api/3/issue",
            format!("PUT /rest/api/3/issue/{key}").as_str()
        ],
        "search is a read"
    );
    assert_eq!(log.with_prefix("/rest/api/3/issue").len(), 3);
    assert_eq!(log.matching("GET", "/rest/api/3/issue/").len(), 1);
    let anonymous = log.all().into_iter().last().unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.account, None);
    assert_eq!(
        log.all()[0].account.as_deref(),
        Some(jira.integration_account().account_id.as_str())
    );

    log.reset();
    assert_eq!(log.count(), 0);
    jira.as_human().add_comment(&key, "UI change").unwrap();
    assert_eq!(log.write_count(), 0, "UI actions are not API calls");
    client
        .get(&format!(
            "/rest/api/3/issue/{key}/comment?startAt=0&maxResults=5"
        ))
        .await;
    let r = &log.all()[0];
    assert_eq!(r.query.as_deref(), Some("startAt=0&maxResults=5"));
    assert_eq!(log.write_count(), 0);
}
