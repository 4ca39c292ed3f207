//! The Jira reconciler against the Jira emulator: changes whose webhooks never arrived (the
//! webhook disabled while people worked) reach the case at the next reconcile, each once; a
//! late webhook for a change the reconciler already brought writes nothing more; rate limits
//! are waited out; a reconcile with nothing changed costs one search call; Data Center too.
//!
//! The deployment runs with its own reconciler off, so each test decides when a run happens:
//! it runs the production reconciler on the deployment's store and bus.

use std::{sync::Arc, time::Duration};

use sir_emulator::{CaseStatus as SirStatus, Operation};
use sir_jira_bridge::{
    domain::ProjectKey,
    jira::{Flavour, JiraApi, OwnAccount},
    metrics::Metrics,
    peers::PeerHealth,
    sync::reconciler::{
        JiraReconciler, RECOVERED, ReconcileOutcome, ReconcileReport, ReconcilerSettings,
    },
};

use crate::{
    end_to_end::Deployment,
    helpers::{SECRET_NEW, eventually},
    jira_sync::jira_client,
};

const WAIT: Duration = Duration::from_secs(30);

async fn deployment(flavour: Flavour) -> Deployment {
    Deployment::start_with(flavour, "", |s| s.jira_reconcile_enabled = Some(false)).await
}

/// The production reconciler on the deployment's store and queue, with no grace period (the
/// tests' changes are seconds old).
fn reconciler(d: &Deployment, flavour: Flavour) -> JiraReconciler {
    let api: Arc<dyn JiraApi> = Arc::new(jira_client(
        &d.jira,
        flavour,
        Arc::new(Metrics::new()),
        Arc::new(PeerHealth::default()),
    ));
    JiraReconciler::new(
        api.clone(),
        Arc::new(OwnAccount::new(api, Some(d.own_account.to_owned()))),
        d.app.store.clone(),
        d.app.queue.clone(),
        Arc::new(Metrics::new()),
        ProjectKey::parse("SEC").unwrap(),
        settings(),
    )
}

/// The defaults, but no grace: the tests' changes are seconds old.
fn settings() -> ReconcilerSettings {
    ReconcilerSettings {
        interval: Duration::from_secs(300),
        overlap: Duration::from_secs(600),
        grace: Duration::ZERO,
        lease_ttl: Duration::from_secs(900),
    }
}

async fn run(r: &JiraReconciler) -> ReconcileReport {
    match r.run_once().await.expect("reconcile") {
        ReconcileOutcome::Reconciled(report) => report,
        ReconcileOutcome::Skipped => panic!("skipped"),
    }
}

/// Jira's search calls since the log was last reset.
fn searches(d: &Deployment) -> usize {
    d.jira
        .requests()
        .all()
        .iter()
        .filter(|r| r.path.contains("/search"))
        .count()
}

/// A person comments, moves the issue, renames it and attaches a file while the webhook is
/// disabled; one reconcile brings all four to the case, once each.
async fn lost_changes_are_recovered_once(flavour: Flavour) {
    let d = deployment(flavour).await;
    let (case_id, key) = d.synced_case("Beaconing from a build host").await;
    let r = reconciler(&d, flavour);
    // A first run sees the issue as the case → issue sync left it: nothing to recover.
    assert_eq!(run(&r).await.recovered, 0);

    d.jira.webhooks().clear_target();
    let dana = d.jira.as_human();
    dana.add_comment(&key, "Blocked the C2 domain at the proxy.")
        .unwrap();
    dana.move_to(&key, "In Progress").unwrap();
    dana.edit_summary(&key, "Beaconing from build host bh-7")
        .unwrap();
    dana.add_attachment(
        &key,
        "proxy.log",
        "text/plain",
        b"CONNECT c2.example".to_vec(),
    )
    .unwrap();
    d.settle().await;
    assert_eq!(
        d.sir_writes(),
        Vec::<Operation>::new(),
        "no webhook arrived"
    );

    d.reset_logs();
    let report = run(&r).await;
    assert_eq!(
        report.recovered, 2,
        "one issue event, one comment event: {report:?}"
    );
    assert_eq!(report.compared, 1);
    d.settle().await;
    let case = d.sir.case(&case_id).unwrap();
    assert_eq!(case.title, "Beaconing from build host bh-7");
    assert_eq!(case.case_status, SirStatus::DetectionAndAnalysis);
    assert_eq!(case.attachments.len(), 1, "{:?}", case.attachments);
    let comments = d.sir.comments(&case_id);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .body
            .contains("Blocked the C2 domain at the proxy.")
    );
    let mut writes = d.sir_writes();
    writes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        writes,
        vec![
            Operation::CreateCaseComment,
            Operation::GetCaseAttachmentUploadUrl,
            Operation::UpdateCase,
            Operation::UpdateCaseStatus,
        ]
    );
    assert_eq!(
        d.jira_writes(),
        Vec::<String>::new(),
        "nothing written back to Jira"
    );
    let status = d.app.admin_get("/v1/status").await.1;
    assert_eq!(status["reconciler"]["recovered_last_day"], 2, "{status}");
    assert_eq!(status["reconciler"]["last_run"]["recovered"], 2, "{status}");

    // Nothing changed since: one search call, nothing recovered, nothing written.
    d.reset_logs();
    let report = run(&r).await;
    assert_eq!(report.recovered, 0, "{report:?}");
    assert_eq!(searches(&d), 1);
    assert_eq!(
        d.jira.requests().all().len(),
        1,
        "one search, no per-issue call: {:?}",
        d.jira.requests().all()
    );
    d.settle().await;
    assert_eq!(d.sir_writes(), Vec::<Operation>::new());
}

