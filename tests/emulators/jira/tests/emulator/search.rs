use jira_emulator::EmulatorConfig;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn jql_filters_by_project_labels_key_and_status() {
    let (jira, client) = start().await;
    let a = client.create("alpha", &["aws-sir-1", "security-ir"]).await;
    let b = client.create("beta", &["aws-sir-2", "security-ir"]).await;
    let _c = client.create("gamma", &[]).await;
    jira.as_human().move_to(&b, "In Progress").unwrap();

    let keys = |r: &Resp| -> Vec<String> {
        r.body["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let q = |jql: &str| {
        let client = client.clone();
        let jql = jql.to_owned();
        async move {
            client
                .post(
                    "/rest/api/3/search/jql",
                    json!({"jql": jql, "fields": ["summary", "labels"]}),
                )
                .await
        }
    };
    assert_eq!(
        keys(&q(r#"project = SEC AND labels = "aws-sir-1""#).await),
        vec![a.as_str()]
    );
    assert_eq!(keys(&q(&format!("key = {b}")).await), vec![b.as_str()]);
    assert_eq!(
        keys(&q(r#"labels = security-ir AND status = "In Progress""#).await),
        vec![b.as_str()]
    );
    assert_eq!(
        keys(&q("labels in (aws-sir-1, aws-sir-2) ORDER BY key ASC").await),
        [a.clone(), b.clone()]
    );
    assert_eq!(keys(&q("project = SEC AND labels is EMPTY").await).len(), 1);
    assert_eq!(
        keys(&q("project = SEC AND statusCategory = new ORDER BY created ASC").await).len(),
        2
    );
    assert_eq!(
        keys(&q(r#"summary ~ "alp" AND project = SEC"#).await),
        vec![a.as_str()]
    );
    let r = q("project = SEC AND labels = nope").await;
    assert_eq!(r.body["issues"], json!([]));
    assert_eq!(r.body["isLast"], true);
    assert!(r.body.get("nextPageToken").is_none());
}

#[tokio::test]
async fn next_page_token_pages_through_results() {
    let (_jira, client) = start().await;
    for n in 0..7 {
        client.create(&format!("issue {n}"), &["paged"]).await;
    }
    let mut token: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut url = "/rest/api/3/search/jql?jql=labels%20%3D%20paged%20ORDER%20BY%20key%20ASC&maxResults=3&fields=summary".to_owned();
        if let Some(t) = &token {
            url.push_str(&format!("&nextPageToken={t}"));
        }
        let page = client.get(&url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.get("total").is_none(),
            "enhanced search has no total"
        );
        pages += 1;
        seen.extend(
            page.body["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_owned()),
        );
        match page.body["nextPageToken"].as_str() {
            Some(t) => {
                assert_eq!(page.body["isLast"], false);
                token = Some(t.to_owned());
            }
            None => {
                assert_eq!(page.body["isLast"], true);
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        (1..=7).map(|n| format!("SEC-{n}")).collect::<Vec<_>>()
    );

    let foreign = client
        .post(
            "/rest/api/3/search/jql",
            json!({"jql": "project = SEC", "nextPageToken": token.unwrap()}),
        )
        .await;
    assert_eq!(foreign.status, 400, "a token belongs to its query");
}

#[tokio::test]
async fn search_refuses_what_jira_refuses() {
    let (_jira, client) = start().await;
    client.create("x", &[]).await;
    for (jql, why) in [
        ("", "unbounded"),
        ("ORDER BY created", "unbounded"),
        ("project = NOPE", "unknown project"),
        ("colour = red", "unknown field"),
        ("customfield_10050 = x", "not JQL"),
        ("project = SEC AND", "syntax"),
        ("key = SEC-99", "unknown key"),
    ] {
        let r = client
            .post("/rest/api/3/search/jql", json!({"jql": jql}))
            .await;
        assert_eq!(r.status, 400, "{why}: {jql}");
        assert!(r.body["errorMessages"][0].is_string(), "{why}");
    }
    let ids_only = client
        .post("/rest/api/3/search/jql", json!({"jql": "project = SEC"}))
        .await;
    assert_eq!(
        ids_only.body["issues"][0],
        json!({"id": "10000"}),
        "no fields asked, ids only"
    );
    let custom = client
        .post(
            "/rest/api/3/search/jql",
            json!({"jql": "cf[10050] is EMPTY AND project = SEC"}),
        )
        .await;
    assert_eq!(custom.status, 200);
    assert_eq!(
        client
            .get("/rest/api/3/search?jql=project%3DSEC")
            .await
            .status,
        410,
        "the old search is gone on Cloud"
    );
    let count = client
        .post(
            "/rest/api/3/search/approximate-count",
            json!({"jql": "project = SEC"}),
        )
        .await;
    assert_eq!(count.body["count"], 1);
}

#[tokio::test]
async fn indexed_issue_properties_are_searchable() {
    let config = EmulatorConfig {
        jql_indexed_properties: vec!["sir".into()],
        ..EmulatorConfig::default()
    };
    let (_jira, client) = start_with(config).await;
    let key = client.create("tagged", &[]).await;
    client.create("untagged", &[]).await;
    client
        .put(
            &format!("/rest/api/3/issue/{key}/properties/sir"),
            json!({"caseId": "1234567890"}),
        )
        .await;
    let r = client
        .post(
            "/rest/api/3/search/jql",
            json!({"jql": "issue.property[sir].caseId = 1234567890", "fields": ["summary"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["issues"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["issues"][0]["key"], key);
    let unindexed = client
        .post(
            "/rest/api/3/search/jql",
            json!({"jql": "issue.property[other].x = 1"}),
        )
        .await;
    assert_eq!(unindexed.status, 400);
}
