//! Onboarding against the emulators: `setup jira` registers exactly one webhook and changes
//! nothing the second time; `doctor` reports each broken link with its fix and a failing
//! result; the CLI's exit codes and the read-only `GET /v1/doctor`.

use std::{process::Command, time::Duration};

use jira_emulator::{EmulatorConfig, JiraEmulator, WorkflowConfig, config::ProjectConfig};
use serde_json::Value;
use sir_emulator::EmulatorHandle;
use sir_jira_bridge::{
    config::{Config, Settings},
    onboard::{
        CheckStatus, Doctor, DoctorReport, SetupAction, SetupOptions, jira_client, setup_jira,
    },
    secret::Secret,
};
use tempfile::TempDir;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_sir-jira-bridge");
const PUBLIC_URL: &str = "https://sir-jira.example.com";

/// A Jira emulator, a SIR emulator and a data directory.
struct Fixture {
    jira: JiraEmulator,
    sir: EmulatorHandle,
    dir: TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        Self::start_with(EmulatorConfig::default()).await
    }

    async fn start_with(jira: EmulatorConfig) -> Fixture {
        Fixture {
            jira: JiraEmulator::start(jira).await.unwrap(),
            sir: sir_emulator().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Jira (as the integration's admin account), SIR, project SEC, the test secrets.
    fn settings(&self) -> Settings {
        let account = self.jira.integration_account();
        Settings {
            public_url: Some(PUBLIC_URL.into()),
            jira_url: Some(self.jira.base_url().to_owned()),
            jira_email: Some(account.email),
            jira_api_token: account.api_token.map(Secret::new),
            jira_project_key: Some("SEC".into()),
            jira_project_keys: Some(vec!["SEC".into()]),
            sir_enabled: Some(true),
            sir_endpoint_url: Some(self.sir.endpoint_url()),
            ..test_settings(self.dir.path())
        }
    }

    /// The same, signed in as the emulator's non-administrator.
    fn settings_as_analyst(&self) -> Settings {
        let human = self.jira.human_account();
        Settings {
            jira_email: Some(human.email),
            jira_api_token: human.api_token.map(Secret::new),
            ..self.settings()
        }
    }

    async fn doctor(&self, settings: Settings) -> DoctorReport {
        let config = Config::from_settings(settings).unwrap();
        let sdk = sdk_config_for(&self.sir.endpoint_url()).await;
        Doctor::from_config(config, Some(sdk), Duration::from_secs(5))
            .run()
            .await
    }

    /// `(url, events, jql, secret)` of every webhook registered in Jira.
    fn registrations(&self) -> Vec<(String, usize, Option<String>, Option<String>)> {
        self.jira.with_state(|s| {
            s.webhook_registrations()
                .map(|w| {
                    (
                        w.url.clone(),
                        w.events.len(),
                        w.jql.clone(),
                        w.secret.clone(),
                    )
                })
                .collect()
        })
    }
}

async fn setup(config: &Config, options: &SetupOptions) -> sir_jira_bridge::onboard::SetupReport {
    let client = jira_client(config.jira.as_ref().unwrap(), Duration::from_secs(5)).unwrap();
    setup_jira(config, &client, options).await.unwrap()
}

fn status(report: &DoctorReport, id: &str) -> CheckStatus {
    report
        .get(id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .status
}

fn fix(report: &DoctorReport, id: &str) -> String {
    report.get(id).unwrap().fix.clone().unwrap_or_default()
}

#[tokio::test]
async fn setup_registers_one_webhook_and_a_second_run_changes_nothing() {
    let mut site = EmulatorConfig::default();
    site.projects.push(ProjectConfig {
        id: "10001".into(),
        key: "OPS".into(),
        name: "Operations".into(),
        ..ProjectConfig::default()
    });
    let fx = Fixture::start_with(site).await;
    let config = Config::from_settings(fx.settings()).unwrap();

    let first = setup(&config, &SetupOptions::default()).await;
    assert_eq!(first.action, SetupAction::Created);
    let hooks = fx.registrations();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let (url, events, jql, secret) = &hooks[0];
    assert_eq!(url, &format!("{PUBLIC_URL}/webhooks/jira"));
    assert_eq!(*events, 6);
    assert_eq!(jql.as_deref(), Some("project = SEC"));
    assert_eq!(
        secret.as_deref(),
        Some(SECRET_OLD),
        "the first configured secret"
    );

    let writes = fx.jira.requests().write_count();
    let second = setup(&config, &SetupOptions::default()).await;
    assert_eq!(second.action, SetupAction::Unchanged);
    assert_eq!(fx.jira.requests().write_count(), writes, "no write");
    assert_eq!(fx.registrations(), hooks);

    // Another project: a dry run shows the change and makes none; the real run updates the
    // same webhook in place.
    let wider = Config::from_settings(Settings {
        jira_project_keys: Some(vec!["SEC".into(), "OPS".into()]),
        ..fx.settings()
    })
    .unwrap();
    let dry = setup(
        &wider,
        &SetupOptions {
            dry_run: true,
            ..SetupOptions::default()
        },
    )
    .await;
    assert_eq!(dry.action, SetupAction::Updated);
    assert!(dry.dry_run);
    assert_eq!(
        dry.changes,
        ["jql: project = SEC -> project in (SEC, OPS)"],
        "{dry}"
    );
    assert_eq!(
        fx.jira.requests().write_count(),
        writes,
        "a dry run writes nothing"
    );
    let updated = setup(&wider, &SetupOptions::default()).await;
    assert_eq!(updated.action, SetupAction::Updated);
    let hooks = fx.registrations();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].2.as_deref(), Some("project in (SEC, OPS)"));
    assert_eq!(
        hooks[0].3.as_deref(),
        Some(SECRET_OLD),
        "the secret is kept"
    );

    // A new public address: the webhook is found by its name and moved, not duplicated.
    let moved = Config::from_settings(Settings {
        public_url: Some("https://elsewhere.example.com/".into()),
        ..fx.settings()
    })
    .unwrap();
    assert_eq!(
        setup(&moved, &SetupOptions::default()).await.action,
        SetupAction::Updated
    );
    let hooks = fx.registrations();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].0, "https://elsewhere.example.com/webhooks/jira");
}

