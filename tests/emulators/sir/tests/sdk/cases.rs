use std::collections::HashSet;

use aws_sdk_securityir::primitives::DateTime;
use aws_sdk_securityir::types::{
    AwsRegion, CaseMetadataEntry, CaseStatus, ClosureCode, ImpactedAwsRegion, PendingAction,
    ResolverType, SelfManagedCaseStatus, ThreatActorIp, Watcher,
};
use reqwest::Method;
use sir_emulator::{Operation, SeedCase, Timestamp};

use crate::{create, new_case, raw, start};

#[tokio::test]
async fn create_then_get_returns_every_member() {
    let emu = start().await;
    let client = emu.sdk_client();
    let out = new_case(&client, "Suspicious IAM access key use")
        .impacted_aws_regions(
            ImpactedAwsRegion::builder()
                .region(AwsRegion::UsEast1)
                .build()
                .unwrap(),
        )
        .impacted_aws_regions(
            ImpactedAwsRegion::builder()
                .region(AwsRegion::EuWest1)
                .build()
                .unwrap(),
        )
        .threat_actor_ip_addresses(
            ThreatActorIp::builder()
                .ip_address("203.0.113.7")
                .user_agent("aws-cli/2.15.0")
                .build()
                .unwrap(),
        )
        .impacted_services("IAM")
        .impacted_services("S3")
        .impacted_accounts("000011112222")
        .send()
        .await
        .unwrap();
    let case_id = out.case_id().to_string();
    assert_eq!(case_id.len(), 10);
    assert!(case_id.bytes().all(|b| b.is_ascii_digit()));

    let got = client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(got.title(), Some("Suspicious IAM access key use"));
    assert_eq!(
        got.case_arn(),
        Some(format!("arn:aws:security-ir:us-east-1:123456789012:case/{case_id}").as_str())
    );
    assert_eq!(got.case_status(), Some(&CaseStatus::Submitted));
    assert_eq!(got.resolver_type(), Some(&ResolverType::SelfValue));
    assert_eq!(got.pending_action(), Some(&PendingAction::None));
    assert_eq!(got.impacted_accounts(), ["123456789012", "000011112222"]);
    assert_eq!(got.impacted_services(), ["IAM", "S3"]);
    assert_eq!(
        got.impacted_aws_regions()
            .iter()
            .map(|r| r.region().as_str())
            .collect::<Vec<_>>(),
        ["us-east-1", "eu-west-1"]
    );
    assert_eq!(
        got.threat_actor_ip_addresses()[0].user_agent(),
        Some("aws-cli/2.15.0")
    );
    assert_eq!(got.watchers()[0].email(), "secops@example.com");
    assert_eq!(
        got.reported_incident_start_date(),
        Some(&DateTime::from_secs(1_764_164_400))
    );
    assert!(got.created_date().is_some());
    assert_eq!(got.created_date(), got.last_updated_date());
    assert!(got.closed_date().is_none() && got.closure_code().is_none());

    // On the wire: no caseId in GetCase, and dates are epoch-second numbers.
    let (status, headers, body) = raw(
        &emu,
        Method::GET,
        &format!("/v1/cases/{case_id}/get-case"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("x-amzn-requestid"));
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json.get("caseId").is_none());
    assert!(json["createdDate"].is_number());
    assert!(json["reportedIncidentStartDate"].is_number());
}

