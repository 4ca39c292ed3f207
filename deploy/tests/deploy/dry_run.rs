//! `deploy-integrations-solution --dry-run`, run as users run it, with no AWS access: the plan
//! supplies every template parameter, lists every resource, and never shows a secret.

use std::process::Output;

pub const TOKEN: &str = "jira-api-token-MUST-NOT-APPEAR";
const WEBHOOK_SECRET: &str = "webhook-secret-MUST-NOT-APPEAR";

pub fn run(args: &[&str]) -> Output {
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

pub fn text(out: &Output) -> (String, String) {
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

pub const SEED: &[&str] = &[
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
        // A stack of its own name gets parameters of its own.
        "/sir-jira-bridge/sec-bridge/jiraToken",
        "******** (from --token)",
        "******** (from --webhook-secret)",
        "/sir-jira-bridge/sec-bridge/adminToken",
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

/// The names a dry-run plan lists under "Named resources".
fn named_resources(stdout: &str) -> Vec<String> {
    let section = stdout
        .split("\nNamed resources")
        .nth(1)
        .expect("a Named resources section");
    section
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().last().unwrap().to_owned())
        .collect()
}

/// What AWS's sample integration creates under fixed names (docs/user-guide.md, migration).
const SAMPLE_NAMES: &[&str] = &[
    "/SecurityIncidentResponse/jiraEmail",
    "/SecurityIncidentResponse/jiraUrl",
    "/SecurityIncidentResponse/jiraProjectKey",
    "/SecurityIncidentResponse/jiraToken",
];

#[test]
fn two_stacks_share_no_named_resource_and_neither_is_the_samples() {
    let plan = |extra: &[&str]| {
        let out = run(&[SEED, extra, &["--dry-run"]].concat());
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        named_resources(&stdout)
    };
    let a = plan(&["--stack-name", "bridge-a"]);
    let b = plan(&["--stack-name", "bridge-b"]);
    let c = plan(&["--stack-name", "bridge-c", "--prefix", "/team-c/bridge"]);
    assert!(a.len() >= 12, "{a:?}");
    for (x, y) in [(&a, &b), (&a, &c), (&b, &c)] {
        let shared: Vec<_> = x.iter().filter(|n| y.contains(n)).collect();
        assert!(shared.is_empty(), "shared: {shared:?}");
    }
    for name in a.iter().chain(&b).chain(&c) {
        assert!(!SAMPLE_NAMES.contains(&name.as_str()), "{name}");
    }
    assert!(c.contains(&"/team-c/bridge/jiraToken".to_owned()), "{c:?}");

    // The first stack keeps today's names (the sample's: it is not for running beside it).
    let default = plan(&[]);
    assert!(default.contains(&"/SecurityIncidentResponse/jiraToken".to_owned()));
}

#[test]
fn the_secrets_and_stack_parameters_follow_the_namespace() {
    let out = run(&[SEED, &["--stack-name", "team-b", "--dry-run"]].concat());
    let (stdout, _) = text(&out);
    for expected in [
        "JiraTokenParameter       = /sir-jira-bridge/team-b/jiraToken",
        "WebhookSecretParameter   = /sir-jira-bridge/team-b/jiraWebhookSecret",
        "AdminTokenParameter      = /sir-jira-bridge/team-b/adminToken",
        "ParameterPrefix          = /sir-jira-bridge/team-b",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}`:\n{stdout}");
    }
    assert!(!stdout.contains("/SecurityIncidentResponse/"), "{stdout}");
}

#[test]
fn bad_flags_fail_before_anything_with_one_line_and_its_fix() {
    for (flags, expected) in [
        (&["--stack-name", "bad_name"][..], "--stack-name"),
        (&["--prefix", "no-slash"][..], "--prefix"),
        (&["--alarm-email", "nobody"][..], "--alarm-email"),
        (&["--alarm-topic-arn", "my-topic"][..], "--alarm-topic-arn"),
    ] {
        let out = run(&[SEED, flags, &["--dry-run"]].concat());
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {stdout}{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains(expected), "{stderr}");
    }
}

/// `--paused` deploys with the SIR side disabled (the poller's schedule and the rule for SIR's
/// own events), for adopting the sample's mappings before anything syncs; without it both run.
#[test]
fn paused_disables_the_poller_and_the_sir_event_rule() {
    let out = run(&[SEED, &["--dry-run", "--paused"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("SyncPaused               = true"),
        "{stdout}"
    );
    let out = run(&[SEED, &["--dry-run"]].concat());
    assert!(text(&out).0.contains("SyncPaused               = false"));

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&template).unwrap();
    for rule in ["PollerSchedule", "SirNativeEventsRule"] {
        let state = &doc["Resources"][rule]["Properties"]["State"];
        let text = serde_norway::to_string(state).unwrap();
        assert!(
            text.contains("Paused") && text.contains("DISABLED") && text.contains("ENABLED"),
            "{rule}: {text}"
        );
    }
}