#[tokio::test]
async fn the_registered_webhook_delivers_signed_events_the_gateway_accepts() {
    let fx = Fixture::start().await;
    // The gateway's own secrets are the test ones; setup registers the first of them.
    let app = TestApp::spawn_with(|s| s.jira_project_keys = Some(vec!["SEC".into()])).await;
    let config = Config::from_settings(Settings {
        public_url: Some(app.url("")),
        ..fx.settings()
    })
    .unwrap();
    assert_eq!(
        setup(&config, &SetupOptions::default()).await.action,
        SetupAction::Created
    );

    fx.jira
        .as_human()
        .create_issue("SEC", "Task", "Suspicious login", None)
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.queued().await >= 1
        })
        .await,
        "the delivery was not accepted: {:?}",
        fx.jira.webhooks().deliveries()
    );
}

#[tokio::test]
async fn without_admin_rights_setup_prints_the_manual_steps_and_registers_nothing() {
    let fx = Fixture::start().await;
    let config = Config::from_settings(Settings {
        automation_secret: None,
        ..fx.settings_as_analyst()
    })
    .unwrap();
    let report = setup(&config, &SetupOptions::default()).await;
    assert_eq!(report.action, SetupAction::NeedsAdmin);
    assert!(!report.is_done());
    assert!(fx.registrations().is_empty());
    let text = report.to_string();
    for needed in [
        "administrators only",
        "System > WebHooks > Create a WebHook",
        &format!("URL: {PUBLIC_URL}/webhooks/jira"),
        "JQL: project = SEC",
        "print-webhook-secret",
        "Send web request",
        "x-automation-secret = the value of automation_secret",
        "SIR_JIRA_AUTOMATION_SECRET",
    ] {
        assert!(text.contains(needed), "missing `{needed}` in:\n{text}");
    }
    assert!(
        !text.contains(SECRET_OLD),
        "secrets are never printed:\n{text}"
    );
}