#[tokio::test]
async fn update_case_replaces_and_adds_and_deletes() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Before").await;
    client
        .update_case()
        .case_id(&id)
        .title("After")
        .description("New description")
        .actual_incident_start_date(DateTime::from_secs(1_764_160_000))
        .watchers_to_add(Watcher::builder().email("ir@example.com").build().unwrap())
        .watchers_to_delete(
            Watcher::builder()
                .email("secops@example.com")
                .build()
                .unwrap(),
        )
        .impacted_accounts_to_add("000011112222")
        .impacted_accounts_to_delete("123456789012")
        .impacted_services_to_add("EC2")
        .impacted_aws_regions_to_add(
            ImpactedAwsRegion::builder()
                .region(AwsRegion::UsWest2)
                .build()
                .unwrap(),
        )
        .case_metadata(
            CaseMetadataEntry::builder()
                .key("jira")
                .value("SEC-1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = client.get_case().case_id(&id).send().await.unwrap();
    assert_eq!(got.title(), Some("After"));
    assert_eq!(got.description(), Some("New description"));
    assert_eq!(
        got.actual_incident_start_date(),
        Some(&DateTime::from_secs(1_764_160_000))
    );
    assert_eq!(
        got.watchers().iter().map(|w| w.email()).collect::<Vec<_>>(),
        ["ir@example.com"]
    );
    assert_eq!(got.impacted_accounts(), ["000011112222"]);
    assert_eq!(got.impacted_services(), ["EC2"]);
    assert_eq!(got.impacted_aws_regions()[0].region(), &AwsRegion::UsWest2);
    assert_eq!(got.case_metadata()[0].value(), "SEC-1");
}

#[tokio::test]
async fn list_cases_pages_of_25_newest_first() {
    let emu = start().await;
    let client = emu.sdk_client();
    let ids = emu.seed_cases(60, |_| SeedCase::default());

    let mut pages = client.list_cases().max_results(25).into_paginator().send();
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert_eq!(page.total(), Some(60));
        sizes.push(page.items().len());
        seen.extend(page.items().iter().map(|i| i.case_id().to_string()));
    }
    assert_eq!(sizes, [25, 25, 10]);
    assert_eq!(emu.log().count(Operation::ListCases), 3);
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, each once");

    // Without maxResults the emulator's default page size (10) applies.
    let first = client.list_cases().send().await.unwrap();
    assert_eq!(first.items().len(), 10);
    assert!(first.next_token().is_some());
}

#[tokio::test]
async fn cases_created_between_pages_are_neither_repeated_nor_lost() {
    let emu = start().await;
    let client = emu.sdk_client();
    let old = emu.seed_cases(30, |_| SeedCase::default());
    let page1 = client.list_cases().max_results(25).send().await.unwrap();
    emu.seed_cases(5, |_| SeedCase::default());
    let page2 = client
        .list_cases()
        .max_results(25)
        .next_token(page1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let seen: HashSet<String> = page1
        .items()
        .iter()
        .chain(page2.items())
        .map(|i| i.case_id().to_string())
        .collect();
    assert_eq!(seen.len(), 30);
    assert!(old.iter().all(|id| seen.contains(id)));
    assert!(page2.next_token().is_none());
    assert_eq!(page2.total(), Some(35));
}

#[tokio::test]
async fn list_items_carry_the_summary_members() {
    let emu = start().await;
    let client = emu.sdk_client();
    let last = Timestamp::from_secs(1_764_167_400);
    let id = emu.seed_case(SeedCase {
        created_date: Some(Timestamp::from_secs(1_764_164_700)),
        last_updated_date: Some(last),
        ..SeedCase::default()
    });
    let out = client.list_cases().send().await.unwrap();
    let item = &out.items()[0];
    assert_eq!(item.case_id(), id);
    assert_eq!(item.last_updated_date(), Some(&last.to_sdk()));
    assert_eq!(item.case_status(), Some(&CaseStatus::Submitted));
    assert!(item.case_arn().unwrap().ends_with(&id));
    assert!(item.closed_date().is_none());
}

#[tokio::test]
async fn status_rules_and_closing() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Lifecycle").await;

    let out = client
        .update_case_status()
        .case_id(&id)
        .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.case_status(),
        Some(&SelfManagedCaseStatus::DetectionAndAnalysis)
    );

    // Not a self-managed status: rejected by the member's enum.
    let err = client
        .update_case_status()
        .case_id(&id)
        .case_status(SelfManagedCaseStatus::from("Closed"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");

    // Not a documented transition: D&A → Submitted.
    let err = client
        .update_case_status()
        .case_id(&id)
        .case_status(SelfManagedCaseStatus::Submitted)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");

    for s in [
        SelfManagedCaseStatus::ContainmentEradicationAndRecovery,
        SelfManagedCaseStatus::PostIncidentActivities,
    ] {
        client
            .update_case_status()
            .case_id(&id)
            .case_status(s)
            .send()
            .await
            .unwrap();
    }

    let closed = client.close_case().case_id(&id).send().await.unwrap();
    assert_eq!(closed.case_status(), Some(&CaseStatus::Closed));
    let closed_date = closed.closed_date().cloned().unwrap();
    let got = client.get_case().case_id(&id).send().await.unwrap();
    assert_eq!(got.case_status(), Some(&CaseStatus::Closed));
    assert_eq!(got.closed_date(), Some(&closed_date));
    assert_eq!(got.last_updated_date(), Some(&closed_date));
    // CloseCase carries no closure code, so the API cannot set one.
    assert_eq!(got.closure_code(), None);

    let err = client
        .update_case_status()
        .case_id(&id)
        .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    let err = client
        .close_case()
        .case_id(&id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    let err = client
        .update_case()
        .case_id(&id)
        .title("Too late")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
}

#[tokio::test]
async fn a_human_closes_with_a_closure_code() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Closed in the console").await;
    emu.analyst()
        .close(&id, sir_emulator::ClosureCode::FalsePositive)
        .unwrap();
    let got = client.get_case().case_id(&id).send().await.unwrap();
    assert_eq!(got.closure_code(), Some(&ClosureCode::FalsePositive));
    assert_eq!(got.case_status(), Some(&CaseStatus::Closed));

    // The API close can be told which code to record, for tests that need one.
    emu.set_api_close_closure_code(Some(sir_emulator::ClosureCode::InvestigationCompleted));
    let other = create(&client, "Closed by the API").await;
    client.close_case().case_id(&other).send().await.unwrap();
    let got = client.get_case().case_id(&other).send().await.unwrap();
    assert_eq!(
        got.closure_code(),
        Some(&ClosureCode::InvestigationCompleted)
    );
}

#[tokio::test]
async fn resolver_type_is_one_way() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Escalate").await;
    let out = client
        .update_resolver_type()
        .case_id(&id)
        .resolver_type(ResolverType::Aws)
        .send()
        .await
        .unwrap();
    assert_eq!(out.case_id(), id);
    assert_eq!(out.resolver_type(), Some(&ResolverType::Aws));
    let err = client
        .update_resolver_type()
        .case_id(&id)
        .resolver_type(ResolverType::SelfValue)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
}

