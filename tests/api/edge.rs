//! The public edge: slow and idle clients are cut off, an oversized body gets a 413 its sender
//! reads, `/metrics` says what its body is (and can ask for the token), the data directory is
//! private, and start-up needs no peer to answer.

use std::{
    io::{Read, Write},
    os::unix::fs::PermissionsExt,
    time::Duration,
};

use jira_emulator::{EmulatorConfig as JiraConfig, JiraEmulator};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{helpers::*, jira_sync::full_case};

/// Reads until the server closes the connection (EOF or an error) or `within` passes: true
/// when it closed.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let app = TestApp::spawn_with(|s| s.http_header_read_timeout_secs = Some(1)).await;
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    // One byte every 100 ms, never finishing the header: 30 s worth of it.
    let trickle = tokio::spawn(async move {
        write
            .write_all(b"POST /webhooks/jira HTTP/1.1\r\nHost: x\r\n")
            .await?;
        for _ in 0..300 {
            write.write_all(b"x").await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a client still sending its header after 5 s was not disconnected"
    );
    trickle.abort();
    app.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    // The header timeout would close it too (hyper also times the wait for the next
    // request); set long, so only the idle timeout can.
    let app = TestApp::spawn_with(|s| {
        s.http_idle_timeout_secs = Some(1);
        s.http_header_read_timeout_secs = Some(60);
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(
        closed_within(&mut stream, Duration::from_secs(5)).await,
        "an idle connection was kept past the idle timeout"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_whose_body_trickles_past_the_request_timeout_gets_408() {
    let app = TestApp::spawn_with(|s| s.http_request_timeout_secs = Some(1)).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /webhooks/jira HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
        .await
        .unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered before the client finished its body")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn past_the_connection_cap_a_connection_waits_until_one_closes() {
    // Long timeouts: only closing a connection frees a slot.
    let app = TestApp::spawn_with(|s| {
        s.http_max_connections = Some(2);
        s.http_idle_timeout_secs = Some(60);
        s.http_header_read_timeout_secs = Some(60);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        // Answered: the connection is surely accepted, and now idle.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let body = fixture("issue_created.json");
    {
        let webhook = app.post_signed(&body, SECRET_NEW, "past-the-cap");
        tokio::pin!(webhook);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), &mut webhook)
                .await
                .is_err(),
            "a third connection was served while two held the cap of two"
        );
        drop(held.pop());
        let response = tokio::time::timeout(Duration::from_secs(10), webhook)
            .await
            .expect("served once a slot was free");
        assert_eq!(response.status().as_u16(), 202);
    }
    app.stop().await;
}

#[tokio::test]
async fn at_the_connection_cap_idle_connections_make_room_for_a_webhook() {
    let app = TestApp::spawn_with(|s| {
        s.http_max_connections = Some(4);
        s.http_idle_timeout_secs = Some(1);
        s.http_header_read_timeout_secs = Some(1);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..32 {
        idle.push(tokio::net::TcpStream::connect(app.addr).await.unwrap());
    }
    let body = fixture("issue_created.json");
    let response = tokio::time::timeout(
        Duration::from_secs(20),
        app.post_signed(&body, SECRET_NEW, "behind-idle-1"),
    )
    .await
    .expect("the webhook was answered");
    assert_eq!(response.status().as_u16(), 202);
    drop(idle);
    app.stop().await;
}

/// Writes the whole request before reading anything, as Python's urllib does; returns what the
/// server answered, or the I/O error (a reset connection, a broken pipe).
fn write_all_then_read(
    addr: std::net::SocketAddr,
    head: String,
    body: Vec<u8>,
) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(head.as_bytes())?;
    // At a network's pace rather than loopback's: all of it may otherwise fit in the socket
    // buffers before the server answers, hiding whether the server read it.
    for chunk in body.chunks(64 * 1024) {
        stream.write_all(chunk)?;
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // The answer is short: read until the status line and the error body are in.
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(17).any(|w| w == b"payload_too_large") {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn an_oversized_body_written_in_full_before_reading_gets_the_413() {
    let app = TestApp::spawn().await;
    let addr = app.addr;
    let body = vec![b'x'; 2 * 1024 * 1024];
    let declared = format!(
        "POST /webhooks/jira HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // Chunked: the limit is found while reading, not from the header.
    let mut chunked = Vec::new();
    for chunk in body.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let streamed = "POST /webhooks/jira HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned();
    for (head, body) in [(declared, body.clone()), (streamed, chunked)] {
        for attempt in 0..3 {
            let (head, body) = (head.clone(), body.clone());
            let answer = tokio::task::spawn_blocking(move || write_all_then_read(addr, head, body))
                .await
                .unwrap();
            match answer {
                Ok(text) => assert!(text.starts_with("HTTP/1.1 413"), "{text}"),
                Err(e) => panic!("attempt {attempt}: the client saw {e}, not the 413"),
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_served_as_openmetrics_and_can_require_the_token() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    app.stop().await;

    let app = TestApp::spawn_with(|s| s.metrics_require_token = Some(true)).await;
    let anonymous = app.client.get(app.url("/metrics")).send().await.unwrap();
    expect_error(anonymous, 401).await;
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("not-the-admin-token-at-all")
        .send()
        .await
        .unwrap();
    expect_error(wrong, 401).await;
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    app.stop().await;
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_data_directory_and_its_files_are_the_owners_only() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // Generated secrets, not configured ones.
    let app = TestApp::spawn_with(|s| {
        s.data_dir = Some(data.clone());
        s.jira_webhook_secrets = None;
        s.admin_token = None;
    })
    .await;
    let secret = std::fs::read_to_string(data.join("jira-webhook-secret")).unwrap();
    let body = fixture("issue_created.json");
    assert_eq!(
        app.post_signed(&body, secret.trim(), "private-1")
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(mode(&data), 0o700);
    for file in [
        "sir-jira-bridge.sqlite3",
        "sir-jira-bridge.sqlite3-wal",
        "sir-jira-bridge.sqlite3-shm",
        "jira-webhook-secret",
        "admin-token",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    app.stop().await;
}

/// An address nothing listens on (for a peer that is down).
fn closed_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn with_jira_down_the_gateway_starts_queues_and_syncs_once_jira_answers() {
    let jira_addr = closed_addr();
    let sir = sir_emulator().await;
    let app = TestApp::spawn_with_sdk(
        |s| {
            connect_peers_at(s, &format!("http://{jira_addr}"), &sir);
            s.workers = Some(1);
        },
        sdk_config_for(&sir.endpoint_url()).await,
    )
    .await;

    // The intake works: a delivery is accepted and queued.
    let body = fixture("issue_created.json");
    assert_eq!(
        app.post_signed(&body, SECRET_NEW, "jira-down-1")
            .await
            .status()
            .as_u16(),
        202
    );
    // Status and doctor say Jira is down.
    assert!(
        eventually(Duration::from_secs(20), || async {
            let (_, status) = app.admin_get("/v1/status").await;
            status["peers"]["jira"]["last_error"].is_string()
        })
        .await,
        "/v1/status never reported the Jira failure"
    );
    let (code, report) = app.admin_get("/v1/doctor").await;
    assert_eq!(code, 200);
    let reachable = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "jira.reachable")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(reachable["status"], "fail", "{report}");

    // A case change waits for Jira, not lost, not dead-lettered.
    let case_id = full_case(&sir, "Waits for Jira");
    app.case_changed(&case_id, sir_jira_bridge::event::sir::CaseChange::Created)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.stats().await.dead, 0);

    // Jira comes up on its address: the account is learned and the case gets its issue.
    let jira = JiraEmulator::start_on(JiraConfig::default(), jira_addr)
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(60), || async {
            !jira.issues().is_empty()
        })
        .await,
        "the case never reached Jira"
    );
    assert!(app.drained(Duration::from_secs(30)).await);
    assert_eq!(app.stats().await.dead, 0);
    app.stop().await;
}
