//! A deployment checks everything it can before its first write: credentials (STS, in moto),
//! the artifact, the flags. Each failure is one line with its fix, and moto's SSM holds none of
//! the stack's parameters afterwards.

use std::process::Output;

use crate::{
    dry_run::{SEED, text},
    helpers::{moto_endpoint, moto_sdk, unique},
};

/// The command for real (no --dry-run) against moto, with or without credentials.
fn deploy(stack: &str, extra: &[&str], credentials: bool) -> Output {
    deploy_at(&moto_endpoint(), stack, extra, credentials)
}

fn deploy_at(endpoint: &str, stack: &str, extra: &[&str], credentials: bool) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command =
        std::process::Command::new(env!("CARGO_BIN_EXE_deploy-integrations-solution"));
    command
        .args(
            [
                SEED,
                &["--stack-name", stack, "--region", "us-east-1"],
                extra,
            ]
            .concat(),
        )
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    if credentials {
        command
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    }
    command.output().unwrap()
}

/// The one `error:` line, after checking it is the only line on stderr.
fn one_error_line(out: &Output) -> String {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, not:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_owned()
}

async fn parameters_under(prefix: &str) -> Vec<String> {
    let ssm = aws_sdk_ssm::Client::new(&moto_sdk().await);
    ssm.get_parameters_by_path()
        .path(prefix)
        .recursive(true)
        .send()
        .await
        .unwrap()
        .parameters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.name)
        .collect()
}

#[tokio::test]
async fn a_missing_or_broken_artifact_stops_the_deployment_before_any_secret_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let not_zip = dir.path().join("bootstrap.zip");
    std::fs::write(&not_zip, b"an HTML error page, not a zip").unwrap();
    let missing = dir.path().join("missing.zip");
    for (artifact, expected) in [
        (missing.to_str().unwrap(), "no such file"),
        (not_zip.to_str().unwrap(), "not a zip file"),
    ] {
        let stack = unique("checks").replace('-', "x");
        let stack = format!("s{}", &stack[..stack.len().min(40)]);
        let out = deploy(&stack, &["--artifact", artifact], true);
        let line = one_error_line(&out);
        assert!(
            line.contains("--artifact") && line.contains(expected),
            "{line}"
        );
        assert!(line.contains("package"), "names the fix: {line}");
        let stored = parameters_under(&format!("/sir-jira-bridge/{stack}")).await;
        assert!(stored.is_empty(), "written before the check: {stored:?}");
    }
}

#[tokio::test]
async fn without_credentials_the_deployment_stops_at_sts_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let stack = format!("nocreds{}", std::process::id());
    let out = deploy(
        &stack,
        &["--artifact", dir.path().join("a.zip").to_str().unwrap()],
        false,
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("sts:GetCallerIdentity") && line.contains("AWS_PROFILE"),
        "{line}"
    );
    let stored = parameters_under(&format!("/sir-jira-bridge/{stack}")).await;
    assert!(stored.is_empty(), "{stored:?}");
}

#[test]
fn an_unreachable_aws_is_told_apart_from_missing_credentials() {
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let out = deploy_at(
        &format!("http://127.0.0.1:{port}"),
        "unreachable",
        &["--artifact", dir.path().join("a.zip").to_str().unwrap()],
        true,
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("cannot reach AWS STS in us-east-1")
            && line.contains("refused")
            && line.contains("nothing was written"),
        "{line}"
    );
    assert!(!line.contains("credentials"), "{line}");
}

/// A first deployment into a path someone else's parameters occupy (the AWS sample's
/// `/SecurityIncidentResponse`, here a unique stand-in) stops before writing, and the owner's
/// token is left as it was.
#[tokio::test]
async fn a_first_deployment_never_takes_over_another_owners_parameters() {
    let prefix = format!("/sample-{}", unique("ns").replace('-', ""));
    let ssm = aws_sdk_ssm::Client::new(&moto_sdk().await);
    for (name, value) in [
        ("jiraEmail", "sample@example.com"),
        ("jiraToken", "sample-token"),
    ] {
        ssm.put_parameter()
            .name(format!("{prefix}/{name}"))
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let stack = format!("beside{}", std::process::id());
    let out = deploy(
        &stack,
        &[
            "--prefix",
            &prefix,
            "--artifact",
            dir.path().join("a.zip").to_str().unwrap(),
        ],
        true,
    );
    let line = one_error_line(&out);
    assert!(
        line.contains(&format!("{prefix}/jiraEmail already exists"))
            && line.contains("--stack-name")
            && line.contains("nothing was written"),
        "{line}"
    );
    let token = ssm
        .get_parameter()
        .name(format!("{prefix}/jiraToken"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.parameter.unwrap().value.as_deref(),
        Some("sample-token")
    );
    let mut stored = parameters_under(&prefix).await;
    stored.sort();
    assert_eq!(
        stored,
        [format!("{prefix}/jiraEmail"), format!("{prefix}/jiraToken")]
    );
}