#[tokio::test]
async fn last_updated_date_moves_forward_on_every_change() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Watch the clock").await;
    let last_updated = || async {
        client
            .get_case()
            .case_id(&id)
            .send()
            .await
            .unwrap()
            .last_updated_date()
            .cloned()
            .unwrap()
    };
    let mut previous = last_updated().await;
    let mut check = |now: DateTime, what: &str| {
        assert!(
            now > previous,
            "{what} did not move lastUpdatedDate forward"
        );
        previous = now;
    };

    client
        .update_case()
        .case_id(&id)
        .title("t2")
        .send()
        .await
        .unwrap();
    check(last_updated().await, "UpdateCase");
    client
        .update_case_status()
        .case_id(&id)
        .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
        .send()
        .await
        .unwrap();
    check(last_updated().await, "UpdateCaseStatus");
    let comment = client
        .create_case_comment()
        .case_id(&id)
        .body("first")
        .send()
        .await
        .unwrap();
    check(last_updated().await, "CreateCaseComment");
    client
        .update_case_comment()
        .case_id(&id)
        .comment_id(comment.comment_id())
        .body("edited")
        .send()
        .await
        .unwrap();
    check(last_updated().await, "UpdateCaseComment");
    let url = client
        .get_case_attachment_upload_url()
        .case_id(&id)
        .file_name("a.txt")
        .content_length(2)
        .send()
        .await
        .unwrap();
    check(last_updated().await, "GetCaseAttachmentUploadUrl");
    let put = reqwest::Client::new()
        .put(url.attachment_presigned_url())
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    check(last_updated().await, "attachment upload");
    emu.analyst().add_comment(&id, "human").unwrap();
    check(last_updated().await, "analyst comment");
    emu.analyst().set_title(&id, "human title").unwrap();
    check(last_updated().await, "analyst title");
    client
        .update_resolver_type()
        .case_id(&id)
        .resolver_type(ResolverType::Aws)
        .send()
        .await
        .unwrap();
    check(last_updated().await, "UpdateResolverType");
    client.close_case().case_id(&id).send().await.unwrap();
    check(last_updated().await, "CloseCase");

    // Reads change nothing.
    let before = last_updated().await;
    client.list_comments().case_id(&id).send().await.unwrap();
    client.list_case_edits().case_id(&id).send().await.unwrap();
    assert_eq!(last_updated().await, before);
}

