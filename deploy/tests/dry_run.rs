//! `deploy-integrations-solution --dry-run`, run as users run it, with no AWS access: the plan
//! supplies every template parameter, lists every resource, and never shows a secret.

use std::process::Output;

const TOKEN: &str = "jira-api-token-MUST-NOT-APPEAR";
const WEBHOOK_SECRET: &str = "webhook-secret-MUST-NOT-APPEAR";

fn run(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_deploy-integrations-solution"))
        .args(args)
        // No credentials, no profile, no instance metadata: a dry run must not need AWS.
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The template's parameter and resource names.
fn declared() -> (Vec<String>, Vec<String>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let doc: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let names = |section: &str| {
        doc[section]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    (names("Parameters"), names("Resources"))
}

const SEED: &[&str] = &[
    "jira",
    "--email",
    "secops@example.com",
    "--url",
    "https://example.atlassian.net",
    "--token",
    TOKEN,
    "--project-key",
    "SEC",
];

#[test]
fn the_plan_supplies_every_parameter_lists_every_resource_and_masks_secrets() {
    let args = [
        &["--log-level", "info"],
        SEED,
        &[
            "--region",
            "eu-west-1",
            "--stack-name",
            "sec-bridge",
            "--webhook-secret",
            WEBHOOK_SECRET,
            "--dry-run",
        ],
    ]
    .concat();
    let out = run(&args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    let (parameters, resources) = declared();
    assert!(parameters.len() >= 10, "{parameters:?}");
    for name in &parameters {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("parameter {name} not supplied:\n{stdout}"));
        let value = line.split_once(" = ").map(|(_, v)| v.trim()).unwrap_or("");
        assert!(!value.is_empty(), "{name} has no value: {line}");
    }
    for id in &resources {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{id} "))),
            "resource {id} not listed:\n{stdout}"
        );
    }
    for expected in [
        "Stack sec-bridge in eu-west-1",
        "dry run",
        "JiraUrl                  = https://example.atlassian.net",
        "JiraProjectKey           = SEC",
        "LogLevel                 = info",
        "Architecture             = x86_64",
        "cargo lambda build --release --x86-64 --output-format zip",
        "/SecurityIncidentResponse/jiraToken",
        "******** (from --token)",
        "******** (from --webhook-secret)",
        "/SecurityIncidentResponse/adminToken",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}`:\n{stdout}");
    }
    for secret in [TOKEN, WEBHOOK_SECRET] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret was printed:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn without_a_webhook_secret_the_plan_says_it_is_kept_or_generated() {
    let out = run(&[SEED, &["--dry-run", "--log-level", "debug"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("LogLevel                 = debug"),
        "{stdout}"
    );
    let webhook = stdout
        .lines()
        .find(|l| l.contains("/SecurityIncidentResponse/jiraWebhookSecret"))
        .unwrap();
    assert!(
        webhook.contains("kept if already stored, else generated"),
        "{webhook}"
    );
    assert!(!stdout.contains(TOKEN), "{stdout}");
}

#[test]
fn the_seed_defaults_apply() {
    let out = run(&[SEED, &["--dry-run"]].concat());
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        stdout.contains("LogLevel                 = error"),
        "the seed's default:\n{stdout}"
    );
    assert!(stdout.contains("Stack sir-jira-bridge in (the AWS SDK's default region)"));
}

#[test]
fn a_missing_seed_flag_is_a_usage_error_that_names_it() {
    let out = run(&[
        "jira",
        "--email",
        "secops@example.com",
        "--url",
        "https://example.atlassian.net",
        "--project-key",
        "SEC",
        "--dry-run",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--token"), "{stderr}");
}

#[test]
fn destroy_dry_run_says_what_goes_and_what_stays() {
    let out = run(&["jira", "--destroy", "--dry-run", "--region", "us-east-2"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Delete the stack sir-jira-bridge"),
        "{stdout}"
    );
    assert!(stdout.contains("Keep the DynamoDB state table"), "{stdout}");
}
