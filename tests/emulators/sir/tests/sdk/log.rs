use aws_sdk_securityir::types::SelfManagedCaseStatus;
use sir_emulator::{ANALYST_ACCESS_KEY_ID, INTEGRATION_ACCESS_KEY_ID, Operation, SeedCase};

use crate::{create, start};

#[tokio::test]
async fn the_request_log_counts_calls_by_operation_and_caller() {
    let emu = start().await;
    let integration = emu.sdk_client();
    let human = emu.sdk_client_as(ANALYST_ACCESS_KEY_ID);
    let id = create(&integration, "Counted").await;
    integration.get_case().case_id(&id).send().await.unwrap();
    integration.get_case().case_id(&id).send().await.unwrap();
    human
        .update_case_status()
        .case_id(&id)
        .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
        .send()
        .await
        .unwrap();
    let _ = integration.get_case().case_id("9999999999").send().await;

    let log = emu.log();
    assert_eq!(log.count(Operation::GetCase), 3);
    assert_eq!(log.count_ok(Operation::GetCase), 2);
    assert_eq!(log.count(Operation::CreateCase), 1);
    assert_eq!(log.count_writes(), 2);
    let writes = log.writes();
    assert_eq!(writes[0].access_key_id(), Some(INTEGRATION_ACCESS_KEY_ID));
    assert_eq!(writes[1].access_key_id(), Some(ANALYST_ACCESS_KEY_ID));
    assert_eq!(writes[1].case_id.as_deref(), Some(id.as_str()));
    assert_eq!(log.by_access_key(ANALYST_ACCESS_KEY_ID).len(), 1);
    let failed = emu.requests().pop().unwrap();
    assert_eq!(failed.status, 404);
    assert_eq!(
        failed.error_type.as_deref(),
        Some("ResourceNotFoundException")
    );

    emu.reset_log();
    assert!(emu.requests().is_empty());
    integration.list_cases().send().await.unwrap();
    assert_eq!(emu.requests()[0].operation, Operation::ListCases);
}

#[tokio::test]
async fn a_poll_over_1000_cases_is_40_list_calls() {
    let emu = start().await;
    let client = emu.sdk_client();
    let ids = emu.seed_cases(1_000, |i| SeedCase {
        last_updated_date: Some(sir_emulator::Timestamp::from_secs(1_764_000_000 + i as i64)),
        ..SeedCase::default()
    });
    // A human touches ten cases; their lastUpdatedDate moves past every seeded one.
    for id in ids.iter().step_by(100) {
        emu.analyst().add_comment(id, "touched").unwrap();
    }
    let watermark = sir_emulator::Timestamp::from_secs(1_764_000_000 + 1_000).to_sdk();
    let mut pages = client.list_cases().max_results(25).into_paginator().send();
    let mut changed = Vec::new();
    while let Some(page) = pages.next().await {
        for item in page.unwrap().items() {
            if item.last_updated_date().unwrap() > &watermark {
                changed.push(item.case_id().to_string());
            }
        }
    }
    assert_eq!(emu.log().count(Operation::ListCases), 40);
    assert_eq!(changed.len(), 10);
}
