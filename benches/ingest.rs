//! Ingest benchmark: signed Jira webhooks (the fixture payload, a unique delivery id each)
//! through verification, dedupe and the durable embedded queue, on loopback, at increasing
//! concurrency — side by side with a bare axum handler answering 200 to the same requests (the
//! HTTP stack's own limit on this machine), each server in its own process. Reports requests per second, p50/p99 latency and
//! the ratio. Run with `cargo bench --bench ingest`; `INGEST_REQUESTS` sets requests per level,
//! `INGEST_LEVELS=1,8,64` the concurrency levels, `INGEST_ONLY=gateway` (or `bare`) one side,
//! `INGEST_GATEWAY_BIN` another build of the service to drive.
//!
//! This reports; it asserts nothing. Results are kept in docs/benchmarks.md.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, routing::post};
use sir_jira_bridge::verify::jira::sign;
use tokio::sync::Semaphore;

// The service binary's allocator (src/main.rs), so both sides are measured as shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// A free loopback port for a server process to listen on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn ready(mut child: Child, port: u16) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Server { child, addr };
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("server exited before listening: {status}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("server did not listen on {addr}");
    }
}

/// The bare axum handler, in its own process like the gateway: this benchmark binary again,
/// told by `INGEST_BARE_PORT` to serve instead.
async fn bare_axum() -> Server {
    let port = free_port();
    let child = Command::new(std::env::current_exe().unwrap())
        .env("INGEST_BARE_PORT", port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Server::ready(child, port).await
}

async fn serve_bare(port: u16) {
    let app = Router::new().route(
        "/webhooks/jira",
        post(|_: axum::body::Bytes| async { "ok" }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    axum::serve(listener, app).await.unwrap();
}

/// The service binary as shipped (`sir-jira-bridge serve`, its allocator and runtime), on the
/// embedded default.
async fn gateway(dir: &std::path::Path) -> Server {
    let port = free_port();
    // `INGEST_GATEWAY_BIN` compares another build of the service (A/B runs).
    let bin = std::env::var_os("INGEST_GATEWAY_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_sir-jira-bridge").into());
    let child = Command::new(bin)
        .arg("serve")
        .env("SIR_JIRA_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("SIR_JIRA_DATA_DIR", dir)
        .env("SIR_JIRA_JIRA_WEBHOOK_SECRETS", SECRET)
        .env("SIR_JIRA_ADMIN_TOKEN", "bench-admin-token-0123456789")
        // The gateway alone: ingest is measured, not processing (which competes for the cores).
        .env("SIR_JIRA_WORKERS", "0")
        .env("SIR_JIRA_LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Server::ready(child, port).await
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    if let Ok(port) = std::env::var("INGEST_BARE_PORT") {
        return serve_bare(port.parse().unwrap()).await;
    }
    let requests: usize = std::env::var("INGEST_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_axum().await;
    let gw = gateway(dir.path()).await;
    let bare_url = format!("http://{}/webhooks/jira", bare.addr);
    let gw_url = format!("http://{}/webhooks/jira", gw.addr);

    // Warm both (connections, page cache, SQLite).
    drive(&bare_url, 8, 500, "warm-bare").await;
    drive(&gw_url, 8, 500, "warm-gw").await;

    println!("requests per level: {requests}");
    println!(
        "| concurrency | bare axum req/s | bare p50 ms | bare p99 ms | gateway req/s | gateway p50 ms | gateway p99 ms | gateway/bare | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // `INGEST_ONLY=gateway` (or `bare`) drives one side alone, for profiling it.
    let only = std::env::var("INGEST_ONLY").unwrap_or_default();
    let levels: Vec<usize> = std::env::var("INGEST_LEVELS")
        .ok()
        .map(|v| v.split(',').filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 8, 32, 64, 128]);
    for concurrency in levels {
        let skipped = || Outcome {
            rps: f64::NAN,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            errors: 0,
        };
        let b = if only == "gateway" {
            skipped()
        } else {
            drive(&bare_url, concurrency, requests, &format!("b{concurrency}")).await
        };
        let g = if only == "bare" {
            skipped()
        } else {
            drive(&gw_url, concurrency, requests, &format!("g{concurrency}")).await
        };
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
