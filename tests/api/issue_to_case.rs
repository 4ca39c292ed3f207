//! Issue → case sync against the SIR emulator, through the production `SirClient` over the real
//! `aws-sdk-securityir` SDK.

use std::sync::Arc;

use aws_sdk_securityir::config::retry::RetryConfig;
use sir_emulator::{
    EmulatorConfig, EmulatorHandle, Operation, SeedCase, SirEmulator, ThrottleMode,
};
use sir_jira_bridge::{
    bus::Failure,
    db::Db,
    event::{
        Event, EventEnvelope, Origin, SyncIssueRequest,
        jira::{
            Actor, Comment, CommentEvent, FieldChange, Issue, IssueEvent, IssueRef, RichText,
            Status,
        },
    },
    metrics::Metrics,
    peers::{Peer, PeerHealth},
    sir::{CaseStatus, SirClient},
    store::{Mapping, SqliteStore, StateStore},
    sync::case_to_issue::IssueLedger,
    sync::issue_to_case::{IssueToCaseConfig, IssueToCaseSync, JiraIssueSource, StatusTarget},
    worker::EventHandler,
};

const OWN: &str = "557058:integration-bridge";
const DANA: &str = "5b10a2844c20165700ede21g";

struct Fixture {
    emu: EmulatorHandle,
    store: Arc<dyn StateStore>,
    peers: Arc<PeerHealth>,
    sync: IssueToCaseSync,
    _dir: tempfile::TempDir,
}

async fn fixture(config: IssueToCaseConfig) -> Fixture {
    let emu = SirEmulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::new(
        Db::open(&dir.path().join("s.sqlite3")).unwrap(),
    ));
    let peers = Arc::new(PeerHealth::default());
    let sync = handler(&emu, config, store.clone(), peers.clone());
    Fixture {
        emu,
        store,
        peers,
        sync,
        _dir: dir,
    }
}

/// SDK retries off: the worker's backoff is what retries, and the test sees each failure.
fn handler(
    emu: &EmulatorHandle,
    config: IssueToCaseConfig,
    store: Arc<dyn StateStore>,
    peers: Arc<PeerHealth>,
) -> IssueToCaseSync {
    let conf = emu
        .sdk_config(sir_emulator::INTEGRATION_ACCESS_KEY_ID)
        .retry_config(RetryConfig::disabled());
    let sir = Arc::new(SirClient::from_conf(conf, Arc::new(Metrics::new()), peers));
    IssueToCaseSync::new(config, sir, store)
}

fn config() -> IssueToCaseConfig {
    IssueToCaseConfig {
        own_jira_account_id: Some(OWN.into()),
        ..IssueToCaseConfig::default()
    }
}

impl Fixture {
    async fn mapped_case(&self, key: &str) -> String {
        let id = self.emu.seed_case(SeedCase::default());
        self.store
            .insert_mapping(&Mapping {
                case_id: id.clone(),
                issue_key: key.into(),
                issue_id: None,
            })
            .await
            .unwrap();
        id
    }

    fn writes(&self) -> usize {
        self.emu.log().count_writes()
    }

    fn status(&self, id: &str) -> sir_emulator::CaseStatus {
        self.emu.case(id).unwrap().case_status
    }
}

fn actor(id: &str) -> Option<Actor> {
    Some(Actor {
        account_id: Some(id.into()),
        display_name: Some(
            if id == OWN {
                "SIR bridge"
            } else {
                "Dana Analyst"
            }
            .into(),
        ),
        account_type: Some("atlassian".into()),
        name: None,
    })
}

fn envelope(event: Event) -> EventEnvelope {
    EventEnvelope::new(Origin::JiraWebhook, uuid::Uuid::new_v4().to_string(), event)
}

/// A `jira.issue.updated` as the normalizer makes it for a status transition.
fn moved(key: &str, status: &str, resolution: Option<&str>, who: &str, at: i64) -> EventEnvelope {
    let mut changes = vec![FieldChange {
        field: "status".into(),
        to_string: Some(status.into()),
        ..FieldChange::default()
    }];
    if let Some(r) = resolution {
        changes.push(FieldChange {
            field: "resolution".into(),
            to_string: Some(r.into()),
            ..FieldChange::default()
        });
    }
    envelope(Event::JiraIssueUpdated(IssueEvent {
        issue: Issue {
            key: key.into(),
            project_key: Some("SEC".into()),
            summary: Some("Suspicious API calls".into()),
            status: Some(Status {
                id: None,
                name: status.into(),
                category: None,
            }),
            ..Issue::default()
        },
        actor: actor(who),
        changes,
        changelog_id: Some(format!("cl-{at}")),
        occurred_at: Some(at),
        complete: true,
        ..IssueEvent::default()
    }))
}

