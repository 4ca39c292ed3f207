//! Backfill under a rate budget: 1,000 cases in the SIR emulator, published by the `backfill`
//! command's code onto the embedded queue, applied by the in-process workers into a Jira
//! emulator that allows `BACKFILL_BUDGET` requests per second (a fixed one-second window; over
//! it, 429 with `Retry-After: 1`, Jira's headers).
//!
//! Reports the time from the start of the backfill until the queue is empty, against the
//! minimum the budget allows for the Jira calls the sync needed (successful calls ÷ budget);
//! the 429s; failures (dead letters, cases left without an issue) and duplicates (more than one
//! issue for a case, comments twice). Every tenth case has two comments, so comments are
//! counted too.
//!
//! Run with `cargo bench --bench backfill`; `BACKFILL_CASES` (default 1000), `BACKFILL_BUDGET`
//! (requests per second, default 100) and `BACKFILL_WORKERS` (comma-separated worker counts,
//! default `2,8`). This reports; it asserts nothing. Results: docs/benchmarks.md.

mod common;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use common::{Stack, machine};
use jira_emulator::{EmulatorConfig as JiraConfig, RateLimitConfig, RateLimitPolicy};
use sir_emulator::{SeedCase, Timestamp};
use sir_jira_bridge::poll::backfill::Backfill;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(cases: usize, budget: u32, workers: usize) {
    let stack = Stack::start(JiraConfig::default(), |s| {
        s.workers = Some(workers);
        // The queue's own retry delay (after the client gave up waiting out 429s) starts small,
        // as a deployment expecting a long backfill would set it.
        s.backoff_base_ms = Some(1_000);
    })
    .await;
    let ids = stack.sir.seed_cases(cases, |i| SeedCase {
        last_updated_date: Some(Timestamp::from_secs(1_764_000_000 + i as i64)),
        ..SeedCase::default()
    });
    for id in ids.iter().step_by(10) {
        stack.sir.analyst().add_comment(id, "first note").unwrap();
        stack.sir.analyst().add_comment(id, "second note").unwrap();
    }
    stack.jira.set_rate_limit(RateLimitConfig {
        policy: RateLimitPolicy::Budget {
            limit: budget,
            window_ms: 1_000,
        },
        retry_after_secs: 1,
        advertised_limit: budget,
        ..RateLimitConfig::default()
    });
    stack.jira.requests().reset();

    let started = Instant::now();
    let progress = Backfill::new(
        stack.sir_api.clone(),
        stack.store.clone(),
        stack.queue.clone(),
    )
    .run(true, |_| {})
    .await
    .unwrap();
    let published_in = started.elapsed();
    loop {
        let s = stack.queue.stats().await.unwrap();
        if s.ready + s.leased == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();

    let requests = stack.jira.requests().all();
    let refused = requests.iter().filter(|r| r.status == 429).count();
    let served = requests.len() - refused;
    let minimum = Duration::from_secs_f64(served as f64 / f64::from(budget));

    let mut per_case: HashMap<String, usize> = HashMap::new();
    for issue in stack.jira.issues() {
        for label in issue.labels.iter().filter(|l| l.starts_with("aws-sir-")) {
            *per_case.entry(label.clone()).or_default() += 1;
        }
    }
    let duplicates: usize = per_case.values().map(|n| n.saturating_sub(1)).sum();
    let mut unmapped = 0;
    let mut comment_dupes = 0;
    for id in &ids {
        match stack.issue_key(id).await {
            None => unmapped += 1,
            Some(key) => {
                let want = stack.sir.comments(id).len();
                comment_dupes += stack.jira.comments(&key).len().saturating_sub(want);
            }
        }
    }
    let dead = stack.queue.stats().await.unwrap().dead;
    println!(
        "| {cases} | {budget}/s | {workers} | {:.1} | {:.1} | {:.2} | {served} | {refused} | {} | {} | {dead} | {unmapped} | {duplicates} | {comment_dupes} |",
        took.as_secs_f64(),
        minimum.as_secs_f64(),
        took.as_secs_f64() / minimum.as_secs_f64(),
        progress.published,
        stack.jira.issues().len(),
    );
    eprintln!(
        "published {} events in {:.2} s; handler runs {}, failed runs (retried) {}",
        progress.published,
        published_in.as_secs_f64(),
        stack.done.runs.load(std::sync::atomic::Ordering::Relaxed),
        stack
            .done
            .failures
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    stack.stop().await;
}

#[tokio::main]
async fn main() {
    let cases: usize = env("BACKFILL_CASES", 1_000);
    let budget: u32 = env("BACKFILL_BUDGET", 100);
    let workers: Vec<usize> = std::env::var("BACKFILL_WORKERS")
        .unwrap_or_else(|_| "2,8".into())
        .split(',')
        .filter_map(|w| w.trim().parse().ok())
        .collect();
    println!("machine: {}", machine());
    println!(
        "| cases | Jira budget | workers | took s | minimum s | took/minimum | Jira calls served | 429s | events | issues | dead letters | cases without issue | duplicate issues | duplicate comments |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for w in workers {
        run(cases, budget, w).await;
    }
}
