//! The SIR poller through the real SDK against the SIR emulator: what a run costs (counted in
//! the emulator's request log), which cases it reports, the lease, throttling, and the
//! in-process task of the embedded deployment.

use std::{collections::HashSet, sync::Arc, time::Duration};

use sir_emulator::{
    CaseStatus as EmuStatus, ClosureCode, EmulatorHandle, Operation, SeedCase, ThrottleMode,
    Timestamp,
};
use sir_jira_bridge::{
    event::{Event, Origin, sir::CaseChange},
    metrics::Metrics,
    poll::{
        PollOutcome, PollReport, Poller, PollerError,
        poller::{BASELINE, LEASE, poll_once},
        watermark,
    },
    sir::{SirApi, SirError},
    store::StateStore,
};
use tempfile::TempDir;

use crate::helpers::*;

struct Setup {
    emu: EmulatorHandle,
    store: Arc<dyn StateStore>,
    bus: Arc<RecordingBus>,
    sir: Arc<dyn SirApi>,
    _dir: TempDir,
}

/// `n` seeded cases with distinct past `lastUpdatedDate`s; a SQLite store; a recording bus.
async fn setup(n: usize) -> (Setup, Vec<String>) {
    let emu = sir_emulator().await;
    let ids = emu.seed_cases(n, |i| SeedCase {
        last_updated_date: Some(Timestamp::from_secs(1_764_000_000 + i as i64)),
        ..SeedCase::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let sir: Arc<dyn SirApi> = Arc::new(sir_client(&emu));
    let setup = Setup {
        store: sqlite_store(dir.path()),
        bus: Arc::new(RecordingBus::default()),
        sir,
        emu,
        _dir: dir,
    };
    (setup, ids)
}

impl Setup {
    fn poller(&self) -> Poller {
        Poller::new(
            self.sir.clone(),
            self.store.clone(),
            self.bus.clone(),
            Arc::new(Metrics::new()),
            Duration::from_secs(60),
        )
    }
}

fn polled(outcome: PollOutcome) -> PollReport {
    match outcome {
        PollOutcome::Polled(report) => report,
        PollOutcome::Skipped => panic!("the poller was skipped"),
    }
}

#[tokio::test]
async fn a_run_over_1000_cases_with_10_changed_costs_40_list_calls_and_10_events() {
    let (s, ids) = setup(1_000).await;
    let poller = s.poller();
    // The first run on an empty store: a backfill of everything.
    let first = polled(poller.run_once().await.unwrap());
    assert!(first.backfill);
    assert_eq!(
        (first.cases, first.changed, first.pages),
        (1_000, 1_000, 40)
    );
    s.bus.clear();
    s.emu.reset_log();

    // Ten changes of every kind a human makes, spread over the listing.
    let changed: Vec<&String> = ids.iter().step_by(100).collect();
    let analyst = s.emu.analyst();
    analyst.add_comment(changed[0], "Scoping started").unwrap();
    analyst.set_title(changed[1], "Renamed").unwrap();
    analyst
        .set_status(changed[2], EmuStatus::DetectionAndAnalysis)
        .unwrap();
    analyst
        .close(changed[3], ClosureCode::FalsePositive)
        .unwrap();
    analyst.set_description(changed[4], "More detail").unwrap();
    let comment = analyst.add_comment(changed[5], "First take").unwrap();
    for case in &changed[6..] {
        analyst.add_comment(case, "Another").unwrap();
    }
    analyst
        .edit_comment(changed[5], &comment, "First take, edited")
        .unwrap();

    let second = polled(poller.run_once().await.unwrap());
    assert!(!second.backfill);
    assert_eq!(
        (second.cases, second.changed, second.pages),
        (1_000, 10, 40)
    );
    // ⌈1000/25⌉ ListCases and nothing else: no GetCase for any case, changed or not (the
    // consumer fetches the ten).
    let log = s.emu.log();
    assert_eq!(log.count(Operation::ListCases), 40);
    assert_eq!(log.count(Operation::GetCase), 0);
    assert_eq!(s.emu.requests().len(), 40);

    let events = s.bus.envelopes();
    assert_eq!(events.len(), 10);
    let reported: HashSet<String> = s.bus.case_changes().into_iter().map(|(id, _)| id).collect();
    let expected: HashSet<String> = changed.iter().map(|id| id.to_string()).collect();
    assert_eq!(reported, expected);
    for env in &events {
        assert_eq!(env.origin, Origin::SirPoller);
        let Event::SirCaseChanged(c) = &env.event else {
            panic!("{env:?}")
        };
        assert_eq!(c.change, CaseChange::Polled);
        assert!(c.last_updated.is_some());
    }

    // Nothing changed since: a quiet run costs the list calls only.
    s.emu.reset_log();
    let third = polled(poller.run_once().await.unwrap());
    assert_eq!((third.changed, third.pages), (0, 40));
    assert_eq!(s.emu.requests().len(), 40);
    assert_eq!(s.bus.envelopes().len(), 10);
}

#[tokio::test]
async fn the_first_run_on_an_empty_store_backfills_and_later_cases_are_polled() {
    let (s, ids) = setup(60).await;
    let poller = s.poller();
    assert_eq!(s.store.checkpoint(BASELINE).await.unwrap(), None);
    let report = polled(poller.run_once().await.unwrap());
    assert!(report.backfill);
    let changes = s.bus.case_changes();
    assert_eq!(changes.len(), 60);
    assert!(changes.iter().all(|(_, c)| *c == CaseChange::Backfill));
    let every: HashSet<String> = changes.into_iter().map(|(id, _)| id).collect();
    assert_eq!(every, ids.into_iter().collect::<HashSet<_>>());
    assert!(s.store.checkpoint(BASELINE).await.unwrap().is_some());

    // A case created afterwards is a change like any other, not a backfill.
    s.bus.clear();
    let new = s.emu.analyst().create_case(Default::default());
    let report = polled(poller.run_once().await.unwrap());
    assert!(!report.backfill);
    assert_eq!(s.bus.case_changes(), [(new, CaseChange::Polled)]);
}

#[tokio::test]
async fn a_closed_case_is_reported_once_when_it_closes() {
    let (s, ids) = setup(30).await;
    let poller = s.poller();
    polled(poller.run_once().await.unwrap());
    s.bus.clear();

    s.emu
        .analyst()
        .close(&ids[7], ClosureCode::InvestigationCompleted)
        .unwrap();
    polled(poller.run_once().await.unwrap());
    assert_eq!(s.bus.case_changes(), [(ids[7].clone(), CaseChange::Polled)]);
    for _ in 0..3 {
        polled(poller.run_once().await.unwrap());
    }
    assert_eq!(
        s.bus.case_changes().len(),
        1,
        "closed and quiet: never again"
    );
}

#[tokio::test]
async fn two_pollers_with_one_lease_one_polls() {
    let (s, _) = setup(100).await;
    let (a, b) = (s.poller(), s.poller());
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    let outcomes = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == PollOutcome::Skipped)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        s.emu.log().count(Operation::ListCases),
        4,
        "one poller's pages"
    );
    assert_eq!(s.bus.envelopes().len(), 100, "each case once");

    // The holder keeps the lease between runs; the other stays idle.
    let (holder, other) = match outcomes[0] {
        PollOutcome::Skipped => (&b, &a),
        _ => (&a, &b),
    };
    s.emu.reset_log();
    assert_eq!(other.run_once().await.unwrap(), PollOutcome::Skipped);
    assert!(matches!(
        holder.run_once().await.unwrap(),
        PollOutcome::Polled(_)
    ));
    assert_eq!(s.emu.log().count(Operation::ListCases), 4);

    // When the holder stops, the other takes over at once.
    holder.release().await;
    assert!(matches!(
        other.run_once().await.unwrap(),
        PollOutcome::Polled(_)
    ));
    assert!(
        !s.store
            .acquire_lease(LEASE, holder.owner(), Duration::from_secs(1))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn poll_once_gives_the_lease_back_for_the_next_invocation() {
    let (s, _) = setup(10).await;
    let first = s.poller();
    assert!(matches!(
        poll_once(&first).await.unwrap(),
        PollOutcome::Polled(_)
    ));
    // A scheduled invocation elsewhere (another owner) is not locked out.
    let next = s.poller();
    assert!(matches!(
        poll_once(&next).await.unwrap(),
        PollOutcome::Polled(_)
    ));
}

#[tokio::test]
async fn throttling_is_retried_and_nothing_is_lost() {
    let (s, ids) = setup(200).await;
    let poller = s.poller();
    polled(poller.run_once().await.unwrap());
    s.bus.clear();
    let changed: Vec<&String> = ids.iter().step_by(20).collect();
    for case in &changed {
        s.emu.analyst().add_comment(case, "news").unwrap();
    }

    // Every third ListCases throttled: the SDK's retries absorb it.
    s.emu.set_injection_scope(Some(&[Operation::ListCases]));
    s.emu.set_throttle(ThrottleMode::EveryNth(3));
    s.emu.reset_log();
    let report = polled(poller.run_once().await.unwrap());
    assert_eq!(report.changed, 10);
    let throttled = s.emu.log().count_where(|r| r.status == 429);
    assert!(throttled > 0, "the emulator throttled");
    s.bus.clear();

    // Throttled past the SDK's retries mid-listing: the run fails, says so, and the next one
    // reports exactly what is left.
    for case in &changed {
        s.emu.analyst().add_comment(case, "more news").unwrap();
    }
    s.emu.set_throttle(ThrottleMode::Budget(4));
    let err = poller.run_once().await.unwrap_err();
    assert!(
        matches!(err, PollerError::Sir(SirError::Throttled { .. })),
        "{err}"
    );
    let last_run: serde_json::Value = serde_json::from_str(
        &s.store
            .checkpoint("poller.last_run")
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last_run["result"], "failed", "{last_run}");
    assert!(last_run["error"].as_str().unwrap().contains("Throttling"));
    let before = s.bus.case_changes().len();
    assert!(before < 10, "the run stopped part-way ({before} published)");

    s.emu.set_throttle(ThrottleMode::Off);
    polled(poller.run_once().await.unwrap());
    let mut reported: Vec<String> = s.bus.case_changes().into_iter().map(|(id, _)| id).collect();
    reported.sort();
    let mut expected: Vec<String> = changed.iter().map(|id| id.to_string()).collect();
    expected.sort();
    assert_eq!(reported, expected, "every change once, none lost");
}

#[tokio::test]
async fn watermarks_are_per_case_checkpoints() {
    let (s, ids) = setup(3).await;
    polled(s.poller().run_once().await.unwrap());
    let case = s.emu.case(&ids[0]).unwrap();
    let key = watermark::key(&sir_jira_bridge::sir::CaseId::parse(&ids[0]).unwrap());
    assert_eq!(key, format!("sir.case.{}.last_updated", ids[0]));
    let stored = s.store.checkpoint(&key).await.unwrap().unwrap();
    let at = time::OffsetDateTime::parse(&stored, &time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(
        at.unix_timestamp_nanos() / 1_000_000,
        i128::from(case.last_updated_date.as_millis())
    );
}

#[tokio::test]
async fn the_embedded_service_polls_in_process_and_shows_the_last_run() {
    let emu = sir_emulator().await;
    let ids = emu.seed_cases(30, |_| SeedCase::default());
    let sdk = sdk_config_for(&emu.endpoint_url()).await;
    let endpoint = emu.endpoint_url();
    let app = TestApp::spawn_with_sdk(
        move |s| {
            s.sir_enabled = Some(true);
            s.sir_endpoint_url = Some(endpoint);
            s.sir_poll_interval_secs = Some(1);
        },
        sdk,
    )
    .await;

    // The first run backfills into the embedded queue.
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.queued().await >= 30
        })
        .await
    );
    // The run records itself once its events are queued.
    assert!(
        eventually(Duration::from_secs(5), || async {
            !app.admin_get("/v1/status").await.1["poller"]["last_run"].is_null()
        })
        .await
    );
    let (status, body) = app.admin_get("/v1/status").await;
    assert_eq!(status, 200);
    let last_run = &body["poller"]["last_run"];
    assert_eq!(last_run["result"], "ok", "{body}");
    assert_eq!(last_run["cases"], 30);
    assert!(last_run["at"].is_string());

    // A change is picked up by a later run.
    emu.analyst().add_comment(&ids[3], "seen?").unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.queued().await == 31
        })
        .await
    );
    let events = app
        .queue
        .recent(&sir_jira_bridge::bus::EventFilter::default())
        .await
        .unwrap();
    let Event::SirCaseChanged(newest) = &events[0].envelope.event else {
        panic!("{:?}", events[0])
    };
    assert_eq!(newest.case_id, ids[3]);
    assert_eq!(newest.change, CaseChange::Polled);
    // The event is queued before its run finishes and counts itself.
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.metric(r#"sir_jira_sir_poll_runs_total{result="ok"}"#)
                .await
                >= 2.0
        })
        .await
    );
    assert!(
        app.metric(
            r#"sir_jira_peer_api_calls_total{peer="sir",operation="ListCases",status="200"}"#
        )
        .await
            >= 2.0
    );

    // Graceful shutdown stops the poller and gives its lease back.
    let store = app.store.clone();
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("stops promptly");
    assert!(
        store
            .acquire_lease(LEASE, "someone-else", Duration::from_secs(1))
            .await
            .unwrap(),
        "the lease was released"
    );
}