#[tokio::test]
async fn doctor_passes_when_every_link_works() {
    let fx = Fixture::start().await;
    let config = Config::from_settings(fx.settings()).unwrap();
    setup(&config, &SetupOptions::default()).await;

    let report = fx.doctor(fx.settings()).await;
    assert!(report.ok, "{report}");
    for id in [
        "config",
        "jira.reachable",
        "jira.credentials",
        "jira.project",
        "jira.issue_type",
        "jira.statuses",
        "jira.resolutions",
        "jira.transitions",
        "jira.webhook",
        "sir",
        "store",
        "bus",
    ] {
        assert_eq!(status(&report, id), CheckStatus::Ok, "{id}:\n{report}");
    }
    assert!(
        report
            .get("jira.credentials")
            .unwrap()
            .detail
            .contains("SIR Bridge (557058:integration-bridge)"),
        "{report}"
    );
    assert_eq!(status(&report, "sns.subscription"), CheckStatus::Skipped);
    assert_eq!(status(&report, "consumer_queue"), CheckStatus::Skipped);
}

#[tokio::test]
async fn a_mapped_status_missing_from_the_workflow_fails_with_the_fix() {
    let fx = Fixture::start().await;
    let mappings = fx.dir.path().join("mappings.toml");
    std::fs::write(&mappings, "[status]\n\"Closed\" = \"Resolved\"\n").unwrap();
    let report = fx
        .doctor(Settings {
            jira_mappings_file: Some(mappings),
            ..fx.settings()
        })
        .await;
    assert!(!report.ok);
    assert_eq!(status(&report, "jira.statuses"), CheckStatus::Fail);
    let detail = &report.get("jira.statuses").unwrap().detail;
    assert!(detail.contains("`Resolved` (for SIR `Closed`)"), "{report}");
    assert!(
        detail.contains("To Do, In Progress, In Review, Done"),
        "{report}"
    );
    assert!(fix(&report, "jira.statuses").contains("jira_mappings_file"));
    // Every other link is still checked.
    assert_eq!(status(&report, "jira.resolutions"), CheckStatus::Ok);
    assert_eq!(status(&report, "sir"), CheckStatus::Ok);
    assert_eq!(status(&report, "store"), CheckStatus::Ok);
}

#[tokio::test]
async fn a_status_the_workflow_cannot_reach_fails_with_the_fix() {
    // The default workflow without "In Review → Done": Done exists but nothing leads there.
    let mut workflow = WorkflowConfig::default();
    workflow.transitions.retain(|t| t.id != "31");
    let fx = Fixture::start_with(EmulatorConfig::default().with_workflow(workflow)).await;
    let report = fx.doctor(fx.settings()).await;
    assert!(!report.ok);
    assert_eq!(status(&report, "jira.statuses"), CheckStatus::Ok);
    assert_eq!(
        status(&report, "jira.transitions"),
        CheckStatus::Fail,
        "{report}"
    );
    let detail = &report.get("jira.transitions").unwrap().detail;
    assert!(
        detail.contains("`Done` (SIR `Closed`) from `To Do`"),
        "{report}"
    );
    assert!(fix(&report, "jira.transitions").contains("global transition"));
}

#[tokio::test]
async fn a_wrong_token_fails_with_the_fix_and_the_other_links_are_still_checked() {
    let fx = Fixture::start().await;
    let report = fx
        .doctor(Settings {
            jira_api_token: Some(Secret::new("not-the-token")),
            ..fx.settings()
        })
        .await;
    assert!(!report.ok);
    assert_eq!(status(&report, "jira.reachable"), CheckStatus::Ok);
    assert_eq!(status(&report, "jira.credentials"), CheckStatus::Fail);
    let fix = fix(&report, "jira.credentials");
    assert!(
        fix.contains("id.atlassian.com/manage-profile/security/api-tokens"),
        "{fix}"
    );
    assert!(fix.contains("SIR_JIRA_JIRA_API_TOKEN"), "{fix}");
    assert!(!report.to_string().contains("not-the-token"));
    for id in ["jira.project", "jira.statuses", "jira.webhook"] {
        assert_eq!(status(&report, id), CheckStatus::Skipped, "{id}");
    }
    assert_eq!(status(&report, "sir"), CheckStatus::Ok);
    assert_eq!(status(&report, "store"), CheckStatus::Ok);
}

#[tokio::test]
async fn an_unreachable_sir_endpoint_fails_with_the_fix() {
    let fx = Fixture::start().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let report = fx
        .doctor(Settings {
            sir_endpoint_url: Some(format!("http://{closed}")),
            ..fx.settings()
        })
        .await;
    assert!(!report.ok);
    assert_eq!(status(&report, "sir"), CheckStatus::Fail, "{report}");
    assert!(
        report
            .get("sir")
            .unwrap()
            .detail
            .contains("ListCases failed")
    );
    assert!(fix(&report, "sir").contains("sir_endpoint_url"));
    assert_eq!(status(&report, "jira.credentials"), CheckStatus::Ok);
}

