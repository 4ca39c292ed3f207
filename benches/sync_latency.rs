//! Sync latency: how long from the service receiving a change to the peer write being issued,
//! on the embedded default (SQLite queue, in-process workers) against in-process Jira and SIR
//! emulators on loopback.
//!
//! - case → issue: a `sir.case.changed` handed to the bus (what the native-event consumer and
//!   the poller do) after an analyst renamed the case → the `PUT /rest/api/3/issue/{key}` that
//!   carries the new summary reaching the Jira emulator;
//! - issue → case: a signed `comment_created` webhook (full payload, a person's comment) posted
//!   to the gateway → the `CreateCaseComment` reaching the SIR emulator.
//!
//! "Reaching" is the emulator's request log timestamp, taken when the request arrives. Each
//! driver works on its own case and waits for its event to be applied before the next change,
//! so concurrency is the number of drivers. Also reported: how long the event waited before a
//! worker took it (publish, durable commit, dequeue).
//!
//! Run with `cargo bench --bench sync_latency`; `LATENCY_SAMPLES` sets samples per level and
//! direction (default 200). This reports; it asserts nothing. Results: docs/benchmarks.md.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{DANA, Stack, machine, ms, summarize};
use jira_emulator::EmulatorConfig as JiraConfig;
use serde_json::{Value, json};
use sir_emulator::{NewCase, Operation};
use sir_jira_bridge::event::sir::CaseChange;

const COMMENT_CREATED: &[u8] = include_bytes!("../tests/fixtures/jira/comment_created.json");
const WAIT: Duration = Duration::from_secs(60);
/// Jira comment ids of the posted comments, unique per run.
static COMMENT_IDS: AtomicUsize = AtomicUsize::new(50_000);

struct Sample {
    /// Received → the peer write reached the emulator.
    write: Duration,
    /// Received → a worker's handler started on the event.
    queued: Duration,
    ok: bool,
}

/// A case created by the analyst and synced to its issue; returns (case id, issue key, issue id).
async fn synced_case(stack: &Stack, title: &str) -> (String, String, String) {
    let case_id = stack.sir.analyst().create_case(NewCase {
        title: title.into(),
        description: "Latency benchmark case.".into(),
        impacted_accounts: vec!["123456789012".into()],
        impacted_aws_regions: vec!["us-east-1".into()],
        ..NewCase::default()
    });
    let (_, done) = stack
        .case_changed_tracked(&case_id, CaseChange::Created)
        .await;
    tokio::time::timeout(WAIT, done).await.unwrap().unwrap();
    let key = stack.issue_key(&case_id).await.expect("mapped");
    let id = stack.jira.issue(&key).expect("the issue").id;
    (case_id, key, id)
}

/// Renames the case in SIR, hands the change to the bus and times the summary edit in Jira.
async fn case_to_issue(stack: &Stack, case_id: &str, key: &str, i: usize) -> Sample {
    stack
        .sir
        .analyst()
        .set_title(case_id, &format!("Renamed {i}"))
        .unwrap();
    let (t0, done) = stack
        .case_changed_tracked(case_id, CaseChange::Updated)
        .await;
    let Ok(Ok(handled)) = tokio::time::timeout(WAIT, done).await else {
        return failed();
    };
    let path = format!("/rest/api/3/issue/{key}");
    let write = stack
        .jira
        .requests()
        .filter(|r| r.method == "PUT" && r.path == path && r.received >= t0)
        .into_iter()
        .map(|r| r.received)
        .min();
    measured(t0, handled.started, write)
}

/// Posts a person's new comment on the issue as Jira's webhook would and times the case comment.
async fn issue_to_case(stack: &Stack, case: &Case) -> Sample {
    let (case_id, key, issue_id) = case;
    let n = COMMENT_IDS.fetch_add(1, Ordering::Relaxed);
    let mut payload: Value = serde_json::from_slice(COMMENT_CREATED).unwrap();
    let comment_id = n.to_string();
    payload["comment"]["id"] = json!(comment_id);
    payload["comment"]["self"] = json!(format!(
        "{}/rest/api/3/issue/{issue_id}/comment/{comment_id}",
        stack.jira.base_url()
    ));
    payload["comment"]["author"]["accountId"] = json!(DANA);
    payload["comment"]["body"]["content"][0]["content"][0]["text"] =
        json!(format!("Latency comment {n}"));
    payload["issue"]["key"] = json!(key);
    payload["issue"]["id"] = json!(issue_id);
    payload["timestamp"] = json!(time::OffsetDateTime::now_utc().unix_timestamp() * 1000);
    let body = serde_json::to_vec(&payload).unwrap();
    let delivery = uuid::Uuid::new_v4().to_string();
    let done = stack.done.expect(&delivery);
    let t0 = Instant::now();
    if stack.post_webhook(&body, &delivery).await != 202 {
        return failed();
    }
    let Ok(Ok(handled)) = tokio::time::timeout(WAIT, done).await else {
        return failed();
    };
    let write = stack
        .sir
        .log()
        .records()
        .into_iter()
        .filter(|r| {
            r.operation == Operation::CreateCaseComment
                && r.case_id.as_deref() == Some(case_id.as_str())
                && r.received >= t0
        })
        .map(|r| r.received)
        .min();
    measured(t0, handled.started, write)
}

