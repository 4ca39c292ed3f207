//! Ingest benchmark: signed Jira webhooks (the fixture payload, a unique delivery id each)
//! through verification, dedupe and the durable embedded queue, on loopback, at increasing
//! concurrency — side by side with a bare axum handler answering 200 to the same requests (the
//! HTTP stack's own limit on this machine). Reports requests per second, p50/p99 latency and
//! the ratio. Run with `cargo bench --bench ingest`; `INGEST_REQUESTS` sets requests per level.
//!
//! This reports; it asserts nothing. Results are kept in docs/benchmarks.md.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, routing::post};
use sir_jira_bridge::{
    config::{Config, Settings},
    secret::Secret,
    startup::Application,
    verify::jira::sign,
};
use tokio::sync::Semaphore;

const SECRET: &str = "bench-webhook-secret-0123456789";
const BODY: &[u8] = include_bytes!("../tests/fixtures/jira/issue_updated_status.json");

struct Outcome {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn drive(url: &str, concurrency: usize, requests: usize, run: &str) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let signature = sign(SECRET, BODY);
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for i in 0..requests {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (client, url, signature) = (client.clone(), url.to_owned(), signature.clone());
        let delivery = format!("{run}-{i}");
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = client
                .post(url)
                .header("content-type", "application/json")
                .header("x-atlassian-webhook-identifier", delivery)
                .header("x-hub-signature", signature)
                .body(BODY)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            drop(permit);
            (t.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = 0;
    for t in tasks {
        let (latency, ok) = t.await.unwrap();
        latencies.push(latency);
        errors += usize::from(!ok);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Outcome {
        rps: requests as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

async fn bare_axum() -> SocketAddr {
    let app = Router::new().route(
        "/webhooks/jira",
        post(|_: axum::body::Bytes| async { "ok" }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn gateway(dir: &std::path::Path) -> SocketAddr {
    let settings = Settings {
        listen_addr: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.to_owned()),
        jira_webhook_secrets: Some(vec![Secret::new(SECRET)]),
        admin_token: Some(Secret::new("bench-admin-token-0123456789")),
        // The gateway alone: ingest is measured, not processing (which competes for the cores).
        workers: Some(0),
        log_level: Some(sir_jira_bridge::config::LogLevel::Error),
        ..Settings::default()
    };
    let app = Application::build(Config::from_settings(settings).unwrap())
        .await
        .unwrap();
    let addr = app.local_addr();
    tokio::spawn(async move {
        app.run_until_stopped(std::future::pending()).await.unwrap();
    });
    addr
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::var("INGEST_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_axum().await;
    let gw = gateway(dir.path()).await;
    let bare_url = format!("http://{bare}/webhooks/jira");
    let gw_url = format!("http://{gw}/webhooks/jira");

    // Warm both (connections, page cache, SQLite).
    drive(&bare_url, 8, 500, "warm-bare").await;
    drive(&gw_url, 8, 500, "warm-gw").await;

    println!("requests per level: {requests}");
    println!(
        "| concurrency | bare axum req/s | bare p50 ms | bare p99 ms | gateway req/s | gateway p50 ms | gateway p99 ms | gateway/bare | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for concurrency in [1, 8, 32, 64, 128] {
        let b = drive(&bare_url, concurrency, requests, &format!("b{concurrency}")).await;
        let g = drive(&gw_url, concurrency, requests, &format!("g{concurrency}")).await;
        println!(
            "| {concurrency} | {:.0} | {} | {} | {:.0} | {} | {} | {:.2} | {} |",
            b.rps,
            ms(b.p50),
            ms(b.p99),
            g.rps,
            ms(g.p50),
            ms(g.p99),
            g.rps / b.rps,
            b.errors + g.errors
        );
    }
}