#[tokio::test]
async fn sir_access_denied_names_the_permissions() {
    let fx = Fixture::start().await;
    // The doctor's SDK signs as "testing" (see sdk_config_for).
    fx.sir.deny_access_key("testing", true);
    let report = fx.doctor(fx.settings()).await;
    assert_eq!(status(&report, "sir"), CheckStatus::Fail, "{report}");
    assert!(fix(&report, "sir").contains("ListCases"));
    // Derived from the permission list: CreateCase too (issue → case creates cases).
    assert!(
        fix(&report, "sir").contains("CreateCase"),
        "{}",
        fix(&report, "sir")
    );
}

#[tokio::test]
async fn without_admin_rights_the_doctor_warns_where_it_cannot_look() {
    let fx = Fixture::start().await;
    let report = fx.doctor(fx.settings_as_analyst()).await;
    assert_eq!(status(&report, "jira.credentials"), CheckStatus::Ok);
    assert_eq!(status(&report, "jira.statuses"), CheckStatus::Ok);
    assert_eq!(status(&report, "jira.transitions"), CheckStatus::Warn);
    assert_eq!(status(&report, "jira.webhook"), CheckStatus::Warn);
    assert!(report.ok, "warnings are not failures:\n{report}");
}

#[tokio::test]
async fn a_missing_webhook_and_an_invalid_configuration_fail() {
    let fx = Fixture::start().await;
    let report = fx.doctor(fx.settings()).await;
    assert_eq!(status(&report, "jira.webhook"), CheckStatus::Fail);
    assert!(fix(&report, "jira.webhook").contains("setup jira"));

    let invalid = DoctorReport::invalid_config("setting `listen_addr`: nope");
    assert!(!invalid.ok);
    assert_eq!(status(&invalid, "config"), CheckStatus::Fail);
    assert_eq!(status(&invalid, "sir"), CheckStatus::Skipped);
}

/// Runs the binary with only `env` set, off the runtime's threads (the emulators answer on
/// them). Returns the exit code and stdout.
async fn run_bin(args: &[&str], env: Vec<(String, String)>) -> (i32, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN)
            .args(&args)
            .env_clear()
            .envs(env)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    })
    .await
    .unwrap()
}