#[tokio::test]
async fn list_case_edits_records_who_what_when() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "History").await;
    client
        .update_case()
        .case_id(&id)
        .title("Renamed")
        .send()
        .await
        .unwrap();
    emu.set_principal_display(sir_emulator::PrincipalDisplay::Arn);
    emu.analyst()
        .update_status(&id, sir_emulator::CaseStatus::DetectionAndAnalysis)
        .unwrap();
    let out = client.list_case_edits().case_id(&id).send().await.unwrap();
    assert_eq!(out.total(), Some(3));
    let items = out.items();
    let actions: Vec<_> = items.iter().map(|e| e.action().unwrap()).collect();
    assert_eq!(actions, ["CreateCase", "UpdateCase", "UpdateCaseStatus"]);
    assert!(items[1].message().unwrap().contains("title"));
    assert_eq!(
        items[0].principal(),
        Some(emu.integration_principal().arn.as_str())
    );
    assert_eq!(
        items[2].principal(),
        Some(emu.analyst_principal().arn.as_str())
    );
    assert!(items[1].event_timestamp() < items[2].event_timestamp());

    let page = client
        .list_case_edits()
        .case_id(&id)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.items().len(), 2);
    let rest = client
        .list_case_edits()
        .case_id(&id)
        .max_results(2)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.items().len(), 1);
    assert!(rest.next_token().is_none());
}

#[tokio::test]
async fn memberships_are_readable() {
    let emu = start().await;
    let client = emu.sdk_client();
    let list = client.list_memberships().send().await.unwrap();
    let item = &list.items()[0];
    let got = client
        .get_membership()
        .membership_id(item.membership_id())
        .send()
        .await
        .unwrap();
    assert_eq!(got.account_id(), Some("123456789012"));
    assert_eq!(got.membership_id(), item.membership_id());
    let err = client
        .get_membership()
        .membership_id("m-doesnotexist00")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
}

#[tokio::test]
async fn get_case_and_list_comments_have_the_fixture_members() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Shapes").await;
    client
        .update_case()
        .case_id(&id)
        .actual_incident_start_date(DateTime::from_secs(1_764_164_100))
        .send()
        .await
        .unwrap();
    client
        .create_case_comment()
        .case_id(&id)
        .body("Key disabled")
        .send()
        .await
        .unwrap();
    // The members of shared/fixtures/sir/get_case.json (closure members appear once closed).
    let (_, _, body) = raw(&emu, Method::GET, &format!("/v1/cases/{id}/get-case"), None).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    let mut expected = vec![
        "title",
        "caseArn",
        "description",
        "caseStatus",
        "engagementType",
        "reportedIncidentStartDate",
        "actualIncidentStartDate",
        "impactedAwsRegions",
        "threatActorIpAddresses",
        "pendingAction",
        "impactedAccounts",
        "watchers",
        "createdDate",
        "lastUpdatedDate",
        "resolverType",
        "impactedServices",
        "caseAttachments",
        "caseMetadata",
    ];
    expected.sort();
    assert_eq!(keys, expected);

    // The members of shared/fixtures/sir/list_comments.json's items.
    let (_, _, body) = raw(
        &emu,
        Method::POST,
        &format!("/v1/cases/{id}/list-comments"),
        Some(serde_json::json!({})),
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut keys: Vec<&str> = json["items"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "body",
            "commentId",
            "createdDate",
            "creator",
            "lastUpdatedBy",
            "lastUpdatedDate"
        ]
    );
    assert_eq!(json["total"], 1);
    assert!(
        json.get("nextToken").is_none(),
        "the last page has no nextToken"
    );
}
