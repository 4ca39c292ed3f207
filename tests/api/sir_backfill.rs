//! The backfill: every case published once, resumable after an interruption, and the
//! `backfill` command of the real binary.

use std::{collections::HashMap, sync::Arc, time::Duration};

use sir_emulator::{Operation, SeedCase, ThrottleMode, Timestamp};
use sir_jira_bridge::{
    event::sir::CaseChange,
    poll::{
        Poller,
        backfill::{Backfill, PROGRESS, Progress, Retry},
        poller::BASELINE,
    },
    sir::SirApi,
};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_sir-jira-bridge");

fn quick_retry() -> Retry {
    Retry {
        attempts: 2,
        base: Duration::from_millis(1),
        max: Duration::from_millis(2),
    }
}

fn seed(emu: &sir_emulator::EmulatorHandle, n: usize) -> Vec<String> {
    emu.seed_cases(n, |i| SeedCase {
        last_updated_date: Some(Timestamp::from_secs(1_764_000_000 + i as i64)),
        ..SeedCase::default()
    })
}

#[tokio::test]
async fn an_interrupted_backfill_resumes_where_it_stopped() {
    let emu = sir_emulator().await;
    let ids = seed(&emu, 250);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let bus = Arc::new(RecordingBus::default());
    let sir: Arc<dyn SirApi> = Arc::new(sir_client(&emu));
    let job = Backfill::new(sir.clone(), store.clone(), bus.clone()).with_retry(quick_retry());

    // SIR throttles for good after four pages: the run stops with its place recorded.
    emu.set_injection_scope(Some(&[Operation::ListCases]));
    emu.set_throttle(ThrottleMode::Budget(4));
    let mut seen_pages = Vec::new();
    let err = job.run(false, |p| seen_pages.push(p.pages)).await;
    assert!(err.is_err());
    assert_eq!(seen_pages, [1, 2, 3, 4]);
    let progress: Progress =
        serde_json::from_str(&store.checkpoint(PROGRESS).await.unwrap().unwrap()).unwrap();
    assert_eq!((progress.pages, progress.published), (4, 100));
    assert_eq!(progress.total, Some(250));
    assert!(progress.next_token.is_some() && progress.finished_at.is_none());
    assert_eq!(bus.envelopes().len(), 100);

    // Run again: pages five to ten only.
    emu.set_throttle(ThrottleMode::Off);
    emu.reset_log();
    let mut first_seen = None;
    let done = job
        .run(false, |p| {
            first_seen.get_or_insert(p.published);
        })
        .await
        .unwrap();
    assert_eq!(first_seen, Some(100), "resumed, not restarted");
    assert_eq!(emu.log().count(Operation::ListCases), 6);
    assert_eq!((done.pages, done.published), (10, 250));
    assert!(done.finished_at.is_some());

    // Every case exactly once, as a backfill.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (id, change) in bus.case_changes() {
        assert_eq!(change, CaseChange::Backfill);
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(counts.len(), 250);
    assert!(counts.values().all(|n| *n == 1));
    assert!(ids.iter().all(|id| counts.contains_key(id)));

    // The poller's first run is then not another backfill, and finds nothing new.
    assert!(store.checkpoint(BASELINE).await.unwrap().is_some());
    bus.clear();
    let poller = Poller::new(
        sir,
        store.clone(),
        bus.clone(),
        Arc::new(sir_jira_bridge::metrics::Metrics::new()),
        Duration::from_secs(60),
    );
    let sir_jira_bridge::poll::PollOutcome::Polled(report) = poller.run_once().await.unwrap()
    else {
        panic!("skipped")
    };
    assert!(!report.backfill);
    assert_eq!(report.changed, 0);

    // A finished backfill is not resumed: the next one starts over.
    emu.reset_log();
    let again = job.run(false, |_| {}).await.unwrap();
    assert_eq!(again.published, 250);
    assert_eq!(emu.log().count(Operation::ListCases), 10);
}

#[tokio::test]
async fn restart_ignores_an_unfinished_backfill() {
    let emu = sir_emulator().await;
    seed(&emu, 60);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let bus = Arc::new(RecordingBus::default());
    let job = Backfill::new(Arc::new(sir_client(&emu)), store.clone(), bus.clone())
        .with_retry(quick_retry());
    emu.set_injection_scope(Some(&[Operation::ListCases]));
    emu.set_throttle(ThrottleMode::Budget(1));
    job.run(false, |_| {}).await.unwrap_err();
    emu.set_throttle(ThrottleMode::Off);
    emu.reset_log();
    let done = job.run(true, |_| {}).await.unwrap();
    assert_eq!((done.pages, done.published), (3, 60));
    assert_eq!(emu.log().count(Operation::ListCases), 3);
}

/// The binary: publishes onto the embedded queue of the data directory, resuming what a
/// previous (interrupted) backfill left.
#[tokio::test]
async fn the_backfill_command_resumes_and_fills_the_queue() {
    let emu = sir_emulator().await;
    seed(&emu, 80);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // An interrupted backfill in that data directory: two pages done.
    {
        let config =
            sir_jira_bridge::config::Config::from_settings(sir_jira_bridge::config::Settings {
                data_dir: Some(data.clone()),
                ..Default::default()
            })
            .unwrap();
        let backends = sir_jira_bridge::backends::Backends::open(&config, None).unwrap();
        let job = Backfill::new(Arc::new(sir_client(&emu)), backends.store, backends.bus)
            .with_retry(quick_retry());
        emu.set_injection_scope(Some(&[Operation::ListCases]));
        emu.set_throttle(ThrottleMode::Budget(2));
        job.run(false, |_| {}).await.unwrap_err();
        emu.set_throttle(ThrottleMode::Off);
    }
    emu.reset_log();

    let output = tokio::process::Command::new(BIN)
        .arg("backfill")
        .env_clear()
        .env("SIR_JIRA_DATA_DIR", &data)
        .env("SIR_JIRA_SIR_ENABLED", "true")
        .env("SIR_JIRA_SIR_ENDPOINT_URL", emu.endpoint_url())
        .env("SIR_JIRA_AWS_REGION", "us-east-1")
        .env("SIR_JIRA_LOG_FORMAT", "json")
        .env("AWS_ACCESS_KEY_ID", "AKIDBACKFILL")
        .env("AWS_SECRET_ACCESS_KEY", "fake")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("published 80 case events (4 ListCases pages)"),
        "{stdout}"
    );
    assert_eq!(
        emu.log().count(Operation::ListCases),
        2,
        "pages 3 and 4 only"
    );

    // The queue holds each case once (the first run's 50 and the command's 30).
    let db = sir_jira_bridge::db::Db::open(&data.join("sir-jira-bridge.sqlite3")).unwrap();
    let queue = sir_jira_bridge::bus::EmbeddedQueue::new(db, quick_queue());
    let stats = queue.stats().await.unwrap();
    assert_eq!(stats.ready, 80);
}

#[tokio::test]
async fn the_backfill_command_needs_sir() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(BIN)
        .arg("backfill")
        .env_clear()
        .env("SIR_JIRA_DATA_DIR", dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sir_enabled"), "{stderr}");
}

fn quick_queue() -> sir_jira_bridge::config::QueueConfig {
    sir_jira_bridge::config::QueueConfig {
        workers: 0,
        max_attempts: 8,
        lease: Duration::from_secs(30),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(2),
        retention: Duration::from_secs(3600),
    }
}