fn edited(
    key: &str,
    summary: &str,
    description: Option<&str>,
    who: &str,
    at: i64,
) -> EventEnvelope {
    let mut changes = vec![FieldChange {
        field: "summary".into(),
        ..FieldChange::default()
    }];
    if description.is_some() {
        changes.push(FieldChange {
            field: "description".into(),
            ..FieldChange::default()
        });
    }
    envelope(Event::JiraIssueUpdated(IssueEvent {
        issue: Issue {
            key: key.into(),
            summary: Some(summary.into()),
            description: description.map(|d| RichText {
                text: d.into(),
                adf: None,
            }),
            status: Some(Status {
                id: None,
                name: "To Do".into(),
                category: Some("new".into()),
            }),
            ..Issue::default()
        },
        actor: actor(who),
        changes,
        occurred_at: Some(at),
        complete: true,
        ..IssueEvent::default()
    }))
}

fn comment(key: &str, id: &str, text: &str, who: &str, updated: bool) -> EventEnvelope {
    let c = CommentEvent {
        issue: IssueRef {
            id: None,
            key: key.into(),
            project_key: Some("SEC".into()),
        },
        comment: Comment {
            id: id.into(),
            body: Some(RichText {
                text: text.into(),
                adf: None,
            }),
            author: actor(who),
            update_author: actor(who),
            created: Some("2025-11-26T10:00:00.000+0000".into()),
            updated: Some(
                if updated {
                    "2025-11-26T11:00:00.000+0000"
                } else {
                    "2025-11-26T10:00:00.000+0000"
                }
                .into(),
            ),
            public: None,
        },
        actor: actor(who),
        occurred_at: Some(1),
        issue_event_type: None,
    };
    envelope(if updated {
        Event::JiraCommentUpdated(c)
    } else {
        Event::JiraCommentCreated(c)
    })
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn jira_statuses_walk_the_case_through_its_lifecycle_and_close_it() {
    let mut cfg = config();
    cfg.status_map.insert(
        "Containing".into(),
        StatusTarget::Status(CaseStatus::ContainmentEradicationAndRecovery),
    );
    let f = fixture(cfg).await;
    let case = f.mapped_case("SEC-1").await;
    let t = now_ms();
    use sir_emulator::CaseStatus as S;

    // Submitted → Containment: two steps through Detection and Analysis.
    f.sync
        .handle(&moved("SEC-1", "Containing", None, DANA, t))
        .await
        .unwrap();
    assert_eq!(f.status(&case), S::ContainmentEradicationAndRecovery);
    assert_eq!(f.emu.log().count_ok(Operation::UpdateCaseStatus), 2);

    // In Progress shows Containment too: no backward move to Detection and Analysis.
    f.emu.reset_log();
    f.sync
        .handle(&moved("SEC-1", "In Progress", None, DANA, t + 1))
        .await
        .unwrap();
    assert_eq!(f.status(&case), S::ContainmentEradicationAndRecovery);
    assert_eq!(f.writes(), 0);

    // In Review → Post-incident Activities: one step.
    f.sync
        .handle(&moved("SEC-1", "In Review", None, DANA, t + 2))
        .await
        .unwrap();
    assert_eq!(f.status(&case), S::PostIncidentActivities);
    assert_eq!(f.emu.log().count_ok(Operation::UpdateCaseStatus), 1);

    // Done with resolution Won't Do: the closure code goes in a comment, then CloseCase.
    f.emu.reset_log();
    let done = moved("SEC-1", "Done", Some("Won't Do"), DANA, t + 3);
    f.sync.handle(&done).await.unwrap();
    assert_eq!(f.status(&case), S::Closed);
    assert_eq!(f.emu.log().count_ok(Operation::CloseCase), 1);
    assert_eq!(f.emu.log().count_ok(Operation::CreateCaseComment), 1);
    let comments = f.emu.comments(&case);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("Closure code: Not Resolved"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("resolution Won't Do"));

    // The redelivered close, and anything else on a closed case: nothing written.
    f.emu.reset_log();
    f.sync.handle(&done).await.unwrap();
    f.sync
        .handle(&moved("SEC-1", "In Progress", None, DANA, t + 4))
        .await
        .unwrap();
    assert_eq!(f.writes(), 0);
    assert!(f.peers.get(Peer::Sir).last_success_at.is_some());
}

#[tokio::test]
async fn a_move_sir_cannot_make_is_a_non_retryable_failure() {
    let f = fixture(config()).await;
    let case = f.mapped_case("SEC-2").await;
    f.sync
        .handle(&moved("SEC-2", "In Progress", None, DANA, now_ms()))
        .await
        .unwrap();
    assert_eq!(
        f.status(&case),
        sir_emulator::CaseStatus::DetectionAndAnalysis
    );
    // Back to To Do (Submitted): no UpdateCaseStatus move leads there.
    f.emu.reset_log();
    let failure = f
        .sync
        .handle(&moved("SEC-2", "To Do", None, DANA, now_ms()))
        .await
        .unwrap_err();
    assert!(!failure.retryable);
    assert!(
        failure.error.contains("no UpdateCaseStatus path"),
        "{}",
        failure.error
    );
    assert_eq!(f.writes(), 0);
}

#[tokio::test]
async fn thirty_comments_with_retried_deliveries_become_thirty_case_comments() {
    let f = fixture(config()).await;
    let case = f.mapped_case("SEC-3").await;
    let events: Vec<_> = (0..30)
        .map(|i| {
            comment(
                "SEC-3",
                &format!("{}", 10_100 + i),
                &format!("note {i}"),
                DANA,
                false,
            )
        })
        .collect();
    for e in &events {
        f.sync.handle(e).await.unwrap();
    }
    // Jira redelivers a third of them.
    for e in events.iter().step_by(3) {
        f.sync.handle(e).await.unwrap();
    }
    // A worker that lost the comment links (crash after CreateCaseComment, before the link was
    // saved) retries another third: the clientToken returns the first comments.
    let dir = tempfile::tempdir().unwrap();
    let fresh: Arc<dyn StateStore> = Arc::new(SqliteStore::new(
        Db::open(&dir.path().join("s.sqlite3")).unwrap(),
    ));
    fresh
        .insert_mapping(&Mapping {
            case_id: case.clone(),
            issue_key: "SEC-3".into(),
            issue_id: None,
        })
        .await
        .unwrap();
    let amnesiac = handler(&f.emu, config(), fresh, Arc::new(PeerHealth::default()));
    for e in events.iter().skip(1).step_by(3) {
        amnesiac.handle(e).await.unwrap();
    }

    let comments = f.emu.comments(&case);
    assert_eq!(comments.len(), 30);
    assert_eq!(f.emu.log().count_ok(Operation::CreateCaseComment), 30 + 10);
    // Each is linked as coming from Jira, so the case → issue sync never mirrors it back.
    let links = f.store.links("comment", &case).await.unwrap();
    assert_eq!(links.len(), 30);
    assert!(links.iter().all(|l| l.value["origin"] == "jira"));
    assert_eq!(
        f.store.links("jira-comment", &case).await.unwrap().len(),
        30
    );
    assert!(comments[0].body.starts_with("[Jira SEC-3 comment 10100] Dana Analyst (5b10a2844c20165700ede21g) wrote on 2025-11-26T10:00:00.000+0000:"));
    assert!(comments[0].body.ends_with("note 0"));
    for (i, c) in comments.iter().enumerate() {
        assert_eq!(
            comments.iter().filter(|o| o.body == c.body).count(),
            1,
            "comment {i} duplicated"
        );
    }

    // An edit updates the same SIR comment, once.
    f.emu.reset_log();
    let edit = comment("SEC-3", "10105", "note 5, corrected", DANA, true);
    f.sync.handle(&edit).await.unwrap();
    f.sync.handle(&edit).await.unwrap();
    assert_eq!(f.emu.log().count_ok(Operation::UpdateCaseComment), 1);
    assert_eq!(f.writes(), 1);
    let comments = f.emu.comments(&case);
    assert_eq!(comments.len(), 30);
    assert!(comments[5].body.contains("(edited by Dana Analyst"));
    assert!(comments[5].body.ends_with("note 5, corrected"));
}

#[tokio::test]
async fn echoes_and_no_op_changes_write_nothing() {
    let f = fixture(config()).await;
    let case = f.mapped_case("SEC-4").await;
    f.emu.reset_log();

    // The integration's own Jira account: issue changes and comments are echoes.
    f.sync
        .handle(&moved("SEC-4", "Done", Some("Done"), OWN, now_ms()))
        .await
        .unwrap();
    f.sync
        .handle(&edited("SEC-4", "our title", Some("ours"), OWN, now_ms()))
        .await
        .unwrap();
    f.sync
        .handle(&comment("SEC-4", "10200", "copied from SIR", OWN, false))
        .await
        .unwrap();
    // A status that maps to the case's current one (To Do ↔ Submitted).
    f.sync
        .handle(&moved("SEC-4", "To Do", None, DANA, now_ms()))
        .await
        .unwrap();
    // A summary equal to the case's title.
    let title = f.emu.case(&case).unwrap().title;
    f.sync
        .handle(&edited("SEC-4", &title, None, DANA, now_ms()))
        .await
        .unwrap();
    assert_eq!(f.writes(), 0);
    assert_eq!(f.status(&case), sir_emulator::CaseStatus::Submitted);

    // A real edit writes once; its redelivery after an analyst changed the title in SIR is an
    // echo of our write (equal to the ledger, not newer): the analyst's title stays.
    let at = now_ms();
    let edit = edited(
        "SEC-4",
        "Credential exposure",
        Some("Key AKIA… found in a public repo"),
        DANA,
        at,
    );
    f.sync.handle(&edit).await.unwrap();
    assert_eq!(f.emu.log().count_ok(Operation::UpdateCase), 1);
    f.emu
        .analyst()
        .set_title(&case, "Credential exposure (confirmed)")
        .unwrap();
    f.emu.reset_log();
    f.sync.handle(&edit).await.unwrap();
    assert_eq!(f.writes(), 0);
    assert_eq!(
        f.emu.case(&case).unwrap().title,
        "Credential exposure (confirmed)"
    );

    // A SIR comment the case → issue sync mirrored into Jira (linked with origin sir), edited
    // by a human in Jira: not written back.
    f.store
        .put_link(
            "jira-comment",
            &case,
            "10300",
            &serde_json::json!({"sir_comment_id": "123456", "origin": "sir"}),
            None,
        )
        .await
        .unwrap();
    f.sync
        .handle(&comment("SEC-4", "10300", "from SIR", DANA, true))
        .await
        .unwrap();
    f.sync
        .handle(&comment("SEC-4", "10300", "from SIR", DANA, false))
        .await
        .unwrap();
    assert_eq!(f.writes(), 0);

    // An Automation delivery (no actor) whose only change is the status the case → issue sync
    // itself last set in Jira (its ledger): an echo.
    IssueLedger {
        case_id: case.clone(),
        status: Some("In Review".into()),
        ..IssueLedger::default()
    }
    .save(f.store.as_ref(), "SEC-4")
    .await
    .unwrap();
    let mut echo = moved("SEC-4", "In Review", None, DANA, now_ms());
    if let Event::JiraIssueUpdated(e) = &mut echo.event {
        e.actor = None;
    }
    f.sync.handle(&echo).await.unwrap();
    assert_eq!(f.writes(), 0);
    assert_eq!(f.status(&case), sir_emulator::CaseStatus::Submitted);

    // Unmapped issues are ignored: not even a read.
    f.emu.reset_log();
    f.sync
        .handle(&moved("SEC-404", "Done", None, DANA, now_ms()))
        .await
        .unwrap();
    assert_eq!(f.emu.log().records().len(), 0);
}

#[tokio::test]
async fn long_descriptions_are_cut_with_a_marker() {
    let f = fixture(config()).await;
    let case = f.mapped_case("SEC-5").await;
    let long = "x".repeat(9_000);
    f.sync
        .handle(&edited("SEC-5", "Title", Some(&long), DANA, now_ms()))
        .await
        .unwrap();
    let d = f.emu.case(&case).unwrap().description;
    assert_eq!(d.chars().count(), 8_000);
    assert!(d.ends_with("the full description is on Jira issue SEC-5]"));
}

#[tokio::test]
async fn throttling_is_retried_and_nothing_is_lost() {
    let f = fixture(config()).await;
    let case = f.mapped_case("SEC-6").await;
    let event = moved("SEC-6", "In Review", None, DANA, now_ms());
    // The second step's UpdateCaseStatus is throttled.
    f.emu
        .set_injection_scope(Some(&[Operation::UpdateCaseStatus]));
    f.emu.set_throttle(ThrottleMode::EveryNth(2));
    let failure: Failure = f.sync.handle(&event).await.unwrap_err();
    assert!(failure.retryable, "{failure:?}");
    assert!(failure.error.contains("throttled"), "{}", failure.error);
    assert!(f.peers.get(Peer::Sir).last_error.is_some());
    assert_eq!(
        f.status(&case),
        sir_emulator::CaseStatus::DetectionAndAnalysis
    );

    f.emu.set_throttle(ThrottleMode::Off);
    f.sync.handle(&event).await.unwrap();
    assert_eq!(
        f.status(&case),
        sir_emulator::CaseStatus::PostIncidentActivities
    );
    assert_eq!(f.emu.log().count_ok(Operation::UpdateCaseStatus), 2);

    // Comments under throttling: each retried until through, none twice.
    f.emu
        .set_injection_scope(Some(&[Operation::CreateCaseComment]));
    f.emu.set_throttle(ThrottleMode::EveryNth(2));
    for i in 0..6 {
        let e = comment(
            "SEC-6",
            &format!("{}", 10_400 + i),
            "during a storm",
            DANA,
            false,
        );
        let mut attempts = 0;
        while let Err(failure) = f.sync.handle(&e).await {
            assert!(failure.retryable);
            attempts += 1;
            assert!(attempts < 5);
        }
    }
    assert_eq!(f.emu.comments(&case).len(), 6);
}

/// SIR refuses comments on a closed case. A Jira comment made after the close is not applicable:
/// handled (no retry, no dead letter), nothing written, and only then is the case read to tell.
#[tokio::test]
async fn a_comment_on_a_closed_case_is_not_applicable() {
    let f = fixture(config()).await;
    let case = f.mapped_case("SEC-7").await;
    // An analyst closed the case in the console.
    f.emu
        .analyst()
        .close(&case, sir_emulator::ClosureCode::FalsePositive)
        .unwrap();
    f.emu.reset_log();
    f.sync
        .handle(&comment("SEC-7", "10500", "too late", DANA, false))
        .await
        .unwrap();
    assert!(f.emu.comments(&case).is_empty());
    let calls: Vec<Operation> = f.emu.requests().into_iter().map(|r| r.operation).collect();
    assert_eq!(
        calls,
        vec![Operation::CreateCaseComment, Operation::GetCase],
        "the refusal, then the read that explains it"
    );
}

#[tokio::test]
async fn key_only_deliveries_and_sync_requests_fetch_the_issue_from_jira() {
    let jira = jira_emulator::JiraEmulator::start(jira_emulator::EmulatorConfig::default())
        .await
        .unwrap();
    let dana = jira.as_human();
    let issue = dana
        .create_issue(
            "SEC",
            "Task",
            "Leaked key in CI logs",
            Some("Found by a scanner"),
        )
        .unwrap();
    dana.move_to(&issue.key, "Done").unwrap();

    let f = fixture(config()).await;
    // The production source: the Jira client reading GET /issue/{key}.
    let client = crate::jira_sync::jira_client(
        &jira,
        sir_jira_bridge::jira::Flavour::Cloud,
        Arc::new(Metrics::new()),
        f.peers.clone(),
    );
    let source = Arc::new(JiraIssueSource::new(Arc::new(client)));
    let case = f.mapped_case(&issue.key).await;
    let sync =
        handler(&f.emu, config(), f.store.clone(), f.peers.clone()).with_issue_source(source);

    // Automation's `IssueId` message: only the key.
    let body =
        serde_json::to_vec(&serde_json::json!({"automationData": {"IssueId": issue.key}})).unwrap();
    let event = sir_jira_bridge::event::jira::from_automation(&body).unwrap();
    sync.handle(&envelope(event)).await.unwrap();
    let c = f.emu.case(&case).unwrap();
    assert_eq!(c.title, "Leaked key in CI logs");
    assert_eq!(c.description, "Found by a scanner");
    assert_eq!(c.case_status, sir_emulator::CaseStatus::Closed);
    let comments = f.emu.comments(&case);
    assert!(
        comments[0]
            .body
            .contains("resolution Done). Closure code: Investigation Completed."),
        "{}",
        comments[0].body
    );

    // An operator's full sync of an unchanged issue: nothing to write.
    f.emu.reset_log();
    let request = Event::SyncIssueRequested(SyncIssueRequest {
        issue_key: issue.key.clone(),
    });
    sync.handle(&envelope(request)).await.unwrap();
    assert_eq!(f.writes(), 0);

    // A key Jira does not know: a dead letter naming it, not a retry loop.
    let body = serde_json::to_vec(&serde_json::json!({"IssueId": "SEC-999"})).unwrap();
    let event = sir_jira_bridge::event::jira::from_automation(&body).unwrap();
    f.store
        .insert_mapping(&Mapping {
            case_id: f.emu.seed_case(SeedCase::default()),
            issue_key: "SEC-999".into(),
            issue_id: None,
        })
        .await
        .unwrap();
    let failure = sync.handle(&envelope(event)).await.unwrap_err();
    assert!(!failure.retryable);
    assert!(
        failure.error.contains("SEC-999 not found"),
        "{}",
        failure.error
    );

    // Without an issue source a key-only event cannot be applied: dead letter, not dropped.
    let body = serde_json::to_vec(&serde_json::json!({"IssueId": issue.key})).unwrap();
    let event = sir_jira_bridge::event::jira::from_automation(&body).unwrap();
    let failure = f.sync.handle(&envelope(event)).await.unwrap_err();
    assert!(!failure.retryable);
    assert!(failure.error.contains("no Jira issue source"));
}

/// Jira attachments reach the case once each, through the presigned upload; one over the limit
/// becomes a comment; the integration's own uploads (copies of SIR files) are not sent back.
#[tokio::test]
async fn jira_attachments_are_uploaded_once_and_oversize_ones_become_a_comment() {
    let jira = jira_emulator::JiraEmulator::start(jira_emulator::EmulatorConfig::default())
        .await
        .unwrap();
    let dana = jira.as_human();
    let issue = dana
        .create_issue("SEC", "Task", "Phishing wave", None)
        .unwrap();
    let small = dana
        .add_attachment(
            &issue.key,
            "headers.eml",
            "message/rfc822",
            &b"Received: x"[..],
        )
        .unwrap();
    dana.add_attachment(
        &issue.key,
        "capture.pcap",
        "application/octet-stream",
        vec![7u8; 4096],
    )
    .unwrap();
    jira.as_user(OWN)
        .add_attachment(&issue.key, "from-sir.txt", "text/plain", &b"copied"[..])
        .unwrap();

    let f = fixture(config()).await;
    let case = f.mapped_case(&issue.key).await;
    let client = crate::jira_sync::jira_client(
        &jira,
        sir_jira_bridge::jira::Flavour::Cloud,
        Arc::new(Metrics::new()),
        f.peers.clone(),
    );
    let sync = handler(&f.emu, config(), f.store.clone(), f.peers.clone())
        .with_issue_source(Arc::new(JiraIssueSource::new(Arc::new(client))))
        .with_attachment_limit(1024);

    let added = |id: &str, name: &str| {
        envelope(Event::JiraIssueUpdated(IssueEvent {
            issue: Issue {
                key: issue.key.clone(),
                project_key: Some("SEC".into()),
                ..Issue::default()
            },
            actor: actor(DANA),
            changes: vec![FieldChange {
                field: "Attachment".into(),
                to: Some(id.into()),
                to_string: Some(name.into()),
                ..FieldChange::default()
            }],
            changelog_id: Some(format!("cl-{id}")),
            occurred_at: Some(now_ms()),
            complete: true,
            ..IssueEvent::default()
        }))
    };
    let event = added(&small.id, "headers.eml");
    // A redelivery of the same change, and a second change that lists the same files.
    for e in [&event, &event, &added("99999", "later.txt")] {
        sync.handle(e).await.unwrap();
    }
    let on_case = f.emu.case(&case).unwrap().attachments;
    assert_eq!(on_case.len(), 1, "{on_case:?}");
    assert_eq!(on_case[0].file_name, "headers.eml");
    assert_eq!(
        f.emu.attachment_bytes(&case, &on_case[0].attachment_id),
        Some(b"Received: x".to_vec())
    );
    let comments = f.emu.comments(&case);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains("capture.pcap (4096 bytes)"),
        "{}",
        comments[0].body
    );
    assert_eq!(f.emu.log().count(Operation::GetCaseAttachmentUploadUrl), 1);
    assert_eq!(f.emu.log().count(Operation::CreateCaseComment), 1);
}