#[tokio::test]
async fn changes_whose_webhooks_were_lost_reach_the_case_once() {
    lost_changes_are_recovered_once(Flavour::Cloud).await;
}

#[tokio::test]
async fn data_center_changes_whose_webhooks_were_lost_reach_the_case_once() {
    lost_changes_are_recovered_once(Flavour::DataCenter).await;
}

/// A comment the reconciler brought, then its webhook arriving late (a retry after an outage):
/// the case has one copy. And the other order: a change its webhook brought is not recovered.
#[tokio::test]
async fn a_late_webhook_and_the_reconciler_apply_a_change_once() {
    let d = deployment(Flavour::Cloud).await;
    let (case_id, key) = d.synced_case("Phishing wave").await;
    let r = reconciler(&d, Flavour::Cloud);
    run(&r).await;

    // Deliveries kept in the emulator, not sent: the test sends them late.
    d.jira
        .webhooks()
        .set_target(jira_emulator::MEMORY_TARGET, Some(SECRET_NEW));
    d.jira.webhooks().clear_deliveries();
    d.jira
        .as_human()
        .add_comment(&key, "Three more reports from finance.")
        .unwrap();
    assert!(d.jira.webhooks().wait_idle(WAIT).await);
    let late = d.jira.webhooks().deliveries();
    assert!(!late.is_empty());

    d.reset_logs();
    assert_eq!(run(&r).await.recovered, 1);
    d.settle().await;
    assert_eq!(d.sir_writes(), vec![Operation::CreateCaseComment]);

    d.reset_logs();
    for delivery in &late {
        let r = d
            .app
            .post_signed(&delivery.body, SECRET_NEW, &delivery.identifier)
            .await;
        assert!(r.status().is_success(), "{}", r.status());
    }
    d.settle().await;
    assert_eq!(
        d.sir_writes(),
        Vec::<Operation>::new(),
        "the late webhook wrote nothing"
    );
    assert_eq!(d.sir.comments(&case_id).len(), 1);

    // The other order: the webhook brings an edit, the reconciler then finds nothing.
    d.jira
        .webhooks()
        .set_target(&d.app.url("/webhooks/jira"), Some(SECRET_NEW));
    d.jira
        .as_human()
        .edit_summary(&key, "Phishing wave (finance)")
        .unwrap();
    assert!(
        eventually(WAIT, || async {
            d.sir.case(&case_id).unwrap().title == "Phishing wave (finance)"
        })
        .await
    );
    d.settle().await;
    d.reset_logs();
    assert_eq!(run(&r).await.recovered, 0);
    d.settle().await;
    assert_eq!(d.sir_writes(), Vec::<Operation>::new());
}

/// Jira answering 429 with Retry-After to every other call: the reconcile waits and still
/// brings the change.
#[tokio::test]
async fn a_rate_limited_reconcile_still_recovers() {
    let d = deployment(Flavour::Cloud).await;
    let (case_id, key) = d.synced_case("Credential stuffing").await;
    let r = reconciler(&d, Flavour::Cloud);
    run(&r).await;
    d.jira.webhooks().clear_target();
    d.jira.as_human().move_to(&key, "In Progress").unwrap();
    d.jira.rate_limit_every(2, 1);
    assert_eq!(run(&r).await.recovered, 1);
    assert!(
        eventually(WAIT, || async {
            d.sir.case(&case_id).unwrap().case_status == SirStatus::DetectionAndAnalysis
        })
        .await
    );
    d.jira.clear_rate_limit();
    let throttled = d
        .jira
        .requests()
        .all()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert!(throttled > 0, "the emulator throttled some calls");
}