fn env_of(fx: &Fixture, token: &str) -> Vec<(String, String)> {
    let account = fx.jira.integration_account();
    [
        ("SIR_JIRA_DATA_DIR", fx.dir.path().display().to_string()),
        ("SIR_JIRA_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("SIR_JIRA_JIRA_WEBHOOK_SECRETS", SECRET_NEW.to_owned()),
        ("SIR_JIRA_JIRA_URL", fx.jira.base_url().to_owned()),
        ("SIR_JIRA_JIRA_EMAIL", account.email),
        ("SIR_JIRA_JIRA_API_TOKEN", token.to_owned()),
        ("SIR_JIRA_JIRA_PROJECT_KEY", "SEC".to_owned()),
        ("SIR_JIRA_JIRA_PROJECT_KEYS", "SEC".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sets_up_jira_and_its_doctor_exit_code_says_whether_everything_works() {
    let fx = Fixture::start().await;
    let token = fx.jira.integration_account().api_token.unwrap();

    let (code, out) = run_bin(&["setup", "jira", "--dry-run"], env_of(&fx, &token)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("would be created"), "{out}");
    assert!(fx.registrations().is_empty());

    let (code, out) = run_bin(&["setup", "jira"], env_of(&fx, &token)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("created"), "{out}");
    let (code, out) = run_bin(&["setup", "jira"], env_of(&fx, &token)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already up to date"), "{out}");
    assert_eq!(fx.registrations().len(), 1);
    assert_eq!(fx.registrations()[0].3.as_deref(), Some(SECRET_NEW));

    let (code, out) = run_bin(&["doctor"], env_of(&fx, &token)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all links work"), "{out}");

    let (code, out) = run_bin(&["doctor"], env_of(&fx, "expired-token")).await;
    assert_eq!(code, 1, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("FAIL jira.credentials"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("fix:"), "{line}");

    let (code, out) = run_bin(&["doctor", "--json"], env_of(&fx, "expired-token")).await;
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["ok"], false);

    let mut bad = env_of(&fx, &token);
    bad.push(("SIR_JIRA_LISTEN_ADDR".into(), "nope".into()));
    let (code, out) = run_bin(&["doctor"], bad).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("FAIL config"), "{out}");

    // Without admin rights: the manual steps, exit 2.
    let human = fx.jira.human_account();
    let mut analyst = env_of(&fx, &human.api_token.unwrap());
    analyst.push(("SIR_JIRA_JIRA_EMAIL".into(), human.email));
    let (code, out) = run_bin(&["setup", "jira", "--name", "other"], analyst).await;
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Create a WebHook"), "{out}");
}

#[tokio::test]
async fn the_admin_api_runs_the_doctor_without_changing_anything() {
    let fx = Fixture::start().await;
    let jira = fx.settings();
    let app = TestApp::spawn_with(move |s| {
        s.public_url = jira.public_url;
        s.jira_url = jira.jira_url;
        s.jira_email = jira.jira_email;
        s.jira_api_token = jira.jira_api_token;
        s.jira_project_key = jira.jira_project_key;
    })
    .await;
    let unauthorized = app.client.get(app.url("/v1/doctor")).send().await.unwrap();
    expect_error(unauthorized, 401).await;

    let writes = fx.jira.requests().write_count();
    let (code, body) = app.admin_get("/v1/doctor").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ok"], false, "no webhook yet: {body}");
    let check = |id: &str| {
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {body}"))
    };
    assert_eq!(check("jira.credentials")["status"], "ok");
    assert_eq!(check("jira.webhook")["status"], "fail");
    assert!(
        check("jira.webhook")["fix"]
            .as_str()
            .unwrap()
            .contains("setup jira")
    );
    assert_eq!(check("store")["status"], "ok");
    assert_eq!(check("sir")["status"], "skipped");
    assert_eq!(fx.jira.requests().write_count(), writes, "read-only");
    assert!(fx.registrations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_against_a_jira_without_the_webhook_resource_says_why_once_the_fix_and_the_steps() {
    let fx = Fixture::start().await;
    fx.jira.webhooks().set_rest_resource(false);
    let token = fx.jira.integration_account().api_token.unwrap();

    let (code, out) = run_bin(&["setup", "jira"], env_of(&fx, &token)).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("error: could not list Jira's webhooks: "),
        "{out}"
    );
    // Jira's answer once, not once per layer of the error.
    assert_eq!(out.matches("null for uri").count(), 1, "{out}");
    let fix = out
        .lines()
        .find(|l| l.starts_with("fix: "))
        .unwrap_or_else(|| panic!("no fix line:\n{out}"));
    assert!(
        fix.contains("404") && fix.contains("https://<site>.atlassian.net"),
        "{fix}"
    );
    // The emulator is Jira Cloud: nothing says Data Center.
    assert!(!out.contains("Data Center"), "{out}");
    for step in [
        "System > WebHooks > Create a WebHook",
        &format!("URL: {PUBLIC_URL}/webhooks/jira"),
        "Send web request",
    ] {
        assert!(out.contains(step), "missing `{step}`:\n{out}");
    }
    assert!(fx.registrations().is_empty());

    // The dry run still shows the plan, says why it is unsure, and what to do by hand.
    let (code, out) = run_bin(&["setup", "jira", "--dry-run"], env_of(&fx, &token)).await;
    assert_eq!(code, 2, "{out}");
    for expected in [
        "would be created",
        &format!("url:    {PUBLIC_URL}/webhooks/jira"),
        "jql:    project = SEC",
        "warning: could not list the existing webhooks",
        "Dry run: nothing was changed in Jira.",
        "Create a WebHook",
    ] {
        assert!(out.contains(expected), "missing `{expected}`:\n{out}");
    }
    assert!(!out.contains(SECRET_NEW), "{out}");

    // The resource back: the same command registers the webhook.
    fx.jira.webhooks().set_rest_resource(true);
    let (code, out) = run_bin(&["setup", "jira"], env_of(&fx, &token)).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(fx.registrations().len(), 1);
}
