//! The `sir-emulator` binary: starts, prints its URL, serves seeded cases to the SDK.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aws_sdk_securityir::config::{BehaviorVersion, Credentials, Region};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_seeded_cases() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_sir-emulator"))
            .args([
                "--port",
                "0",
                "--seed-cases",
                "30",
                "--throttle-every",
                "1000",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("SIR emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();

    let config = aws_sdk_securityir::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBIN", "secret", None, None, "test"))
        .endpoint_url(&url)
        .build();
    let client = aws_sdk_securityir::Client::from_conf(config);
    let out = client.list_cases().max_results(25).send().await.unwrap();
    assert_eq!(out.total(), Some(30));
    assert_eq!(out.items().len(), 25);
    assert!(out.items()[0].title().unwrap().starts_with("Seeded case"));
}

#[tokio::test]
async fn the_control_api_drives_a_separate_process() {
    let emu = crate::start().await;
    let http = reqwest::Client::new();
    let base = emu.endpoint_url();
    let seeded: serde_json::Value = http
        .post(format!("{base}/_emulator/seed"))
        .body(r#"{"count": 3}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = seeded["caseIds"][0].as_str().unwrap().to_string();
    let resp = http
        .post(format!("{base}/_emulator/analyst/cases/{id}/comment"))
        .body(r#"{"body": "from a script"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http
        .post(format!("{base}/_emulator/analyst/cases/{id}/close"))
        .body(r#"{"closureCode": "Duplicate"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        emu.case(&id).unwrap().closure_code,
        Some(sir_emulator::ClosureCode::Duplicate)
    );

    let resp = http
        .put(format!("{base}/_emulator/throttle"))
        .body(r#"{"mode": "next", "n": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let client = aws_sdk_securityir::Client::from_conf(
        emu.sdk_config(sir_emulator::INTEGRATION_ACCESS_KEY_ID)
            .retry_config(aws_sdk_securityir::config::retry::RetryConfig::disabled())
            .build(),
    );
    assert!(client.list_cases().send().await.is_err());
    assert!(client.list_cases().send().await.is_ok());

    let log: serde_json::Value = http
        .get(format!("{base}/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["ListCases", "ListCases"],
        "control calls are not logged"
    );
    assert_eq!(log[0]["status"], 429);

    let events: serde_json::Value = http
        .get(format!("{base}/_emulator/events"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Case Comment Added", "Case Closed"]);
}
