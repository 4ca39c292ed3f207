//! The SIR client through the real SDK against the SIR emulator: the case model, full comment
//! paging, idempotent comments, the error classification, metrics and peer health.

use std::sync::Arc;

use sir_emulator::{Operation, ThrottleMode, Timestamp, Watcher};
use sir_jira_bridge::{
    metrics::Metrics,
    peers::{Peer, PeerHealth},
    sir::{CaseId, CaseStatus, CaseUpdate, SirApi, SirError},
};

use crate::helpers::*;

fn id(s: &str) -> CaseId {
    CaseId::parse(s).unwrap()
}

#[tokio::test]
async fn get_case_maps_every_member_the_sync_uses() {
    let emu = sir_emulator().await;
    let case_id = emu.analyst().create_case(sir_emulator::NewCase {
        title: "Suspicious IAM access key use".into(),
        description: "Access key used from 203.0.113.7".into(),
        impacted_accounts: vec!["123456789012".into(), "000011112222".into()],
        impacted_aws_regions: vec!["us-east-1".into(), "eu-west-1".into()],
        impacted_services: vec!["IAM".into()],
        watchers: vec![Watcher::new("secops@example.com")],
        reported_incident_start_date: Timestamp::from_secs(1_764_000_000),
        ..Default::default()
    });
    emu.analyst()
        .set_status(&case_id, sir_emulator::CaseStatus::DetectionAndAnalysis)
        .unwrap();
    let client = sir_client(&emu);
    let case = client.get_case(&id(&case_id)).await.unwrap();
    let stored = emu.case(&case_id).unwrap();

    assert_eq!(case.id.as_str(), case_id);
    assert_eq!(case.title, "Suspicious IAM access key use");
    assert_eq!(case.status, CaseStatus::DetectionAndAnalysis);
    assert_eq!(case.impacted_accounts, ["123456789012", "000011112222"]);
    assert_eq!(case.impacted_regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(case.watchers[0].email, "secops@example.com");
    assert_eq!(case.engagement_type.as_deref(), Some("Security Incident"));
    assert!(case.arn.unwrap().ends_with(&format!(":case/{case_id}")));
    // Epoch seconds on the wire, with milliseconds: the exact instant survives.
    assert_eq!(
        case.last_updated.unix_timestamp_nanos() / 1_000_000,
        i128::from(stored.last_updated_date.as_millis())
    );
    assert_eq!(
        case.reported_incident_start.unwrap().unix_timestamp(),
        1_764_000_000
    );
}

#[tokio::test]
async fn list_comments_pages_through_everything_oldest_first() {
    let emu = sir_emulator().await;
    let case_id = emu.seed_case(Default::default());
    for i in 0..60 {
        emu.analyst()
            .add_comment(&case_id, &format!("comment {i}"))
            .unwrap();
    }
    let client = sir_client(&emu);
    emu.reset_log();
    let comments = client.list_comments(&id(&case_id)).await.unwrap();
    assert_eq!(comments.len(), 60);
    assert_eq!(comments[0].body, "comment 0");
    assert_eq!(comments[59].body, "comment 59");
    assert!(comments.iter().all(|c| c.id.len() == 6), "six-digit ids");
    // 25 a page: three calls, not the emulator's default of 10 a page.
    assert_eq!(emu.log().count(Operation::ListComments), 3);
}

#[tokio::test]
async fn list_cases_asks_for_25_a_page_and_reports_the_total() {
    let emu = sir_emulator().await;
    emu.seed_cases(30, |_| Default::default());
    let client = sir_client(&emu);
    let first = client.list_cases(None).await.unwrap();
    assert_eq!(first.cases.len(), 25);
    assert_eq!(first.total, Some(30));
    let second = client.list_cases(first.next_token).await.unwrap();
    assert_eq!(second.cases.len(), 5);
    assert_eq!(second.next_token, None);
}

#[tokio::test]
async fn a_comment_retried_with_its_client_token_is_created_once() {
    let emu = sir_emulator().await;
    let case_id = id(&emu.seed_case(Default::default()));
    let client = sir_client(&emu);
    let a = client
        .create_comment(&case_id, "From Jira", "jira-comment-10001")
        .await
        .unwrap();
    let b = client
        .create_comment(&case_id, "From Jira", "jira-comment-10001")
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(emu.comments(case_id.as_str()).len(), 1);
    client
        .update_comment(&case_id, &a, "From Jira, edited")
        .await
        .unwrap();
    assert_eq!(emu.comments(case_id.as_str())[0].body, "From Jira, edited");
}

#[tokio::test]
async fn writes_follow_the_service_rules() {
    let emu = sir_emulator().await;
    let case_id = id(&emu.seed_case(Default::default()));
    let client = sir_client(&emu);

    // Nothing to write: no call, so lastUpdatedDate does not move (that would echo).
    emu.reset_log();
    client
        .update_case(&case_id, &CaseUpdate::default())
        .await
        .unwrap();
    assert_eq!(emu.log().count(Operation::UpdateCase), 0);

    client
        .update_case(
            &case_id,
            &CaseUpdate {
                title: Some("New title".into()),
                description: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(emu.case(case_id.as_str()).unwrap().title, "New title");

    client
        .update_case_status(&case_id, CaseStatus::DetectionAndAnalysis)
        .await
        .unwrap();
    // Not self-managed: refused here, without a call.
    let err = client
        .update_case_status(&case_id, CaseStatus::ReadyToClose)
        .await
        .unwrap_err();
    assert!(matches!(err, SirError::Validation { .. }), "{err}");
    // Not an allowed move (Detection and Analysis → Submitted): SIR's ValidationException.
    let err = client
        .update_case_status(&case_id, CaseStatus::Submitted)
        .await
        .unwrap_err();
    assert!(matches!(err, SirError::Validation { .. }), "{err}");
    assert!(!err.is_retryable());

    client.close_case(&case_id).await.unwrap();
    assert_eq!(
        client.get_case(&case_id).await.unwrap().status,
        CaseStatus::Closed
    );
}

#[tokio::test]
async fn errors_are_classified_with_the_services_words() {
    let emu = sir_emulator().await;
    let case_id = id(&emu.seed_case(Default::default()));
    let metrics = Arc::new(Metrics::new());
    let peers = Arc::new(PeerHealth::default());
    let client = sir_client_with(&emu, fast_retries(1), metrics.clone(), peers.clone());

    let err = client.get_case(&id("9999999999")).await.unwrap_err();
    assert!(matches!(err, SirError::NotFound { .. }), "{err}");

    let err = client
        .update_case(
            &case_id,
            &CaseUpdate {
                title: Some("x".repeat(301)),
                description: None,
            },
        )
        .await
        .unwrap_err();
    let SirError::Validation { message, source } = &err else {
        panic!("{err}");
    };
    assert!(message.starts_with("ValidationException"), "{message}");
    assert!(message.contains("title:"), "the field list: {message}");
    assert!(source.is_some(), "the SDK's error is kept: {err:?}");

    emu.set_throttle(ThrottleMode::Next(1));
    let err = client.get_case(&case_id).await.unwrap_err();
    assert!(matches!(err, SirError::Throttled { .. }), "{err}");
    assert!(err.is_retryable());

    emu.set_fault(sir_emulator::FaultMode::Next(1));
    let err = client.get_case(&case_id).await.unwrap_err();
    assert!(matches!(err, SirError::Unavailable { .. }), "{err}");

    emu.deny_access_key(sir_emulator::INTEGRATION_ACCESS_KEY_ID, true);
    let err = client.get_case(&case_id).await.unwrap_err();
    assert!(matches!(err, SirError::AccessDenied { .. }), "{err}");
    assert!(err.is_retryable(), "kept for retry, never dropped");
    let health = peers.get(Peer::Sir);
    assert!(
        health.last_error.unwrap().contains("AccessDenied"),
        "the admin status shows it"
    );

    emu.deny_access_key(sir_emulator::INTEGRATION_ACCESS_KEY_ID, false);
    client.get_case(&case_id).await.unwrap();
    assert!(peers.get(Peer::Sir).last_success_at.is_some());

    let text = metrics.render(None);
    for sample in [
        r#"sir_jira_peer_api_calls_total{peer="sir",operation="GetCase",status="429"} 1"#,
        r#"sir_jira_peer_api_calls_total{peer="sir",operation="GetCase",status="404"} 1"#,
        r#"sir_jira_peer_api_calls_total{peer="sir",operation="GetCase",status="500"} 1"#,
        r#"sir_jira_peer_api_calls_total{peer="sir",operation="UpdateCase",status="400"} 1"#,
    ] {
        assert!(text.contains(sample), "{sample} in\n{text}");
    }
}

#[tokio::test]
async fn the_sdk_retries_throttling_and_every_attempt_is_counted() {
    let emu = sir_emulator().await;
    let case_id = id(&emu.seed_case(Default::default()));
    let metrics = Arc::new(Metrics::new());
    let client = sir_client_with(
        &emu,
        fast_retries(3),
        metrics.clone(),
        Arc::new(PeerHealth::default()),
    );
    emu.set_throttle(ThrottleMode::Next(2));
    client.get_case(&case_id).await.unwrap();
    let text = metrics.render(None);
    assert!(
        text.contains(
            r#"sir_jira_peer_api_calls_total{peer="sir",operation="GetCase",status="429"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"sir_jira_peer_api_calls_total{peer="sir",operation="GetCase",status="200"} 1"#
        ),
        "{text}"
    );
}