/// What `doctor` and `/v1/status` say: changes recovered over the last day mean webhooks are
/// being lost; older ones are forgotten.
#[tokio::test]
async fn recovered_changes_make_doctor_warn() {
    // The reconciler on (as by default), on an interval longer than the test.
    let d = Deployment::start_with(Flavour::Cloud, "", |s| {
        s.jira_reconcile_interval_secs = Some(3600)
    })
    .await;
    let doctor_check = || async {
        let (code, report) = d.app.admin_get("/v1/doctor").await;
        assert_eq!(code, 200, "{report}");
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "jira.reconciler")
            .cloned()
            .unwrap_or_else(|| panic!("{report}"))
    };
    // Its start-up run has happened once it recorded itself.
    assert!(
        eventually(WAIT, || async {
            d.app.admin_get("/v1/status").await.1["reconciler"]["last_run"]["result"] == "ok"
        })
        .await
    );
    assert_eq!(doctor_check().await["status"], "ok");

    // A run that recovered three changes an hour ago, and one from two days ago.
    let now = sir_jira_bridge::db::now_ms();
    let history = serde_json::json!([[now - 2 * 86_400_000, 5], [now - 3_600_000, 3]]);
    d.app
        .store
        .put_checkpoint(RECOVERED, &history.to_string())
        .await
        .unwrap();
    let status = d.app.admin_get("/v1/status").await.1;
    assert_eq!(status["reconciler"]["recovered_last_day"], 3, "{status}");
    let check = doctor_check().await;
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("recovered 3"),
        "{check}"
    );
    assert!(
        check["fix"].as_str().unwrap().contains("webhook"),
        "{check}"
    );
}

/// With the reconciler turned off, doctor says so.
#[tokio::test]
async fn doctor_says_when_the_reconciler_is_off() {
    let d = deployment(Flavour::Cloud).await;
    let (_, report) = d.app.admin_get("/v1/doctor").await;
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "jira.reconciler")
        .cloned()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(check["status"], "skipped", "{check}");
    assert!(check["detail"].as_str().unwrap().contains("off"), "{check}");
}

/// Jira calls per reconcile for 1,000 mapped issues (docs/benchmarks.md): after the first run
/// has seen them, a run with nothing changed is one search call for the whole site, and a run
/// with 10 issues commented on is still one (the comments come with the search page).
#[tokio::test]
async fn a_reconcile_of_a_thousand_mapped_issues_costs_one_search() {
    let jira = jira_emulator::JiraEmulator::start(jira_emulator::EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::sqlite_store(dir.path());
    let bus = Arc::new(crate::helpers::RecordingBus::default());
    let dana = jira.as_human();
    let mut keys = Vec::new();
    for n in 0..1_000u64 {
        let summary = format!("Incident {n}");
        let issue = dana.create_issue("SEC", "Task", &summary, None).unwrap();
        let case_id = format!("{:010}", 1_000_000 + n);
        store
            .insert_mapping(&sir_jira_bridge::store::Mapping {
                case_id: case_id.clone(),
                issue_key: issue.key.clone(),
                issue_id: Some(issue.id.clone()),
            })
            .await
            .unwrap();
        sir_jira_bridge::sync::case_to_issue::IssueLedger {
            case_id,
            summary: Some(summary),
            description_text: Some(String::new()),
            status: Some("To Do".into()),
            ..Default::default()
        }
        .save(store.as_ref(), &issue.key)
        .await
        .unwrap();
        keys.push(issue.key);
    }
    let api: Arc<dyn JiraApi> = Arc::new(jira_client(
        &jira,
        Flavour::Cloud,
        Arc::new(Metrics::new()),
        Arc::new(PeerHealth::default()),
    ));
    let own = api.myself().await.unwrap().id;
    let r = JiraReconciler::new(
        api.clone(),
        Arc::new(OwnAccount::new(api, Some(own))),
        store,
        bus.clone(),
        Arc::new(Metrics::new()),
        ProjectKey::parse("SEC").unwrap(),
        settings(),
    );
    let calls = |jira: &jira_emulator::JiraEmulator| jira.requests().all().len();

    // The first run finds every issue fresh (made seconds ago) and compares each: a page per
    // hundred, nothing recovered.
    jira.requests().reset();
    let first = run(&r).await;
    assert_eq!(
        (first.issues, first.compared, first.recovered),
        (1_000, 1_000, 0)
    );
    assert_eq!(calls(&jira), 10, "{first:?}");

    // An hour later with nothing changed: one search that finds nothing.
    jira.age(Duration::from_secs(3_600));
    jira.requests().reset();
    let quiet = run(&r).await;
    assert_eq!((quiet.issues, quiet.recovered), (0, 0), "{quiet:?}");
    assert_eq!(calls(&jira), 1);
    let quiet_again = run(&r).await;
    assert_eq!(quiet_again.recovered, 0);
    assert_eq!(calls(&jira), 2);

    // Ten issues commented on: still one search, ten comments recovered.
    for key in keys.iter().step_by(100) {
        dana.add_comment(key, "Seen again in the proxy logs.")
            .unwrap();
    }
    jira.requests().reset();
    bus.clear();
    let busy = run(&r).await;
    assert_eq!(
        (busy.issues, busy.compared, busy.recovered),
        (10, 10, 10),
        "{busy:?}"
    );
    assert_eq!(calls(&jira), 1);
    assert!(
        bus.envelopes()
            .iter()
            .all(|e| e.event.type_name() == "jira.comment.created"),
        "{:?}",
        bus.envelopes()
    );
    // And once seen, the same ten cost nothing more.
    jira.requests().reset();
    bus.clear();
    let after = run(&r).await;
    assert_eq!((after.issues, after.compared, after.recovered), (10, 0, 0));
    assert_eq!(calls(&jira), 1);
}
