//! The real binary: restart durability after SIGKILL, graceful SIGTERM, and the newcomer's
//! commands (`send-test-webhook`, `print-webhook-secret`).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::Value;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_sir-jira-bridge");

struct Service {
    child: Child,
    lines: mpsc::Receiver<Value>,
    addr: String,
    /// The lines [`Service::wait_for`] went through.
    seen: Vec<Value>,
}

/// Starts `serve` with JSON logs, waits for it to listen, and streams its log lines.
fn start(data_dir: &std::path::Path, workers: u32, addr: &str) -> Service {
    start_with(data_dir, workers, addr, &[])
}

fn start_with(
    data_dir: &std::path::Path,
    workers: u32,
    addr: &str,
    extra_env: &[(&str, &str)],
) -> Service {
    let mut command = Command::new(BIN);
    command.arg("serve");
    start_command(command, data_dir, workers, addr, extra_env)
}

/// `serve` started by `command` (the binary, or a shell that sets limits first).
fn start_command(
    mut command: Command,
    data_dir: &std::path::Path,
    workers: u32,
    addr: &str,
    extra_env: &[(&str, &str)],
) -> Service {
    let mut child = command
        .env_clear()
        .env("SIR_JIRA_LISTEN_ADDR", addr)
        .env("SIR_JIRA_DATA_DIR", data_dir)
        .env("SIR_JIRA_LOG_FORMAT", "json")
        .env("SIR_JIRA_WORKERS", workers.to_string())
        .env("SIR_JIRA_JIRA_WEBHOOK_SECRETS", SECRET_NEW)
        .envs(extra_env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    let _ = tx.send(v);
                }
                // Not one of ours (a panic message, say): keep it visible to the test.
                Err(_) => {
                    let _ = tx.send(serde_json::json!({"message": line, "non_json": true}));
                }
            }
        }
    });
    let mut service = Service {
        child,
        lines: rx,
        addr: String::new(),
        seen: Vec::new(),
    };
    let listening = service.wait_for(|l| {
        l["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("gateway listening")
    });
    service.addr = listening["listen"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();
    service
}

impl Service {
    fn wait_for(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if want(&line) => return line,
                Ok(line) => self.seen.push(line),
                Err(_) => break,
            }
        }
        panic!("log line not seen");
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[tokio::test]
async fn an_acknowledged_event_survives_sigkill_and_is_processed_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    // No workers: the event is acknowledged and queued, not yet processed.
    let mut first = start(dir.path(), 0, &addr);
    let body = fixture("issue_created.json");
    let response = reqwest::Client::new()
        .post(format!("http://{}/webhooks/jira", first.addr))
        .header("x-atlassian-webhook-identifier", "kill-1")
        .header(
            "x-hub-signature",
            sir_jira_bridge::verify::jira::sign(SECRET_NEW, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let event_id = response.json::<Value>().await.unwrap()["event_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    first.wait_for(|l| l["message"] == "jira delivery accepted and queued");

    first.child.kill().unwrap(); // SIGKILL: no shutdown code runs
    first.child.wait().unwrap();

    let mut second = start(dir.path(), 1, &addr);
    let processed = second.wait_for(|l| {
        l["event_id"] == event_id.as_str()
            && l["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("event processed")
    });
    assert_eq!(processed["event_type"], "jira.issue.created");
}

#[test]
fn sigterm_stops_gracefully_with_success() {
    let dir = tempfile::tempdir().unwrap();
    let mut service = start(dir.path(), 2, "127.0.0.1:0");
    service.signal("TERM");
    service.wait_for(|l| l["message"] == "stopped");
    let status = service.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_newcomer_commands_work_against_a_fresh_install() {
    let dir = tempfile::tempdir().unwrap();
    // No secrets configured: a fresh install generates one and never logs it.
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("SIR_JIRA_LISTEN_ADDR", "127.0.0.1:0")
        .env("SIR_JIRA_DATA_DIR", dir.path())
        .env("SIR_JIRA_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let recv = |log: &mut Vec<String>, want: &str| loop {
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("log line");
        log.push(line.clone());
        if line.contains(want) {
            return serde_json::from_str::<Value>(&line).unwrap();
        }
    };
    let listening = recv(&mut log, "gateway listening");
    let url = listening["listen"].as_str().unwrap().to_owned();

    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env_clear()
            .env("SIR_JIRA_DATA_DIR", dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["send-test-webhook", "--url", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("202"));
    recv(&mut log, "event processed");

    let secret = run(&["print-webhook-secret"]);
    let secret = String::from_utf8(secret.stdout).unwrap().trim().to_owned();
    assert_eq!(secret.len(), 64);
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(line) = rx.try_recv() {
        log.push(line);
    }
    assert!(
        log.iter().all(|l| !l.contains(&secret)),
        "the secret reached the log"
    );
}

/// Posts one signed delivery; returns the status, or None when the connection failed (the
/// service was killed mid-request).
async fn deliver(client: &reqwest::Client, addr: &str, delivery: &str) -> Option<u16> {
    let body = fixture("issue_updated_status.json");
    client
        .post(format!("http://{addr}/webhooks/jira"))
        .header("x-atlassian-webhook-identifier", delivery)
        .header(
            "x-hub-signature",
            sir_jira_bridge::verify::jira::sign(SECRET_NEW, &body),
        )
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn sigkill_during_a_burst_then_restart_applies_every_acknowledged_delivery_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    // A short lease too: the event the killed worker held is handed out again after the
    // lease, which must end well inside the wait for every event to be processed below.
    let claim = [
        ("SIR_JIRA_DELIVERY_CLAIM_SECS", "1"),
        ("SIR_JIRA_LEASE_SECS", "2"),
    ];
    let mut first = start_with(dir.path(), 1, &addr, &claim);
    let client = reqwest::Client::new();
    let deliveries: Vec<String> = (0..300).map(|i| format!("burst-{i}")).collect();

    // The burst, 16 at a time; the service is killed while it is in full swing.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    for d in deliveries.clone() {
        let (client, addr, acknowledged, gate) = (
            client.clone(),
            first.addr.clone(),
            acknowledged.clone(),
            gate.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            if deliver(&client, &addr, &d).await == Some(202) {
                acknowledged.lock().unwrap().push(d);
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() < deliveries.len(),
        "the kill came too late to test anything"
    );

    // Restart; the senders retry everything (Jira retries what it saw fail, and may repeat
    // what succeeded).
    let second = start_with(dir.path(), 1, &addr, &claim);
    for d in &deliveries {
        let mut status = deliver(&client, &second.addr, d).await;
        // A claim left pending by the killed process blocks its copies until it expires.
        for _ in 0..20 {
            if status != Some(409) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            status = deliver(&client, &second.addr, d).await;
        }
        let status = status.expect("the restarted service answers");
        if acknowledged.contains(d) {
            assert_eq!(
                status, 200,
                "{d} was acknowledged before the kill: a duplicate now"
            );
        } else {
            assert!(status == 200 || status == 202, "{d}: {status}");
        }
    }

    // Every delivery is on the queue exactly once and gets processed.
    let db = rusqlite::Connection::open(dir.path().join("sir-jira-bridge.sqlite3")).unwrap();
    let done = || -> (i64, i64, i64) {
        db.query_row(
            "SELECT count(*), count(DISTINCT json_extract(payload, '$.delivery_id')),
                    sum(state = 'done') FROM queue",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while done().2 < deliveries.len() as i64 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rows, distinct, processed) = done();
    assert_eq!(rows, deliveries.len() as i64, "one event per delivery");
    assert_eq!(distinct, rows);
    assert_eq!(processed, rows, "every event processed");
    drop(second);
}

#[tokio::test]
async fn secrets_never_reach_the_logs_or_any_response_even_at_trace_level() {
    const ADMIN: &str = "admin-token-that-must-not-leak-42";
    const AUTOMATION: &str = "automation-secret-that-must-not-leak-42";
    const IN_QUERY: &str = "query-string-secret-that-must-not-leak-42";
    let dir = tempfile::tempdir().unwrap();
    let mut service = start_with(
        dir.path(),
        1,
        "127.0.0.1:0",
        &[
            ("SIR_JIRA_LOG_LEVEL", "trace"),
            ("SIR_JIRA_ADMIN_TOKEN", ADMIN),
            ("SIR_JIRA_AUTOMATION_SECRET", AUTOMATION),
        ],
    );
    let base = format!("http://{}", service.addr);
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    let body = fixture("issue_created.json");
    let signed = sir_jira_bridge::verify::jira::sign(SECRET_NEW, &body);
    let requests = vec![
        // Accepted, duplicate, wrong signature, wrong automation secret, automation accepted.
        client
            .post(format!("{base}/webhooks/jira"))
            .header("x-atlassian-webhook-identifier", "s-1")
            .header("x-hub-signature", &signed)
            .body(body.clone()),
        client
            .post(format!("{base}/webhooks/jira"))
            .header("x-atlassian-webhook-identifier", "s-1")
            .header("x-hub-signature", &signed)
            .body(body.clone()),
        client
            .post(format!("{base}/webhooks/jira"))
            .header(
                "x-hub-signature",
                sir_jira_bridge::verify::jira::sign(ADMIN, &body),
            )
            .body(body.clone()),
        client
            .post(format!("{base}/webhooks/jira"))
            .header("x-automation-secret", format!("{AUTOMATION}x"))
            .body(body.clone()),
        client
            .post(format!("{base}/webhooks/jira"))
            .header("x-automation-secret", AUTOMATION)
            .body(r#"{"IssueId":"SEC-9"}"#),
        // Admin: wrong and right tokens, every kind of answer.
        client
            .get(format!("{base}/v1/status"))
            .bearer_auth(format!("{ADMIN}x")),
        client.get(format!("{base}/v1/status")).bearer_auth(ADMIN),
        client.get(format!("{base}/v1/events")).bearer_auth(ADMIN),
        client
            .get(format!("{base}/v1/dead-letters"))
            .bearer_auth(ADMIN),
        client.get(format!("{base}/metrics")),
        client.get(format!("{base}/openapi.json")),
        // Secrets in query strings: neither the request span nor the refusal logs them.
        client.get(format!("{base}/v1?token={IN_QUERY}")),
        client.get(format!("{base}/v1/status?token={IN_QUERY}")),
        client
            .post(format!("{base}/webhooks/jira?secret={IN_QUERY}"))
            .body(body.clone()),
    ];
    for request in requests {
        let r = request.send().await.unwrap();
        let headers = format!("{:?}", r.headers());
        bodies.push(format!("{headers} {}", r.text().await.unwrap()));
    }
    service.wait_for(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("event processed"))
    });
    service.signal("TERM");
    let mut log = Vec::new();
    while let Ok(line) = service.lines.recv_timeout(Duration::from_secs(5)) {
        log.push(line.to_string());
        if line["message"] == "stopped" {
            break;
        }
    }
    assert!(
        log.iter()
            .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
        "trace logging was on"
    );
    assert!(
        log.iter().any(|l| l.contains("/webhooks/jira")),
        "requests are logged, by path"
    );
    assert!(
        !log.iter().any(|l| l.contains(IN_QUERY)),
        "a query string reached the log"
    );
    for secret in [ADMIN, AUTOMATION, SECRET_NEW] {
        assert!(
            !log.iter().any(|l| l.contains(secret)),
            "a secret reached the log"
        );
        assert!(
            !bodies.iter().any(|b| b.contains(secret)),
            "a secret reached a response"
        );
    }
}

/// `serve` under a shell that first runs `ulimit <limit>` (e.g. `-n 256`).
fn start_limited(data_dir: &std::path::Path, limit: &str, extra_env: &[(&str, &str)]) -> Service {
    let mut command = Command::new("sh");
    command.args(["-c", &format!("ulimit {limit} && exec \"$0\" serve"), BIN]);
    command.env("PATH", std::env::var("PATH").unwrap_or_default());
    start_command(command, data_dir, 1, "127.0.0.1:0", extra_env)
}

/// The soft and hard open-file limits of a running process.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let dir = tempfile::tempdir().unwrap();
    let service = start_limited(dir.path(), "-S -n 256", &[]);
    let (soft, hard) = open_file_limits(service.child.id());
    assert_ne!(soft, "256", "the soft limit stayed where the shell left it");
    assert_eq!(soft, hard);
}

#[tokio::test]
async fn with_a_low_open_file_limit_and_many_idle_connections_a_webhook_is_still_accepted() {
    let dir = tempfile::tempdir().unwrap();
    // Soft and hard at 256: nothing to raise, so the connection cap must stay under it.
    let service = start_limited(
        dir.path(),
        "-n 256",
        &[
            ("SIR_JIRA_HTTP_HEADER_READ_TIMEOUT_SECS", "2"),
            ("SIR_JIRA_HTTP_IDLE_TIMEOUT_SECS", "2"),
        ],
    );
    assert_eq!(open_file_limits(service.child.id()).0, "256");
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(std::net::TcpStream::connect(&service.addr).unwrap());
    }
    let body = fixture("issue_created.json");
    let response = reqwest::Client::new()
        .post(format!("http://{}/webhooks/jira", service.addr))
        .header("x-atlassian-webhook-identifier", "behind-300-idle")
        .header(
            "x-hub-signature",
            sir_jira_bridge::verify::jira::sign(SECRET_NEW, &body),
        )
        .body(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the webhook was answered");
    assert_eq!(response.status().as_u16(), 202);
    drop(idle);
}

#[test]
fn a_data_directory_open_to_other_users_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let service = start(&data, 0, "127.0.0.1:0");
    let warned = service.seen.iter().any(|l| {
        l["level"] == "WARN"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("the data directory"))
            && l["mode"] == "755"
    });
    assert!(warned, "no warning about the data directory's permissions");
    // A private one gets none.
    let private = root.path().join("private");
    let service = start(&private, 0, "127.0.0.1:0");
    assert!(!service.seen.iter().any(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the data directory"))
    }),);
}

/// A misspelled variable is not silently ignored: `serve` warns naming the setting meant, and
/// `doctor` fails on it.
#[test]
fn a_misspelled_variable_is_named_at_start_up_and_fails_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut service = start_with(dir.path(), 0, &addr, &[("SIR_JIRA_WORKRES", "4")]);
    let line = service.wait_for(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.contains("SIR_JIRA_WORKRES"))
    });
    assert_eq!(line["level"], "WARN", "{line}");
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .contains("did you mean SIR_JIRA_WORKERS?"),
        "{line}"
    );
    drop(service);

    let doctor = |extra: &[(&str, &str)]| {
        Command::new(BIN)
            .arg("doctor")
            .env_clear()
            .env("SIR_JIRA_DATA_DIR", dir.path())
            .env("SIR_JIRA_JIRA_WEBHOOK_SECRETS", SECRET_NEW)
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    };
    let clean = doctor(&[]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let typo = doctor(&[("SIR_JIRA_WORKRES", "4")]);
    let out = String::from_utf8_lossy(&typo.stdout);
    assert_eq!(typo.status.code(), Some(1), "{out}");
    assert!(out.contains("did you mean SIR_JIRA_WORKERS?"), "{out}");
}

/// `healthcheck` as a container's HEALTHCHECK runs it: the same environment as `serve`.
fn healthcheck(listen_addr: &str, data_dir: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .arg("healthcheck")
        .env_clear()
        .env("SIR_JIRA_LISTEN_ADDR", listen_addr)
        .env("SIR_JIRA_DATA_DIR", data_dir)
        .output()
        .unwrap()
}

#[test]
fn healthcheck_passes_while_the_gateway_is_ready_and_fails_in_one_line_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    // Bound to every interface, as in the container: asked on loopback.
    let port = free_addr().rsplit(':').next().unwrap().to_owned();
    let service = start(dir.path(), 1, &format!("0.0.0.0:{port}"));
    let out = healthcheck(&format!("0.0.0.0:{port}"), dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ready (200)");
    drop(service);

    // Nothing listens any more.
    let out = healthcheck(&format!("0.0.0.0:{port}"), dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "not ready: http://127.0.0.1:{port}/readyz is unreachable"
        )),
        "{stderr}"
    );
}

