use std::time::Duration;

use aws_sdk_securityir::config::retry::RetryConfig;
use aws_sdk_securityir::operation::get_case::GetCaseError;
use sir_emulator::{FaultMode, INTEGRATION_ACCESS_KEY_ID, Injected, Operation, ThrottleMode};

use crate::{create, start};

fn client_with_retries(
    emu: &sir_emulator::EmulatorHandle,
    retry: RetryConfig,
) -> aws_sdk_securityir::Client {
    aws_sdk_securityir::Client::from_conf(
        emu.sdk_config(INTEGRATION_ACCESS_KEY_ID)
            .retry_config(retry)
            .build(),
    )
}

#[tokio::test]
async fn without_retries_the_sdk_surfaces_throttling_exception() {
    let emu = start().await;
    let client = client_with_retries(&emu, RetryConfig::disabled());
    let id = create(&client, "Throttled").await;
    emu.set_retry_after(Some(2));
    emu.set_throttle(ThrottleMode::Next(1));
    let err = client.get_case().case_id(&id).send().await.unwrap_err();
    let raw_status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(raw_status, Some(429));
    let GetCaseError::ThrottlingException(t) = err.into_service_error() else {
        panic!("expected ThrottlingException");
    };
    assert_eq!(t.retry_after_seconds(), Some(2));
    assert_eq!(t.message(), "Rate exceeded");
    // The next call passes again.
    client.get_case().case_id(&id).send().await.unwrap();
    let throttled = emu
        .log()
        .count_where(|r| r.injected == Some(Injected::Throttled));
    assert_eq!(throttled, 1);
}

#[tokio::test]
async fn the_sdk_retries_throttling_and_faults_with_backoff() {
    let emu = start().await;
    let retry = RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(50));
    let client = client_with_retries(&emu, retry);
    let id = create(&client, "Retried").await;
    emu.reset_log();

    emu.set_throttle(ThrottleMode::Next(2));
    client.get_case().case_id(&id).send().await.unwrap();
    let attempts: Vec<u16> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(attempts, [429, 429, 200]);

    emu.reset_log();
    emu.set_fault(FaultMode::Next(1));
    client
        .create_case_comment()
        .case_id(&id)
        .body("survives a 500")
        .send()
        .await
        .unwrap();
    let attempts: Vec<u16> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(attempts, [500, 201]);
    // The SDK retried with the same clientToken, so there is one comment.
    assert_eq!(emu.comments(&id).len(), 1);
}

#[tokio::test]
async fn every_nth_call_is_throttled_and_scope_limits_it() {
    let emu = start().await;
    let client = client_with_retries(&emu, RetryConfig::disabled());
    let id = create(&client, "Every third").await;
    emu.set_throttle(ThrottleMode::EveryNth(3));
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        outcomes.push(client.get_case().case_id(&id).send().await.is_ok());
    }
    assert_eq!(outcomes, [true, true, false, true, true, false]);

    // Only writes throttled: reads pass, writes fail.
    emu.set_injection_scope(Some(&[Operation::UpdateCase]));
    emu.set_throttle(ThrottleMode::Budget(0));
    client.get_case().case_id(&id).send().await.unwrap();
    let err = client
        .update_case()
        .case_id(&id)
        .title("x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_throttling_exception());
    emu.set_throttle(ThrottleMode::Off);
    client
        .update_case()
        .case_id(&id)
        .title("x")
        .send()
        .await
        .unwrap();
}
