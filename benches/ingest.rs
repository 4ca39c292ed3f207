//! Ingest benchmark: the shipped binary as a user runs it, against bare axum, in one run.
//!
//! Method:
//! - **The gateway** is `sir-jira-bridge serve` in its default configuration: the embedded
//!   SQLite queue, two workers (no Jira or SIR configured, so they log each event: log-only
//!   mode), info-level logs written to a file as a user would keep them. Only the listen
//!   address, the data directory and the webhook secret are set.
//! - **The baseline** is a bare axum handler answering 200 (this bench binary again, in its own
//!   process), measured alternately with the gateway at each level, so both see the same
//!   machine.
//! - **The load** comes from wrk (one thread, written in C), which is faster than either
//!   server: signed Jira `issue_updated` webhooks, each with a unique delivery id, over 1,000
//!   different issues (round robin) and over one issue, at 1, 8, 64 and 256 connections.
//! - **Checks**: every 2xx answer's delivery is in the queue; after each run the backlog is
//!   drained, and how long that took is reported (the workers keep up when the backlog left at
//!   the end of a run is drained well within the run's own length).
//!
//! `scripts/bench-ingest` installs wrk when missing and runs this. Settings: `INGEST_SECONDS`
//! per run (default 8), `INGEST_LEVELS=1,8,64,256`, `INGEST_SHAPES=issues,one`,
//! `INGEST_GATEWAY_BIN` another build of the service (A/B runs), `INGEST_ONLY=gateway|bare`.
//!
//! This reports (and prints whether each target is met); it asserts nothing. Results are kept
//! in docs/benchmarks.md.

