use sir_emulator::{Operation, PrincipalDisplay};

use crate::{create, start};

#[tokio::test]
async fn thirty_comments_page_as_25_and_5_oldest_first() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Chatty").await;
    let mut created = Vec::new();
    for i in 0..30 {
        let out = client
            .create_case_comment()
            .case_id(&id)
            .body(format!("comment {i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(out.comment_id().len(), 6, "comment ids are six digits");
        created.push(out.comment_id().to_string());
    }

    let mut pages = client
        .list_comments()
        .case_id(&id)
        .max_results(25)
        .into_paginator()
        .send();
    let mut sizes = Vec::new();
    let mut listed = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert_eq!(page.total(), Some(30));
        sizes.push(page.items().len());
        listed.extend(page.items().iter().map(|c| c.comment_id().to_string()));
    }
    assert_eq!(sizes, [25, 5]);
    assert_eq!(listed, created);
    assert_eq!(emu.log().count(Operation::ListComments), 2);
}

#[tokio::test]
async fn comment_members_and_editing() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Edited").await;
    let cid = client
        .create_case_comment()
        .case_id(&id)
        .body("Key disabled")
        .send()
        .await
        .unwrap()
        .comment_id()
        .to_string();

    let analyst_comment = emu.analyst().add_comment(&id, "Scoping started").unwrap();
    let out = client
        .update_case_comment()
        .case_id(&id)
        .comment_id(&cid)
        .body("Key disabled and rotated")
        .send()
        .await
        .unwrap();
    assert_eq!(out.comment_id(), cid);
    assert_eq!(out.body(), Some("Key disabled and rotated"));

    let list = client.list_comments().case_id(&id).send().await.unwrap();
    let items = list.items();
    assert_eq!(items.len(), 2);
    let ours = &items[0];
    assert_eq!(ours.body(), Some("Key disabled and rotated"));
    assert_eq!(ours.creator(), Some("123456789012"));
    assert!(ours.last_updated_date() > ours.created_date());
    assert_eq!(items[1].comment_id(), analyst_comment);

    // In ARN mode the integration and the analyst are told apart by the creator itself.
    emu.set_principal_display(PrincipalDisplay::Arn);
    let list = client.list_comments().case_id(&id).send().await.unwrap();
    assert_eq!(
        list.items()[0].creator(),
        Some(emu.integration_principal().arn.as_str())
    );
    assert_eq!(
        list.items()[1].creator(),
        Some(emu.analyst_principal().arn.as_str())
    );

    // The stored comments keep the full principal whatever the display mode.
    let stored = emu.comments(&id);
    assert_eq!(stored[0].creator, emu.integration_principal());
    assert_eq!(stored[1].creator, emu.analyst_principal());

    let err = client
        .update_case_comment()
        .case_id(&id)
        .comment_id("999998")
        .body("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn closed_cases_refuse_comments_unless_allowed() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Closed").await;
    client.close_case().case_id(&id).send().await.unwrap();
    let err = client
        .create_case_comment()
        .case_id(&id)
        .body("after close")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    emu.set_allow_comments_on_closed_cases(true);
    client
        .create_case_comment()
        .case_id(&id)
        .body("after close")
        .send()
        .await
        .unwrap();
    assert_eq!(emu.comments(&id).len(), 1);
}

#[tokio::test]
async fn client_token_makes_comments_idempotent() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Retries").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            client
                .create_case_comment()
                .case_id(&id)
                .body("from Jira comment 10001")
                .client_token("jira-comment-10001")
                .send()
                .await
                .unwrap()
                .comment_id()
                .to_string(),
        );
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(emu.comments(&id).len(), 1);

    // The same token with another body is a conflict, not a silent second comment.
    let err = client
        .create_case_comment()
        .case_id(&id)
        .body("different")
        .client_token("jira-comment-10001")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    // The token is scoped to the case.
    let other = create(&client, "Other").await;
    client
        .create_case_comment()
        .case_id(&other)
        .body("from Jira comment 10001")
        .client_token("jira-comment-10001")
        .send()
        .await
        .unwrap();
    assert_eq!(emu.comments(&other).len(), 1);
}