/// From the change received at `t0`: the handler started, and the peer write if one arrived.
fn measured(t0: Instant, started: Instant, write: Option<Instant>) -> Sample {
    match write {
        Some(at) => Sample {
            write: at - t0,
            queued: started - t0,
            ok: true,
        },
        None => failed(),
    }
}

fn failed() -> Sample {
    Sample {
        write: Duration::ZERO,
        queued: Duration::ZERO,
        ok: false,
    }
}

fn report(direction: &str, concurrency: usize, samples: Vec<Sample>) {
    let errors = samples.iter().filter(|s| !s.ok).count();
    let ok: Vec<&Sample> = samples.iter().filter(|s| s.ok).collect();
    if ok.is_empty() {
        println!("| {direction} | {concurrency} | 0 | | | | | | | | {errors} |");
        return;
    }
    let w = summarize(ok.iter().map(|s| s.write).collect());
    let q = summarize(ok.iter().map(|s| s.queued).collect());
    println!(
        "| {direction} | {concurrency} | {} | {} | {} | {} | {} | {} | {} | {} | {errors} |",
        w.n,
        ms(w.p50),
        ms(w.p90),
        ms(w.p99),
        ms(w.max),
        ms(w.mean),
        ms(q.p50),
        ms(q.p99),
    );
}

#[derive(Clone, Copy)]
enum Direction {
    CaseToIssue,
    IssueToCase,
}

type Case = (String, String, String);

/// `concurrency` drivers, each on its own case, `per_driver` changes each, one at a time.
async fn run(
    stack: &Arc<Stack>,
    cases: &[(Case, Case)],
    direction: Direction,
    per_driver: usize,
) -> Vec<Sample> {
    let mut set = tokio::task::JoinSet::new();
    for (c2i, i2c) in cases.iter().cloned() {
        let stack = stack.clone();
        set.spawn(async move {
            let mut out = Vec::with_capacity(per_driver);
            for i in 0..per_driver {
                out.push(match direction {
                    Direction::CaseToIssue => case_to_issue(&stack, &c2i.0, &c2i.1, i + 1).await,
                    Direction::IssueToCase => issue_to_case(&stack, &i2c).await,
                });
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r.unwrap());
    }
    all
}

#[tokio::main]
async fn main() {
    let samples: usize = std::env::var("LATENCY_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // Two workers: the embedded default.
    let stack = Arc::new(Stack::start(JiraConfig::default(), |_| {}).await);
    println!("machine: {}", machine());
    println!("samples per level and direction: {samples}");
    println!(
        "| direction | concurrency | samples | p50 ms | p90 ms | p99 ms | max ms | mean ms | queue wait p50 ms | queue wait p99 ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");

    for concurrency in [1, 4] {
        let mut cases = Vec::new();
        for d in 0..concurrency {
            cases.push((
                synced_case(&stack, &format!("c2i {concurrency}/{d}")).await,
                synced_case(&stack, &format!("i2c {concurrency}/{d}")).await,
            ));
        }
        // Warm-up: connections, caches, the SQLite file.
        for ((c, k, _), i2c) in &cases {
            case_to_issue(&stack, c, k, 0).await;
            issue_to_case(&stack, i2c).await;
        }
        let per_driver = samples.div_ceil(concurrency);
        let c2i = run(&stack, &cases, Direction::CaseToIssue, per_driver).await;
        report("case → issue", concurrency, c2i);
        let i2c = run(&stack, &cases, Direction::IssueToCase, per_driver).await;
        report("issue → case", concurrency, i2c);
    }
    println!(
        "handler runs: {}, failed runs (retried): {}",
        stack.done.runs.load(Ordering::Relaxed),
        stack.done.failures.load(Ordering::Relaxed)
    );
}
