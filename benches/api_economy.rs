//! API economy: the calls the service makes to Jira and SIR for typical work, counted from the
//! emulators' request logs, with the whole loop running: the service on its embedded default,
//! Jira's admin webhook pointed at the gateway (so every Jira change, ours included, comes
//! back), and SIR's native events handed to the bus as the native-event consumer would (so
//! every SIR change, ours included, comes back too).
//!
//! Scenarios: the first poll over 1,000 cases (a backfill creating 1,000 issues); a poll cycle
//! over 1,000 cases with 10 changed, compared with the seed integration's five calls per active
//! case per poll; an echo of our own write, each way; a no-op update, each way; a status change
//! needing two Jira transitions; a SIR comment mirrored to Jira; a new case once the service
//! runs, at the workflow's initial status and two transitions further.
//!
//! The counts are deterministic: each scenario runs until Jira has delivered every webhook,
//! SIR's events are forwarded and the queue is empty, so timing changes nothing but how long it
//! takes. Run with `cargo bench --bench api_economy`. This reports; it asserts nothing (tests
//! assert the targets: see docs/benchmarks.md). Results: docs/benchmarks.md.

mod common;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use common::{Stack, machine};
use jira_emulator::EmulatorConfig as JiraConfig;
use sir_emulator::{CaseStatus, ClosureCode, SeedCase, Timestamp};
use sir_jira_bridge::{
    event::sir::{Native, from_native},
    metrics::Metrics,
    poll::{PollOutcome, Poller},
};

const CASES: usize = 1_000;
const SETTLE: Duration = Duration::from_secs(600);

/// Calls seen by both emulators since the last reset.
struct Counts {
    sir: BTreeMap<String, usize>,
    sir_calls: usize,
    sir_writes: usize,
    jira: BTreeMap<String, usize>,
    jira_calls: usize,
    jira_writes: usize,
}

/// `PUT /rest/api/3/issue/SEC-12/comment/10004` → `PUT /rest/api/3/issue/{}/comment/{}`.
fn route(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let shape: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let key_like = s.split_once('-').is_some_and(|(p, n)| {
                !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_uppercase())
                    && n.chars().all(|c| c.is_ascii_digit())
            });
            let id_like = !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
            // The API version (`/rest/api/3`) stays.
            let version = i > 0 && segments[i - 1] == "api";
            if key_like || (id_like && !version) {
                "{}"
            } else {
                s
            }
        })
        .collect();
    format!("{method} {}", shape.join("/"))
}

fn counts(stack: &Stack) -> Counts {
    let mut sir = BTreeMap::new();
    let sir_records = stack.sir.log().records();
    for r in &sir_records {
        *sir.entry(r.operation.name().to_owned()).or_default() += 1;
    }
    let mut jira = BTreeMap::new();
    let jira_records = stack.jira.requests().all();
    for r in &jira_records {
        *jira.entry(route(&r.method, &r.path)).or_default() += 1;
    }
    Counts {
        sir,
        sir_calls: sir_records.len(),
        sir_writes: stack.sir.log().count_writes(),
        jira,
        jira_calls: jira_records.len(),
        jira_writes: stack.jira.requests().write_count(),
    }
}

fn reset(stack: &Stack) {
    stack.sir.reset_log();
    stack.jira.requests().reset();
}

/// Hands SIR's native events since `seen` to the bus (as the EventBridge rule → consumer path
/// does) and waits for everything to settle, until SIR emits no more. Returns how many events
/// were forwarded.
async fn pump(stack: &Stack, seen: &mut usize) -> usize {
    let mut forwarded = 0;
    loop {
        assert!(stack.settle(SETTLE).await, "the service did not settle");
        let events = stack.sir.events();
        if events.len() <= *seen {
            return forwarded;
        }
        for event in &events[*seen..] {
            if let Ok(Native::Changed(envelope)) = from_native(&event.to_json()) {
                stack.publish(*envelope).await;
                forwarded += 1;
            }
        }
        *seen = events.len();
    }
}