#[test]
fn healthcheck_fails_when_readyz_answers_an_error() {
    use std::io::{Read, Write};
    // A listener that answers what a gateway whose store is down answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let n = stream.read(&mut request).unwrap();
        assert!(String::from_utf8_lossy(&request[..n]).starts_with("GET /readyz "));
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let out = healthcheck(&addr, dir.path());
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("not ready: http://{addr}/readyz answered 503")
    );
}

/// `doctor | head -1` and `openapi | head`: the reader leaves before the output is written. The
/// command ends quietly with the code its result deserves (doctor: 1 here, a check fails), not
/// with a panic (101) on the broken pipe.
#[test]
fn a_reader_that_leaves_early_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for (args, code) in [
        (&["openapi"][..], 0),
        (&["event-schema"][..], 0),
        (&["doctor"][..], 1),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .env("SIR_JIRA_DATA_DIR", dir.path())
            // An unreachable Jira: doctor's Jira check fails quickly.
            .env("SIR_JIRA_JIRA_URL", "http://127.0.0.1:9")
            .env("SIR_JIRA_JIRA_EMAIL", "bot@example.com")
            .env("SIR_JIRA_JIRA_API_TOKEN", "token")
            .env("SIR_JIRA_JIRA_PROJECT_KEY", "SEC")
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Each bad value is reported where the person gave it: the variable, the file (line and key)
/// or the flag, never a flag nobody typed.
#[test]
fn a_bad_value_is_reported_where_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bridge.toml");
    std::fs::write(&file, "workers = 2\nlog_level = \"verbose\"\n").unwrap();
    let bad_addr = dir.path().join("addr.toml");
    std::fs::write(&bad_addr, "listen_addr = \"nowhere\"\n").unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .env("SIR_JIRA_DATA_DIR", dir.path())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let file_arg = file.to_str().unwrap();
    let addr_arg = bad_addr.to_str().unwrap();
    for (args, env, code, expected) in [
        (
            &["doctor"][..],
            &[("SIR_JIRA_LOG_LEVEL", "verbose")][..],
            Some(2),
            "invalid value 'verbose' for the environment variable SIR_JIRA_LOG_LEVEL".to_owned(),
        ),
        (
            &["--log-level", "verbose", "doctor"][..],
            &[][..],
            Some(2),
            "invalid value 'verbose' for '--log-level <LOG_LEVEL>'".to_owned(),
        ),
        (
            &["--config", file_arg, "serve"][..],
            &[][..],
            Some(1),
            format!(
                "config file {file_arg} is not valid: line 2, key `log_level`: unknown variant"
            ),
        ),
        (
            &["--config", addr_arg, "serve"][..],
            &[][..],
            Some(1),
            format!("setting `listen_addr` (from key `listen_addr` in {addr_arg})"),
        ),
        (
            &["--config", addr_arg, "serve"][..],
            &[("SIR_JIRA_LISTEN_ADDR", "elsewhere")][..],
            Some(1),
            "setting `listen_addr` (from the environment variable SIR_JIRA_LISTEN_ADDR)".to_owned(),
        ),
        (
            &["--listen-addr=there", "serve"][..],
            &[("SIR_JIRA_LISTEN_ADDR", "elsewhere")][..],
            Some(1),
            "setting `listen_addr` (from the flag --listen-addr)".to_owned(),
        ),
    ] {
        let (got, stderr) = run(args, env);
        assert_eq!(got, code, "{args:?} {env:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?} {env:?}: {stderr}");
    }
}
