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