fn row(scenario: &str, c: &Counts, target: &str) {
    let ops = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} ×{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "| {scenario} | {} | {} | {} | {} | {target} | {} | {} |",
        c.sir_calls,
        c.sir_writes,
        c.jira_calls,
        c.jira_writes,
        ops(&c.sir),
        ops(&c.jira)
    );
}

#[tokio::main]
async fn main() {
    let stack = Stack::start(JiraConfig::default(), |s| {
        // Retries are not part of the economy; none are expected, and a short backoff keeps a
        // surprise from stalling the run.
        s.backoff_base_ms = Some(50);
    })
    .await;
    stack.connect_jira_webhooks();
    println!("machine: {}", machine());
    let ids = stack.sir.seed_cases(CASES, |i| SeedCase {
        last_updated_date: Some(Timestamp::from_secs(1_764_000_000 + i as i64)),
        ..SeedCase::default()
    });
    let poller = Poller::new(
        stack.sir_api.clone(),
        stack.store.clone(),
        stack.queue.clone(),
        Arc::new(Metrics::new()),
        Duration::from_secs(60),
    );
    let mut seen = stack.sir.events().len();
    println!(
        "| scenario | SIR calls | SIR writes | Jira calls | Jira writes | target | SIR calls by operation | Jira calls by route |"
    );
    println!("|---|---|---|---|---|---|---|---|");

    // The first poll on an empty store publishes every case: 1,000 issues are created.
    let started = std::time::Instant::now();
    let PollOutcome::Polled(first) = poller.run_once().await.unwrap() else {
        panic!("the poller was skipped")
    };
    pump(&stack, &mut seen).await;
    let backfill = counts(&stack);
    row(
        &format!(
            "first poll: backfill of {} cases ({} events, {:.1} s)",
            first.cases,
            first.changed,
            started.elapsed().as_secs_f64()
        ),
        &backfill,
        "1,000 issues, 0 SIR writes",
    );
    println!(
        "<!-- issues in Jira: {}, per case: {:.1} Jira calls, {:.1} SIR calls -->",
        stack.jira.issues().len(),
        backfill.jira_calls as f64 / CASES as f64,
        backfill.sir_calls as f64 / CASES as f64
    );

    // A poll cycle over 1,000 cases with 10 changed by an analyst.
    reset(&stack);
    let changed: Vec<&String> = ids.iter().step_by(CASES / 10).collect();
    let analyst = stack.sir.analyst();
    analyst.add_comment(changed[0], "Scoping started").unwrap();
    analyst.set_title(changed[1], "Renamed").unwrap();
    analyst
        .set_status(changed[2], CaseStatus::DetectionAndAnalysis)
        .unwrap();
    analyst
        .close(changed[3], ClosureCode::FalsePositive)
        .unwrap();
    analyst.set_description(changed[4], "More detail").unwrap();
    for case in &changed[5..] {
        analyst.add_comment(case, "Another").unwrap();
    }
    // The poller is the only source here: SIR's events for these changes are not forwarded.
    seen = stack.sir.events().len();
    let PollOutcome::Polled(cycle) = poller.run_once().await.unwrap() else {
        panic!("the poller was skipped")
    };
    pump(&stack, &mut seen).await;
    let c = counts(&stack);
    row(
        &format!(
            "poll cycle, {} cases, {} changed ({} ListCases)",
            cycle.cases, cycle.changed, cycle.pages
        ),
        &c,
        "seed: 5 × 1,000 = 5,000 calls",
    );

    reset(&stack);
    let PollOutcome::Polled(quiet) = poller.run_once().await.unwrap() else {
        panic!("the poller was skipped")
    };
    pump(&stack, &mut seen).await;
    row(
        &format!(
            "quiet poll cycle, {} cases, {} changed",
            quiet.cases, quiet.changed
        ),
        &counts(&stack),
        "seed: 5,000 calls",
    );

    // Echo of our own Jira write: the analyst renames a case; the summary edit in Jira comes
    // back as Jira's webhook (the integration's account) and must write nothing to SIR.
    let case = &ids[1];
    let key = stack.issue_key(case).await.expect("mapped");
    reset(&stack);
    analyst.set_title(case, "Renamed in SIR").unwrap();
    pump(&stack, &mut seen).await;
    row(
        "SIR rename → Jira summary; its webhook echo",
        &counts(&stack),
        "1 Jira write, 0 SIR writes",
    );

    // Echo of our own SIR write: a person comments in Jira; the case comment the service adds
    // comes back as SIR's "Case Comment Added" (the integration's principal) and must write
    // nothing to Jira.
    reset(&stack);
    stack
        .jira
        .as_human()
        .add_comment(&key, "Seen from Jira")
        .unwrap();
    pump(&stack, &mut seen).await;
    row(
        "Jira comment → case comment; its SIR event echo",
        &counts(&stack),
        "1 SIR write, 0 Jira writes",
    );

    // No-op updates: SIR's "Case Updated" again with nothing changed, and Jira's last webhook
    // from the person delivered again under a new identifier.
    reset(&stack);
    stack
        .case_changed(case, sir_jira_bridge::event::sir::CaseChange::Updated)
        .await;
    pump(&stack, &mut seen).await;
    row(
        "no-op: case updated, nothing changed",
        &counts(&stack),
        "0 writes",
    );
    stack
        .jira
        .as_human()
        .edit_summary(&key, "Renamed in Jira")
        .unwrap();
    pump(&stack, &mut seen).await;
    let last = stack
        .jira
        .webhooks()
        .deliveries()
        .into_iter()
        .rev()
        .find(|d| d.event == "jira:issue_updated")
        .expect("the rename's webhook");
    reset(&stack);
    let status = stack
        .post_webhook(&last.body, &uuid::Uuid::new_v4().to_string())
        .await;
    assert_eq!(status, 202);
    pump(&stack, &mut seen).await;
    row(
        "no-op: Jira issue updated again, same values",
        &counts(&stack),
        "0 writes",
    );

    // A SIR status whose Jira status is two transitions away (To Do → In Progress → In Review).
    let case = &ids[2 + CASES / 10 * 5];
    let key = stack.issue_key(case).await.expect("mapped");
    let before = stack.jira.status_of(&key);
    reset(&stack);
    analyst
        .set_status(case, CaseStatus::PostIncidentActivities)
        .unwrap();
    pump(&stack, &mut seen).await;
    row(
        &format!(
            "status {} → {} (two transitions)",
            before.unwrap_or_default(),
            stack.jira.status_of(&key).unwrap_or_default()
        ),
        &counts(&stack),
        "2 transitions, 0 SIR writes",
    );
    // A SIR comment mirrored to Jira; its webhook (the integration's account) comes back.
    let case = &ids[3 + CASES / 10 * 5];
    reset(&stack);
    analyst.add_comment(case, "From SIR").unwrap();
    pump(&stack, &mut seen).await;
    row(
        "SIR comment → Jira comment; its webhook echo",
        &counts(&stack),
        "1 Jira write, 0 SIR writes",
    );

    // New cases once the service runs, the workflow learned: the issue's create carries its
    // `sir` property and nothing is read back.
    for (status, target) in [
        (CaseStatus::Submitted, "1 Jira call"),
        (
            CaseStatus::PostIncidentActivities,
            "3 Jira calls (create, 2 transitions)",
        ),
    ] {
        let case = stack.sir.seed_case(SeedCase {
            status,
            ..SeedCase::default()
        });
        reset(&stack);
        stack
            .case_changed(&case, sir_jira_bridge::event::sir::CaseChange::Created)
            .await;
        pump(&stack, &mut seen).await;
        let key = stack.issue_key(&case).await.expect("mapped");
        row(
            &format!(
                "new case → issue in {}",
                stack.jira.status_of(&key).unwrap_or_default()
            ),
            &counts(&stack),
            target,
        );
    }
    println!(
        "<!-- dead letters: {}, failed handler runs: {} -->",
        stack.queue.stats().await.unwrap().dead,
        stack
            .done
            .failures
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}
