//! The operator console: its page and assets, the session cookie (attributes, CSRF, expiry,
//! sign-out), what the console reads from the admin API, and the page itself in headless
//! Chromium (screenshots in `target/console-screenshots/`).

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use serde_json::{Value, json};
use sir_jira_bridge::{
    http::console::{
        SessionKeys,
        session::{COOKIE, LIFETIME_SECS},
    },
    secret::Secret,
    store::{LedgerEntry, Mapping, Side},
};

use crate::{
    helpers::*,
    webdriver::{Browser, screenshot_path},
};

/// A signed-in session: the cookie's value and the CSRF token.
struct Signed {
    cookie: String,
    csrf: String,
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix(&format!("{COOKIE}=")))
        .unwrap_or_else(|| panic!("not the session cookie: {set_cookie}"))
        .to_owned()
}

async fn sign_in_with(app: &TestApp, headers: &[(&str, &str)]) -> (Signed, String) {
    let mut request = app
        .client
        .post(app.url("/console/session"))
        .json(&json!({"token": ADMIN_TOKEN}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let signed = Signed {
        cookie: cookie_value(&set_cookie),
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    };
    (signed, set_cookie)
}

async fn sign_in(app: &TestApp) -> Signed {
    sign_in_with(app, &[]).await.0
}

async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("cookie", format!("{COOKIE}={cookie}"))
        .send()
        .await
        .unwrap()
}

async fn resync_with_cookie(app: &TestApp, cookie: &str, csrf: Option<&str>) -> u16 {
    let mut request = app
        .client
        .post(app.url("/v1/resync/cases/1234567890"))
        .header("cookie", format!("{COOKIE}={cookie}"));
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.send().await.unwrap().status().as_u16()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn console_page_and_assets_are_embedded_small_and_locked_down() {
    let app = TestApp::spawn().await;
    let mut bodies = Vec::new();
    for (path, content_type) in [
        ("/console", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/app.css", "text/css"),
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type)
        );
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        bodies.push(r.text().await.unwrap());
    }
    let total: usize = bodies.iter().map(String::len).sum();
    assert!(total < 200 * 1024, "the console is {total} bytes");
    let page = &bodies[0];
    assert!(page.contains(r#"<label for="token">Admin token</label>"#));
    assert!(page.contains(r#"type="password""#));
}

#[tokio::test]
async fn console_sign_in_sets_a_strict_cookie_and_refuses_a_wrong_token() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.url("/console/session"))
        .json(&json!({"token": "admin-token-0123456789abcdeX"}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());
    assert!(expect_error(r, 401).await.contains("wrong admin token"));
    // A cross-site form can post only form encodings: refused, so nobody can sign a browser
    // into a session of their choosing.
    let r = app
        .client
        .post(app.url("/console/session"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());
    expect_error(r, 400).await;

    let before = now();
    let (signed, set_cookie) = sign_in_with(&app, &[]).await;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(set_cookie.contains(&format!("Max-Age={LIFETIME_SECS}")));
    assert!(
        !set_cookie.contains("Secure"),
        "plain http cannot keep a Secure cookie"
    );
    assert!(!set_cookie.contains(ADMIN_TOKEN));
    assert_eq!(signed.csrf.len(), 64);
    let expires: i64 = signed.cookie.split('.').next().unwrap().parse().unwrap();
    assert!((before + LIFETIME_SECS..=now() + LIFETIME_SECS).contains(&expires));

    let r = get_with_cookie(&app, "/console/session", &signed.cookie).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["csrf_token"], signed.csrf.as_str());
    assert_eq!(body["expires_at"], expires);

    // Behind a TLS proxy (a Function URL, a load balancer) the cookie is Secure.
    let (_, set_cookie) = sign_in_with(&app, &[("x-forwarded-proto", "https")]).await;
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
}

#[tokio::test]
async fn console_cookie_is_secure_when_the_public_url_is_https() {
    let app =
        TestApp::spawn_with(|s| s.public_url = Some("https://bridge.example.com".into())).await;
    let (_, set_cookie) = sign_in_with(&app, &[]).await;
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
}

#[tokio::test]
async fn console_cookie_opens_the_admin_api_and_changes_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let a = sign_in(&app).await;
    let b = sign_in(&app).await;
    let r = get_with_cookie(&app, "/v1/status", &a.cookie).await;
    assert_eq!(r.status().as_u16(), 200);

    assert_eq!(resync_with_cookie(&app, &a.cookie, None).await, 403);
    assert_eq!(resync_with_cookie(&app, &a.cookie, Some("")).await, 403);
    assert_eq!(
        resync_with_cookie(&app, &a.cookie, Some(&b.csrf)).await,
        403
    );
    assert_eq!(app.queued().await, 0, "a refused change queued nothing");
    assert_eq!(
        resync_with_cookie(&app, &a.cookie, Some(&a.csrf)).await,
        202
    );
    assert_eq!(app.queued().await, 1);

    // A bearer token, when presented, is judged alone: a wrong one is not rescued by a cookie.
    let r = app
        .client
        .get(app.url("/v1/status"))
        .bearer_auth("admin-token-0123456789abcdeX")
        .header("cookie", format!("{COOKIE}={}", a.cookie))
        .send()
        .await
        .unwrap();
    expect_error(r, 401).await;
}

#[tokio::test]
async fn console_expired_forged_and_foreign_sessions_are_refused() {
    let app = TestApp::spawn().await;
    let keys = SessionKeys::new(&Secret::new(ADMIN_TOKEN));
    // Issued just over a lifetime ago: expired.
    let (_, expired) = keys.issue(now() - LIFETIME_SECS - 5);
    // Issued a minute ago, still valid: the same key is what the app uses.
    let (_, fresh) = keys.issue(now() - 60);
    assert_eq!(
        get_with_cookie(&app, "/v1/status", &fresh).await.status(),
        200
    );

    let mut parts: Vec<String> = fresh.split('.').map(str::to_owned).collect();
    parts[0] = (now() + 10 * LIFETIME_SECS).to_string();
    let lengthened = parts.join(".");
    let (_, foreign) = SessionKeys::new(&Secret::new("another-admin-token-0123456")).issue(now());
    for cookie in [expired.as_str(), lengthened.as_str(), foreign.as_str(), "x"] {
        let r = get_with_cookie(&app, "/v1/status", cookie).await;
        expect_error(r, 401).await;
        let r = get_with_cookie(&app, "/console/session", cookie).await;
        expect_error(r, 401).await;
    }
}

#[tokio::test]
async fn console_sign_out_ends_the_session_for_every_copy_of_the_cookie() {
    let app = TestApp::spawn().await;
    let s = sign_in(&app).await;
    let sign_out = |csrf: Option<&str>| {
        let mut request = app
            .client
            .delete(app.url("/console/session"))
            .header("cookie", format!("{COOKIE}={}", s.cookie));
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    expect_error(sign_out(None).await.unwrap(), 403).await;
    assert_eq!(
        get_with_cookie(&app, "/v1/status", &s.cookie)
            .await
            .status(),
        200
    );

    let r = sign_out(Some(&s.csrf)).await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with(&format!("{COOKIE}=;")) && cleared.contains("Max-Age=0"));
    expect_error(get_with_cookie(&app, "/v1/status", &s.cookie).await, 401).await;
    expect_error(
        get_with_cookie(&app, "/console/session", &s.cookie).await,
        401,
    )
    .await;
    // Another session is untouched, and signing in again works.
    let again = sign_in(&app).await;
    assert_eq!(
        get_with_cookie(&app, "/v1/status", &again.cookie)
            .await
            .status(),
        200
    );
}

#[test]
fn console_routes_are_left_out_of_the_openapi_document() {
    let document = sir_jira_bridge::http::openapi_document();
    assert!(document.paths.paths.keys().any(|p| p == "/v1/status"));
    assert!(
        !document
            .paths
            .paths
            .keys()
            .any(|p| p.starts_with("/console")),
        "docs/reference.md says the console's routes are not in the document"
    );
}

async fn put_ledger(app: &TestApp, side: Side, entity: &str, at_ms: i64) {
    app.store
        .put_ledger(&LedgerEntry {
            side,
            entity: entity.into(),
            state: json!({}),
            updated_at_ms: at_ms,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn mappings_carry_links_and_the_last_sync_direction() {
    let app = TestApp::spawn_with(|s| {
        s.aws_region = Some("eu-west-1".into());
        s.jira_url = Some("http://127.0.0.1:9/".into());
        s.jira_email = Some("sir-bridge@example.com".into());
        s.jira_api_token = Some(Secret::new("bridge-api-token"));
        s.jira_project_key = Some("SEC".into());
    })
    .await;
    for (case, key) in [("1000000001", "SEC-1"), ("1000000002", "SEC-2")] {
        app.store
            .insert_mapping(&Mapping {
                case_id: case.into(),
                issue_key: key.into(),
                issue_id: None,
            })
            .await
            .unwrap();
    }
    let (status, m) = app.admin_get("/v1/mappings/cases/1000000001").await;
    assert_eq!(status, 200);
    assert_eq!(m["last_sync"], Value::Null, "nothing written yet");
    assert_eq!(m["issue_url"], "http://127.0.0.1:9/browse/SEC-1");
    assert_eq!(
        m["case_url"],
        "https://eu-west-1.console.aws.amazon.com/security-ir/home?region=eu-west-1#/incidents/1000000001"
    );

    put_ledger(&app, Side::Jira, "SEC-1", 1_700_000_000_000).await;
    let (_, m) = app.admin_get("/v1/mappings/issues/SEC-1").await;
    assert_eq!(m["last_sync"]["direction"], "case_to_issue");
    assert_eq!(m["last_sync"]["at"], "2023-11-14T22:13:20Z");
    put_ledger(&app, Side::Sir, "1000000001", 1_700_000_060_000).await;
    let (_, page) = app.admin_get("/v1/mappings").await;
    assert_eq!(page["items"][0]["last_sync"]["direction"], "issue_to_case");
    assert_eq!(page["items"][0]["last_sync"]["at"], "2023-11-14T22:14:20Z");
    assert_eq!(page["items"][1]["last_sync"], Value::Null);
}

#[tokio::test]
async fn mappings_have_no_links_without_a_region_or_jira() {
    let app = TestApp::spawn().await;
    app.store
        .insert_mapping(&Mapping {
            case_id: "1000000001".into(),
            issue_key: "SEC-1".into(),
            issue_id: None,
        })
        .await
        .unwrap();
    let (_, m) = app.admin_get("/v1/mappings/cases/1000000001").await;
    assert_eq!(
        (&m["case_url"], &m["issue_url"]),
        (&Value::Null, &Value::Null)
    );
}

#[tokio::test]
async fn status_counts_events_per_minute_over_the_last_hour() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        let r = app
            .post_signed(
                &fixture("issue_created.json"),
                SECRET_NEW,
                &format!("pm-{i}"),
            )
            .await;
        assert_eq!(r.status().as_u16(), 202);
    }
    let (_, status) = app.admin_get("/v1/status").await;
    let counts: Vec<u64> =
        serde_json::from_value(status["queue"]["events_per_minute"].clone()).unwrap();
    assert_eq!(counts.len(), 60);
    // All three in the minute in progress, or the one before when a minute turned meanwhile.
    assert_eq!(counts[58] + counts[59], 3, "{counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 3);
}

// ---------------------------------------------------------------- in a real browser

/// Signs the browser in through the form and waits for the health page.
async fn browser_sign_in(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/console")).await;
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("#sign-in-form button[type=submit]").await;
    browser.wait_text("#health-list", "Queue depth").await;
}

#[tokio::test]
async fn console_in_a_browser_signs_in_searches_and_shows_every_page() {
    let app = TestApp::spawn_with(|s| s.aws_region = Some("eu-west-1".into())).await;
    for i in 0..12 {
        app.store
            .insert_mapping(&Mapping {
                case_id: format!("10000000{i:02}"),
                issue_key: format!("SEC-{i}"),
                issue_id: None,
            })
            .await
            .unwrap();
    }
    put_ledger(&app, Side::Jira, "SEC-7", 1_700_000_000_000).await;
    for (i, file) in ["issue_created.json", "comment_created.json"]
        .iter()
        .enumerate()
    {
        app.post_signed(&fixture(file), SECRET_NEW, &format!("b-{i}"))
            .await;
    }
    let browser = Browser::start().await;

    browser.goto(&app.url("/console")).await;
    browser.find("#token").await;
    browser.screenshot(&screenshot_path("01-sign-in")).await;
    browser.type_into("#token", "not-the-admin-token").await;
    browser.click("#sign-in-form button[type=submit]").await;
    browser
        .wait_text("#sign-in-error", "wrong admin token")
        .await;
    assert_eq!(
        browser
            .script("return document.getElementById('nav').hidden")
            .await,
        true
    );
    browser
        .screenshot(&screenshot_path("02-sign-in-refused"))
        .await;

    // By keyboard: Enter in the field submits the form.
    browser
        .type_into("#token", &format!("{ADMIN_TOKEN}\u{E007}"))
        .await;
    let health = browser.wait_text("#health-list", "Queue depth").await;
    assert!(health.contains("Dead letters"), "{health}");
    browser.find("#chart svg rect").await;
    // The token is nowhere the page can reach, and the cookie is out of the script's reach.
    let exposed = browser
        .script(
            "return [document.cookie, location.href, localStorage.length, sessionStorage.length, \
             document.getElementById('token').value]",
        )
        .await;
    assert_eq!(exposed[0], "");
    assert!(!exposed[1].as_str().unwrap().contains(ADMIN_TOKEN));
    assert_eq!(
        (&exposed[2], &exposed[3], &exposed[4]),
        (&json!(0), &json!(0), &json!(""))
    );
    browser.screenshot(&screenshot_path("03-health")).await;

    browser.click("a[href='#mappings']").await;
    browser
        .wait_text("#mapping-table tbody", "1000000011")
        .await;
    browser.type_into("#mapping-q", "sec-7").await;
    browser.click("#mapping-search button[type=submit]").await;
    let found = browser.wait_text("#mapping-note", "Found 1 mapping").await;
    assert!(found.contains("Found 1"));
    let rows = browser.text("#mapping-table tbody").await;
    assert!(
        rows.contains("1000000007") && rows.contains("SEC-7"),
        "{rows}"
    );
    assert!(rows.contains("case → issue"), "{rows}");
    assert!(!rows.contains("1000000008"), "{rows}");
    let link = browser
        .script("return document.querySelector('#mapping-table tbody a').href")
        .await;
    assert_eq!(
        link,
        "https://eu-west-1.console.aws.amazon.com/security-ir/home?region=eu-west-1#/incidents/1000000007"
    );
    browser.screenshot(&screenshot_path("04-mappings")).await;
    browser.type_into("#mapping-q", "SEC-99").await;
    browser.click("#mapping-search button[type=submit]").await;
    browser
        .wait_text("#mapping-table tbody", "No mapping for SEC-99")
        .await;

    browser.click("a[href='#events']").await;
    assert_eq!(
        browser.script("return document.activeElement.id").await,
        "events-title",
        "focus moves to the heading of the page chosen"
    );
    browser.wait_text("#event-note", "2 events").await;
    browser
        .click("#event-type option[value='jira.comment.created']")
        .await;
    browser.click("#event-filter button[type=submit]").await;
    browser.wait_text("#event-note", "1 event.").await;
    browser.click("#event-table tbody details summary").await;
    browser
        .wait_text(
            "#event-table tbody pre",
            "\"type\": \"jira.comment.created\"",
        )
        .await;
    browser.screenshot(&screenshot_path("05-events")).await;

    browser.click("a[href='#doctor']").await;
    browser.click("#doctor-run").await;
    browser.wait_text("#doctor-note", "check").await;
    let checks = browser.text("#doctor-table tbody").await;
    assert!(!checks.is_empty());
    browser.type_into("#resync-target", "SEC-7").await;
    browser.click("#resync-form button[type=submit]").await;
    browser
        .wait_text("#resync-outcome", "Resync of SEC-7 queued as event")
        .await;
    browser
        .screenshot(&screenshot_path("07-doctor-and-resync"))
        .await;

    // The browser holds the session only as an HttpOnly cookie; signing out ends it for any
    // copy too.
    let cookies = browser.cookies().await;
    let session = cookies
        .iter()
        .find(|c| c["name"] == COOKIE)
        .expect("a session cookie");
    assert_eq!(session["httpOnly"], true);
    assert_eq!(session["sameSite"], "Strict");
    let copy = session["value"].as_str().unwrap().to_owned();
    browser.click("#sign-out").await;
    browser.wait_text("#sign-in-error", "Signed out").await;
    expect_error(get_with_cookie(&app, "/v1/status", &copy).await, 401).await;
}

#[tokio::test]
async fn console_in_a_browser_replays_a_dead_letter_exactly_once() {
    let handler = Arc::new(BrokenUntilFixed::default());
    let app = TestApp::spawn_with_handler(|s| s.workers = Some(2), Some(handler.clone())).await;
    app.post_signed(&fixture("issue_created.json"), SECRET_NEW, "dl-b")
        .await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.stats().await.dead == 1
        })
        .await,
        "the event was not dead-lettered"
    );
    let browser = Browser::start().await;
    browser_sign_in(&browser, &app).await;
    browser.click("a[href='#dead-letters']").await;
    browser
        .wait_text("#dl-table tbody", "customfield_10050")
        .await;
    browser.click("#dl-table tbody details summary").await;
    browser
        .wait_text("#dl-table tbody pre", "\"type\": \"jira.issue.created\"")
        .await;
    browser
        .screenshot(&screenshot_path("06-dead-letters"))
        .await;

    handler.fixed.store(true, Ordering::SeqCst);
    // Cancelled at the confirmation: nothing happens.
    browser.click("#dl-table tbody button").await;
    browser
        .wait_text("#confirm-text", "Replay dead letter")
        .await;
    browser
        .screenshot(&screenshot_path("06-dead-letters-confirm"))
        .await;
    browser.click("#confirm button[value=cancel]").await;
    browser.wait_text("#dl-outcome", "Replay cancelled").await;
    assert_eq!(
        app.admin_get("/v1/dead-letters").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    browser.click("#dl-table tbody button").await;
    browser.click("#confirm-ok").await;
    browser.wait_text("#dl-outcome", "Replayed 1 event").await;
    browser
        .wait_text("#dl-table tbody", "No dead letters")
        .await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.stats().await.done == 1
        })
        .await,
        "the replayed event was not processed"
    );
    browser
        .screenshot(&screenshot_path("06-dead-letters-replayed"))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        handler.applied.load(Ordering::SeqCst),
        1,
        "applied exactly once"
    );
    assert_eq!(
        app.admin_get("/v1/dead-letters").await.1["items"],
        json!([])
    );

    // Replay all matching: only the dead letters the filter shows go back.
    handler.fixed.store(false, Ordering::SeqCst);
    for (file, delivery) in [
        ("issue_created.json", "dl-b2"),
        ("comment_created.json", "dl-b3"),
    ] {
        app.post_signed(&fixture(file), SECRET_NEW, delivery).await;
    }
    assert!(
        eventually(Duration::from_secs(5), || async {
            app.admin_get("/v1/dead-letters").await.1["items"]
                .as_array()
                .is_some_and(|l| l.len() == 2)
        })
        .await,
        "two more dead letters"
    );
    handler.fixed.store(true, Ordering::SeqCst);
    browser
        .click("#dl-type option[value='jira.comment.created']")
        .await;
    browser.click("#dl-filter button[type=submit]").await;
    browser
        .wait_text("#dl-table tbody", "jira.comment.created")
        .await;
    assert!(
        !browser
            .text("#dl-table tbody")
            .await
            .contains("jira.issue.created")
    );
    browser.click("#dl-replay-all").await;
    browser
        .wait_text("#confirm-text", "Replay every dead letter matching")
        .await;
    browser.click("#confirm-ok").await;
    browser.wait_text("#dl-outcome", "Replayed 1 event:").await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            handler.applied.load(Ordering::SeqCst) == 2
        })
        .await,
        "the matching dead letter was not applied"
    );
    let (_, left) = app.admin_get("/v1/dead-letters").await;
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    assert_eq!(left["items"][0]["type"], "jira.issue.created");
}
