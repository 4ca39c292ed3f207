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
}

/// Starts `serve` with JSON logs, waits for it to listen, and streams its log lines.
fn start(data_dir: &std::path::Path, workers: u32, addr: &str) -> Service {
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("SIR_JIRA_LISTEN_ADDR", addr)
        .env("SIR_JIRA_DATA_DIR", data_dir)
        .env("SIR_JIRA_LOG_FORMAT", "json")
        .env("SIR_JIRA_WORKERS", workers.to_string())
        .env("SIR_JIRA_JIRA_WEBHOOK_SECRETS", SECRET_NEW)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            } else {
                eprintln!("non-JSON log line: {line}");
            }
        }
    });
    let mut service = Service {
        child,
        lines: rx,
        addr: String::new(),
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
                Ok(_) => {}
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
