use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn thirty_comments_page_with_start_at_max_results_and_total() {
    let (jira, client) = start().await;
    let key = client.create("chatty", &[]).await;
    for n in 0..30 {
        let r = client
            .post(
                &format!("/rest/api/3/issue/{key}/comment"),
                json!({"body": adf(&format!("comment {n}"))}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let mut seen = Vec::new();
    let mut start = 0;
    loop {
        let page = client
            .get(&format!(
                "/rest/api/3/issue/{key}/comment?startAt={start}&maxResults=7"
            ))
            .await;
        assert_eq!(page.body["total"], 30);
        assert_eq!(page.body["startAt"], start);
        let comments = page.body["comments"].as_array().unwrap();
        if comments.is_empty() {
            break;
        }
        seen.extend(comments.iter().map(|c| {
            c["body"]["content"][0]["content"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
        start += comments.len();
    }
    assert_eq!(seen.len(), 30);
    assert_eq!(seen[0], "comment 0");
    assert_eq!(seen[29], "comment 29");

    // Pages are capped whatever maxResults asks for, as Jira caps them.
    jira.set_limits(|l| l.comments_page_cap = 10);
    let capped = client
        .get(&format!("/rest/api/3/issue/{key}/comment?maxResults=1000"))
        .await;
    assert_eq!(capped.body["maxResults"], 10);
    assert_eq!(capped.body["comments"].as_array().unwrap().len(), 10);
    let newest = client
        .get(&format!(
            "/rest/api/3/issue/{key}/comment?orderBy=-created&maxResults=1"
        ))
        .await;
    assert_eq!(
        newest.body["comments"][0]["body"]["content"][0]["content"][0]["text"],
        "comment 29"
    );
}

#[tokio::test]
async fn update_and_delete_comments() {
    let (jira, client) = start().await;
    let key = client.create("edits", &[]).await;
    let created = client
        .post(
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": adf("first")}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["author"]["accountId"],
        jira.integration_account().account_id
    );
    assert!(
        created.body["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/comment/{id}"))
    );

    let human = jira.as_human().add_comment(&key, "from a person").unwrap();
    let updated = client
        .put(
            &format!("/rest/api/3/issue/{key}/comment/{id}"),
            json!({"body": adf("second")}),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(
        updated.body["body"]["content"][0]["content"][0]["text"],
        "second"
    );
    let one = client
        .get(&format!("/rest/api/3/issue/{key}/comment/{}", human.id))
        .await;
    assert_eq!(
        one.body["author"]["accountId"],
        jira.human_account().account_id
    );
    let v2 = client
        .get(&format!("/rest/api/2/issue/{key}/comment/{id}"))
        .await;
    assert_eq!(v2.body["body"], "second", "v2 shows wiki text");

    assert_eq!(
        client
            .delete(&format!("/rest/api/3/issue/{key}/comment/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        client
            .get(&format!("/rest/api/3/issue/{key}/comment/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        client
            .delete(&format!("/rest/api/3/issue/{key}/comment/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(jira.comments(&key).len(), 1);
    let other = client.create("other", &[]).await;
    assert_eq!(
        client
            .get(&format!("/rest/api/3/issue/{other}/comment/{}", human.id))
            .await
            .status,
        404,
        "comment of another issue"
    );
}