use std::{
    fmt::Write as _,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::{Router, routing::post};
use sir_jira_bridge::verify::jira::sign;

// The service binary's allocator (src/main.rs), so both servers are built alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "bench-webhook-secret-0123456789";
const FIXTURE: &str = include_str!("../tests/fixtures/jira/issue_updated_status.json");
const ISSUES: usize = 1_000;

/// What wrk saw in one run.
#[derive(Debug, Default, Clone, Copy)]
struct Run {
    requests: u64,
    seconds: f64,
    /// Answers outside 2xx/3xx, and socket errors and timeouts.
    errors: u64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Run {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// One `issue_updated` webhook per issue: `SEC-1` … `SEC-n`, each signed.
fn bodies(issues: usize) -> Vec<(String, String)> {
    (0..issues)
        .map(|i| {
            let mut body: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
            body["issue"]["key"] = format!("SEC-{}", i + 1).into();
            body["issue"]["id"] = (20_000 + i).to_string().into();
            let body = serde_json::to_string(&body).unwrap();
            let signature = sign(SECRET, body.as_bytes());
            (body, signature)
        })
        .collect()
}

/// A wrk script sending `bodies` round robin, each request with a delivery id unique across the
/// whole bench (`<run>-<n>`, the run's prefix given as the script's argument), and printing
/// its totals as one `RESULT` line.
fn wrk_script(bodies: &[(String, String)]) -> String {
    let mut lua = String::from("local bodies = {\n");
    for (body, _) in bodies {
        writeln!(lua, "[==[{body}]==],").unwrap();
    }
    lua.push_str("}\nlocal sigs = {\n");
    for (_, signature) in bodies {
        writeln!(lua, "\"{signature}\",").unwrap();
    }
    lua.push_str(
        r#"}
local prefix = "run"
local n = 0
function init(args) prefix = args[1] end
function request()
  n = n + 1
  local i = (n % #bodies) + 1
  return wrk.format("POST", "/webhooks/jira", {
    ["Content-Type"] = "application/json",
    ["X-Atlassian-Webhook-Identifier"] = prefix .. "-" .. n,
    ["X-Hub-Signature"] = sigs[i],
  }, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#,
    );
    lua
}

fn wrk(url: &str, script: &Path, connections: usize, seconds: u64, prefix: &str) -> Run {
    let wrk = std::env::var("INGEST_WRK").unwrap_or_else(|_| "wrk".into());
    let out = Command::new(&wrk)
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["--timeout", "5s", "-s"])
        .arg(script)
        .args([url, "--", prefix])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {wrk} ({e}): scripts/bench-ingest installs it"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no result: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let f: Vec<f64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
    Run {
        requests: f[0] as u64,
        seconds: f[1] / 1e6,
        errors: f[2] as u64,
        p50_ms: f[3] / 1e3,
        p99_ms: f[4] / 1e3,
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
    fn ready(mut child: Child, port: u16) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..1000 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return Server { child, addr };
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("server exited before listening: {status}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("server did not listen on {addr}");
    }

    fn url(&self) -> String {
        format!("http://{}/webhooks/jira", self.addr)
    }
}

/// The bare axum handler, in its own process like the gateway: this benchmark binary again,
/// told by `INGEST_BARE_PORT` to serve instead.
fn bare_axum() -> Server {
    let port = free_port();
    let child = Command::new(std::env::current_exe().unwrap())
        .env("INGEST_BARE_PORT", port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Server::ready(child, port)
}

#[tokio::main]
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

/// The service binary as shipped, in its default configuration; its log goes to a file.
fn gateway(dir: &Path) -> Server {
    let port = free_port();
    let bin = std::env::var_os("INGEST_GATEWAY_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_sir-jira-bridge").into());
    let log = std::fs::File::create(dir.join("gateway.log")).unwrap();
    let child = Command::new(bin)
        .arg("serve")
        .env("SIR_JIRA_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("SIR_JIRA_DATA_DIR", dir.join("data"))
        .env("SIR_JIRA_JIRA_WEBHOOK_SECRETS", SECRET)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    Server::ready(child, port)
}

/// The gateway's queue, read from its SQLite file (read-only, beside the running process).
struct Queue(rusqlite::Connection);

impl Queue {
    fn open(dir: &Path) -> Queue {
        let path: PathBuf = dir.join("data").join("sir-jira-bridge.sqlite3");
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        Queue(conn)
    }

    fn count(&self, sql: &str, params: impl rusqlite::Params) -> u64 {
        self.0
            .query_row(sql, params, |r| r.get::<_, i64>(0))
            .unwrap() as u64
    }

    /// Deliveries of run `prefix` that the gateway accepted.
    fn accepted(&self, prefix: &str) -> u64 {
        self.count(
            "SELECT count(*) FROM deliveries WHERE key LIKE 'jira:' || ?1 || '-%'",
            [prefix],
        )
    }

    /// Events not yet processed (ready, leased or backing off).
    fn backlog(&self) -> u64 {
        self.count(
            "SELECT count(*) FROM queue WHERE state IN ('ready', 'leased')",
            [],
        )
    }

    fn dead(&self) -> u64 {
        self.count("SELECT count(*) FROM queue WHERE state = 'dead'", [])
    }
}

/// One gateway run and what became of it.
struct GatewayRun {
    run: Run,
    accepted: u64,
    backlog_at_end: u64,
    drain: Duration,
}

fn run_gateway(
    gw: &Server,
    queue: &Queue,
    script: &Path,
    c: usize,
    secs: u64,
    prefix: &str,
) -> GatewayRun {
    let run = wrk(&gw.url(), script, c, secs, prefix);
    let backlog_at_end = queue.backlog();
    let started = Instant::now();
    while queue.backlog() > 0 && started.elapsed() < Duration::from_secs(600) {
        std::thread::sleep(Duration::from_millis(20));
    }
    GatewayRun {
        run,
        accepted: queue.accepted(prefix),
        backlog_at_end,
        drain: started.elapsed(),
    }
}

fn main() {
    if let Ok(port) = std::env::var("INGEST_BARE_PORT") {
        return serve_bare(port.parse().unwrap());
    }
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let seconds: u64 = env("INGEST_SECONDS", "8").parse().unwrap();
    let levels: Vec<usize> = env("INGEST_LEVELS", "1,8,64,256")
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let shapes: Vec<String> = env("INGEST_SHAPES", "issues,one")
        .split(',')
        .map(str::to_owned)
        .collect();
    let only = env("INGEST_ONLY", "");

    let dir = tempfile::tempdir().unwrap();
    let scripts = [("issues", ISSUES), ("one", 1)].map(|(shape, issues)| {
        let path = dir.path().join(format!("{shape}.lua"));
        std::fs::write(&path, wrk_script(&bodies(issues))).unwrap();
        (shape, path)
    });
    let bare = bare_axum();
    let gw = gateway(dir.path());
    let queue = Queue::open(dir.path());

    // Warm both: connections, page cache, the SQLite file's first pages.
    let (_, warm) = &scripts[0];
    wrk(&bare.url(), warm, 8, 1, "warm-bare");
    run_gateway(&gw, &queue, warm, 8, 1, "warm-gw");

    println!(
        "wrk -t1, {seconds} s per run; gateway: `serve` defaults (2 workers, info log to a file)"
    );
    println!();
    println!(
        "| shape | conns | bare req/s | bare p50 / p99 ms | gateway req/s | gateway p50 / p99 ms | ratio | errors | 2xx stored | backlog at end | drain s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut verdicts = Vec::new();
    for (shape, script) in scripts
        .iter()
        .filter(|(s, _)| shapes.iter().any(|x| x == s))
    {
        let label = if *shape == "issues" {
            "1,000 issues"
        } else {
            "one issue"
        };
        for &c in &levels {
            let b = if only == "gateway" {
                Run::default()
            } else {
                wrk(&bare.url(), script, c, seconds, &format!("b-{shape}-{c}"))
            };
            if only == "bare" {
                println!(
                    "| {label} | {c} | {:.0} | {:.2} / {:.2} | | | | {} | | | |",
                    b.rps(),
                    b.p50_ms,
                    b.p99_ms,
                    b.errors
                );
                continue;
            }
            let prefix = format!("g-{shape}-{c}");
            let g = run_gateway(&gw, &queue, script, c, seconds, &prefix);
            let ok = g.run.requests - g.run.errors;
            let ratio = g.run.rps() / b.rps();
            println!(
                "| {label} | {c} | {:.0} | {:.2} / {:.2} | {:.0} | {:.2} / {:.2} | {ratio:.2} | {} | {} of {ok} | {} | {:.2} |",
                b.rps(),
                b.p50_ms,
                b.p99_ms,
                g.run.rps(),
                g.run.p50_ms,
                g.run.p99_ms,
                g.run.errors,
                g.accepted,
                g.backlog_at_end,
                g.drain.as_secs_f64(),
            );
            // In-flight requests cut off by wrk's deadline may be stored without being counted.
            if g.accepted < ok {
                verdicts.push(format!(
                    "LOST: {label}, {c} conns: {ok} answered 2xx, {} stored",
                    g.accepted
                ));
            }
            let keep_up = g.drain.as_secs_f64() <= seconds as f64 * 0.1;
            verdicts.push(format!(
                "workers keep up ({label}, {c} conns: backlog {} drained in {:.2} s after a {seconds} s run): {}",
                g.backlog_at_end,
                g.drain.as_secs_f64(),
                met(keep_up)
            ));
            match (*shape, c) {
                ("issues", 64) => verdicts.push(format!(
                    "1,000 issues, 64 conns, ≥ 0.5× bare: {ratio:.2}× {}",
                    met(ratio >= 0.5)
                )),
                ("one", 64) => verdicts.push(format!(
                    "one issue, 64 conns, ≥ 0.25× bare: {ratio:.2}× {}",
                    met(ratio >= 0.25)
                )),
                (_, 1) => verdicts.push(format!(
                    "{label}, 1 conn, p99 ≤ 1.5 ms: {:.2} ms {}",
                    g.run.p99_ms,
                    met(g.run.p99_ms <= 1.5)
                )),
                _ => {}
            }
        }
    }
    println!();
    println!("dead letters: {}", queue.dead());
    for v in verdicts {
        println!("- {v}");
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}
