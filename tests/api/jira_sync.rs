//! The case → issue sync end to end: the production Jira client against the Jira emulator, the
//! case read through the real SIR SDK from the SIR emulator, state in SQLite.

use std::{sync::Arc, time::Duration};

use jira_emulator::{EmulatorConfig as JiraConfig, JiraEmulator, Mode};
use serde_json::json;
use sir_emulator::{
    CaseStatus as SirStatus, ClosureCode as SirClosure, EmulatorConfig as SirConfig,
    EmulatorHandle, NewCase, SirEmulator, ThreatActorIp, Watcher,
};
use sir_jira_bridge::{
    bus::Failure,
    db::Db,
    event::{
        Event, EventEnvelope, Origin,
        sir::{CaseChange, CaseChanged},
    },
    jira::{Flavour, IssueType, JiraApi, JiraAuth, JiraClient, JiraClientConfig, RetryPolicy, api},
    metrics::Metrics,
    peers::{Peer, PeerHealth},
    secret::Secret,
    sir::{CaseId, SirApi},
    store::{SqliteStore, StateStore},
    sync::{CaseToIssueSync, SyncSettings, case_to_issue::IssueLedger, echo},
    worker::EventHandler,
};
use tempfile::TempDir;

use crate::helpers::sir_client;

pub const CLOUD_ACCOUNT: &str = "557058:integration-bridge";
/// The integration's user name on the Data Center emulator.
pub const DC_ACCOUNT: &str = "sir-bridge";

pub struct Harness {
    pub jira: JiraEmulator,
    pub sir: EmulatorHandle,
    pub sir_api: Arc<dyn SirApi>,
    pub store: Arc<dyn StateStore>,
    pub client: Arc<JiraClient>,
    pub sync: Arc<CaseToIssueSync>,
    pub metrics: Arc<Metrics>,
    pub peers: Arc<PeerHealth>,
    _dir: TempDir,
}

pub fn jira_client(
    jira: &JiraEmulator,
    flavour: Flavour,
    metrics: Arc<Metrics>,
    peers: Arc<PeerHealth>,
) -> JiraClient {
    jira_client_with(jira, flavour, metrics, peers, RetryPolicy::default())
}

/// The production client as the integration's account, with `retry` as its retry policy.
pub fn jira_client_with(
    jira: &JiraEmulator,
    flavour: Flavour,
    metrics: Arc<Metrics>,
    peers: Arc<PeerHealth>,
    retry: RetryPolicy,
) -> JiraClient {
    let auth = match flavour {
        Flavour::Cloud => JiraAuth::Basic {
            email: "sir-bridge@example.com".into(),
            token: Secret::new("bridge-api-token"),
        },
        Flavour::DataCenter => JiraAuth::Bearer {
            token: Secret::new("bridge-pat"),
        },
    };
    JiraClient::new(
        JiraClientConfig {
            base_url: jira.base_url().to_owned(),
            flavour,
            auth,
            timeout: Duration::from_secs(10),
            retry,
        },
        metrics,
        peers,
    )
    .unwrap()
}

impl Harness {
    pub async fn start(flavour: Flavour) -> Harness {
        Self::start_with(flavour, |_| {}, |_| {}).await
    }

    pub async fn start_with(
        flavour: Flavour,
        jira_config: impl FnOnce(&mut JiraConfig),
        settings: impl FnOnce(&mut SyncSettings),
    ) -> Harness {
        let mut config = JiraConfig {
            mode: match flavour {
                Flavour::Cloud => Mode::Cloud,
                Flavour::DataCenter => Mode::DataCenter,
            },
            ..JiraConfig::default()
        };
        jira_config(&mut config);
        let jira = JiraEmulator::start(config).await.unwrap();
        let sir = SirEmulator::start(SirConfig::default()).await.unwrap();
        let sir_api: Arc<dyn SirApi> = Arc::new(sir_client(&sir));
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn StateStore> = Arc::new(SqliteStore::new(
            Db::open(&dir.path().join("s.sqlite3")).unwrap(),
        ));
        let metrics = Arc::new(Metrics::new());
        let peers = Arc::new(PeerHealth::default());
        let client = Arc::new(jira_client(&jira, flavour, metrics.clone(), peers.clone()));
        let own = client.myself().await.unwrap().id;
        let mut s = SyncSettings::new("SEC", IssueType::Name("Security Incident".into()), &own);
        s.lease_wait = Duration::from_secs(60);
        settings(&mut s);
        let sync = Arc::new(CaseToIssueSync::new(
            client.clone(),
            sir_api.clone(),
            store.clone(),
            s,
        ));
        jira.requests().reset();
        Harness {
            jira,
            sir,
            sir_api,
            store,
            client,
            sync,
            metrics,
            peers,
            _dir: dir,
        }
    }

    /// One `sir.case.changed` event through the handler.
    pub async fn changed(&self, case_id: &str) -> Result<(), Failure> {
        self.sync.handle(&changed(case_id)).await
    }

    pub async fn issue_key(&self, case_id: &str) -> String {
        self.store
            .mapping_by_case(case_id)
            .await
            .unwrap()
            .expect("the case is mapped")
            .issue_key
    }

    /// Another case → issue sync on the harness's SIR, store and settings, calling Jira
    /// through `jira`: a new process, as far as what a sync learns goes.
    pub fn sync_through(&self, jira: Arc<dyn JiraApi>) -> CaseToIssueSync {
        CaseToIssueSync::new(
            jira,
            self.sir_api.clone(),
            self.store.clone(),
            self.sync.settings().clone(),
        )
    }

    /// Syncing the case again through `sync` costs no Jira call: its issue is in step.
    pub async fn in_step(&self, sync: &CaseToIssueSync, case_id: &str) {
        self.jira.requests().reset();
        sync.handle(&changed(case_id)).await.unwrap();
        let calls: Vec<String> = self
            .jira
            .requests()
            .all()
            .iter()
            .map(|r| r.line())
            .collect();
        assert_eq!(calls, Vec::<String>::new(), "case {case_id}");
    }

    pub fn writes(&self) -> Vec<String> {
        self.jira
            .requests()
            .writes()
            .iter()
            .map(|r| r.line())
            .collect()
    }
}

pub fn changed(case_id: &str) -> EventEnvelope {
    EventEnvelope::new(
        Origin::SirPoller,
        format!("test-{}", uuid::Uuid::new_v4()),
        Event::SirCaseChanged(CaseChanged {
            case_id: case_id.into(),
            change: CaseChange::Updated,
            actor: None,
            last_updated: None,
        }),
    )
}

/// A case with every detail the description shows.
pub fn full_case(sir: &EmulatorHandle, title: &str) -> String {
    sir.analyst().create_case(NewCase {
        title: title.into(),
        description: "Unusual EC2 spend in two accounts.\n\nMiners suspected.".into(),
        impacted_accounts: vec!["123456789012".into(), "210987654321".into()],
        impacted_aws_regions: vec!["us-east-1".into(), "eu-west-1".into()],
        impacted_services: vec!["Amazon EC2".into()],
        threat_actor_ip_addresses: vec![ThreatActorIp {
            ip_address: "203.0.113.7".into(),
            user_agent: Some("curl/8.5".into()),
        }],
        watchers: vec![Watcher {
            email: "dana@example.com".into(),
            name: Some("Dana Analyst".into()),
            job_title: None,
        }],
        ..NewCase::default()
    })
}

/// Uploads `bytes` as an attachment of the case, through the SDK and the presigned URL.
pub async fn attach(sir: &EmulatorHandle, case_id: &str, name: &str, bytes: Vec<u8>) {
    let api = sir_client(sir);
    let url = api
        .attachment_upload_url(
            &CaseId::parse(case_id).unwrap(),
            name,
            bytes.len() as u64,
            &uuid::Uuid::new_v4().to_string(),
        )
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .put(url)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

fn description_text(issue: &jira_emulator::Issue) -> String {
    let adf = issue.description.as_ref().expect("a description").to_adf();
    sir_jira_bridge::event::adf::to_text(&adf)
}

#[tokio::test]
async fn a_new_case_becomes_one_issue_with_everything() {
    let h = Harness::start_with(
        Flavour::Cloud,
        |_| {},
        |s| {
            s.mappings.custom_fields.insert(
                "customfield_10050".into(),
                sir_jira_bridge::sync::mappings::CaseField::CaseArn,
            );
        },
    )
    .await;
    let case_id = full_case(&h.sir, "Crypto-mining in prod");
    h.sir
        .analyst()
        .add_comment(&case_id, "Scoping started")
        .unwrap();
    h.sir
        .analyst()
        .add_comment(&case_id, "Two instances isolated")
        .unwrap();
    attach(&h.sir, &case_id, "findings.txt", b"i-0abc: xmrig".to_vec()).await;

    h.changed(&case_id).await.unwrap();

    let key = h.issue_key(&case_id).await;
    let label = format!("aws-sir-{case_id}");
    assert_eq!(h.jira.issues_with_label(&label).len(), 1);
    let issue = h.jira.issue(&key).unwrap();
    assert_eq!(issue.summary, "Crypto-mining in prod");
    assert_eq!(issue.issue_type_id, "10003", "Security Incident, by name");
    assert!(issue.labels.contains(&label) && issue.labels.contains(&"aws-sir".to_owned()));
    let text = description_text(&issue);
    for needle in [
        "Unusual EC2 spend",
        "Miners suspected",
        &case_id,
        "Security Incident",
        "123456789012, 210987654321",
        "us-east-1, eu-west-1",
        "Amazon EC2",
        "203.0.113.7 (curl/8.5)",
        "Dana Analyst <dana@example.com>",
        "Reported start: 20",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let adf = issue.description.as_ref().unwrap().to_adf().to_string();
    assert!(
        adf.contains(&format!(
            "console.aws.amazon.com/security-ir/home?region=us-east-1#/incidents/{case_id}"
        )),
        "{adf}"
    );
    assert!(
        issue.custom_fields["customfield_10050"]
            .as_str()
            .unwrap()
            .ends_with(&format!("case/{case_id}"))
    );
    assert_eq!(
        h.jira.issue_property(&key, "sir").unwrap()["caseId"],
        json!(case_id)
    );
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("To Do"));
    let comments = h.jira.comments(&key);
    assert_eq!(comments.len(), 2);
    let first = sir_jira_bridge::event::adf::to_text(&comments[0].body.to_adf());
    assert!(
        first.contains("From AWS Security Incident Response") && first.contains("Scoping started"),
        "{first}"
    );
    assert!(
        first.contains(" by ") && first.contains(" at 20"),
        "attribution: {first}"
    );
    let attachments = h.jira.attachments(&key);
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].content.as_ref(), b"i-0abc: xmrig");

    let create_calls = h.jira.requests().all().len();
    let create_writes = h.writes();
    eprintln!(
        "create: {create_calls} calls, {} writes: {create_writes:#?}",
        create_writes.len()
    );
    // create (carrying the `sir` property), 2 comments, 1 attachment; and one read of the
    // issue, the process's first create, to learn the status the workflow starts in.
    assert_eq!(create_writes.len(), 4, "{create_writes:#?}");
    assert_eq!(create_calls, 5);

    // The same event again: nothing to do, not a single Jira call.
    h.jira.requests().reset();
    h.changed(&case_id).await.unwrap();
    assert_eq!(
        h.jira.requests().all().len(),
        0,
        "{:#?}",
        h.jira.requests().all()
    );

    // A change of details rewrites the description (and only it).
    h.sir
        .analyst()
        .set_title(&case_id, "Crypto-mining in prod (2 accounts)")
        .unwrap();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.writes().len(), 1, "{:#?}", h.writes());
    assert_eq!(
        h.jira.issue(&key).unwrap().summary,
        "Crypto-mining in prod (2 accounts)"
    );
    let m = h.metrics.render(None);
    assert!(
        m.contains("peer=\"jira\",operation=\"create_issue\",status=\"201\""),
        "{m}"
    );
    assert!(h.peers.get(Peer::Jira).last_success_at.is_some());
}

/// Every SIR status in turn, including moves that take several transitions (To Do → In Review,
/// In Review → Done) and one backwards.
#[tokio::test]
async fn the_status_walks_through_every_sir_status() {
    let h = Harness::start(Flavour::Cloud).await;
    let case_id = full_case(&h.sir, "Status walk");
    h.changed(&case_id).await.unwrap();
    let key = h.issue_key(&case_id).await;
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("To Do"));

    let walk = [
        (SirStatus::PostIncidentActivities, "In Review", 2),
        (
            SirStatus::ContainmentEradicationAndRecovery,
            "In Progress",
            1,
        ),
        (SirStatus::Acknowledged, "In Progress", 0),
        (SirStatus::DetectionAndAnalysis, "In Progress", 0),
        (SirStatus::ReadyToClose, "In Review", 1),
    ];
    let mut report = Vec::new();
    for (status, jira_status, transitions) in walk {
        h.jira.requests().reset();
        h.sir.analyst().set_status(&case_id, status).unwrap();
        h.changed(&case_id).await.unwrap();
        assert_eq!(
            h.jira.status_of(&key).as_deref(),
            Some(jira_status),
            "{status:?}"
        );
        let posted = h
            .jira
            .requests()
            .matching("POST", &format!("/rest/api/3/issue/{key}/transitions"))
            .len();
        assert_eq!(posted, transitions, "{status:?}: {:#?}", h.writes());
        report.push((status, h.jira.requests().all().len(), posted));
    }
    h.jira.requests().reset();
    h.sir
        .analyst()
        .close(&case_id, SirClosure::FalsePositive)
        .unwrap();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("Done"));
    assert_eq!(h.jira.resolution_of(&key).as_deref(), Some("Won't Do"));
    report.push((SirStatus::Closed, h.jira.requests().all().len(), 1));
    eprintln!("status walk (status, calls, transitions): {report:?}");
    let history: Vec<String> = h
        .jira
        .status_history(&key)
        .iter()
        .map(|c| format!("{c:?}"))
        .collect();
    assert_eq!(history.len(), 6, "{history:#?}");
    // Closed and synced again: nothing.
    h.jira.requests().reset();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.jira.requests().all().len(), 0);
}

/// A workflow the sync has to explore: Done is three hops away and the only way there passes a
/// status no SIR status maps to.
#[tokio::test]
async fn a_path_is_found_through_an_unfamiliar_workflow() {
    use jira_emulator::{StatusCategory, StatusConfig, TransitionConfig, WorkflowConfig};
    let status = |id: &str, name: &str, category| StatusConfig {
        id: id.into(),
        name: name.into(),
        category,
    };
    let tr = |id: &str, from: &[&str], to: &str| TransitionConfig {
        id: id.into(),
        name: format!("to {to}"),
        from: from.iter().map(|s| s.to_string()).collect(),
        to: to.into(),
        screen_fields: None,
        resolution: None,
        event: None,
    };
    let h = Harness::start_with(
        Flavour::Cloud,
        |c| {
            c.workflows.insert(
                "default".into(),
                WorkflowConfig {
                    initial: "To Do".into(),
                    statuses: vec![
                        status("1", "To Do", StatusCategory::New),
                        status("2", "Triage", StatusCategory::Indeterminate),
                        status("3", "In Progress", StatusCategory::Indeterminate),
                        status("4", "Verify", StatusCategory::Indeterminate),
                        status("5", "In Review", StatusCategory::Indeterminate),
                        status("6", "Done", StatusCategory::Done),
                    ],
                    transitions: vec![
                        tr("11", &["To Do"], "Triage"),
                        tr("12", &["Triage"], "In Progress"),
                        tr("13", &["Triage"], "To Do"),
                        tr("21", &["In Progress"], "Verify"),
                        tr("22", &["Verify"], "In Review"),
                        tr("23", &["Verify"], "In Progress"),
                        tr("31", &["In Review"], "Done"),
                        tr("32", &["In Review"], "In Progress"),
                    ],
                },
            );
        },
        |_| {},
    )
    .await;
    let case_id = full_case(&h.sir, "Unfamiliar workflow");
    h.sir
        .analyst()
        .close(&case_id, SirClosure::InvestigationCompleted)
        .unwrap();
    h.changed(&case_id).await.unwrap();
    let key = h.issue_key(&case_id).await;
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("Done"));
    let path: Vec<String> = h
        .jira
        .status_history(&key)
        .iter()
        .filter(|c| c.transition_id.is_some())
        .map(|c| c.to.clone())
        .collect();
    assert_eq!(
        path,
        ["Triage", "In Progress", "Verify", "In Review", "Done"],
        "To Do → Triage → In Progress → Verify → In Review → Done: {path:#?}"
    );
}

#[tokio::test]
async fn thirty_comments_are_paged_mirrored_once_and_edits_follow() {
    let h = Harness::start_with(Flavour::Cloud, |c| c.limits.comments_page_cap = 7, |_| {}).await;
    let case_id = full_case(&h.sir, "Chatty case");
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(
            h.sir
                .analyst()
                .add_comment(&case_id, &format!("update number {i}"))
                .unwrap(),
        );
    }
    h.sir.reset_log();
    h.changed(&case_id).await.unwrap();
    // 30 comments are two ListComments pages of 25.
    assert_eq!(h.sir.log().count(sir_emulator::Operation::ListComments), 2);
    let key = h.issue_key(&case_id).await;
    let texts: Vec<String> = h
        .jira
        .comments(&key)
        .iter()
        .map(|c| sir_jira_bridge::event::adf::to_text(&c.body.to_adf()))
        .collect();
    assert_eq!(texts.len(), 30);
    for (i, t) in texts.iter().enumerate() {
        assert!(
            t.contains(&format!("update number {i}"))
                && t.contains(&format!("SIR comment {}", ids[i])),
            "{t}"
        );
    }
    // The comments are recorded both ways.
    let links = h.store.links("comment", &case_id).await.unwrap();
    assert_eq!(links.len(), 30);
    assert!(links.iter().all(|l| l.value["state"] == "done"));

    h.jira.requests().reset();
    h.sir
        .analyst()
        .edit_comment(&case_id, &ids[17], "update number 17, corrected")
        .unwrap();
    h.changed(&case_id).await.unwrap();
    let writes = h.writes();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert!(
        writes[0].starts_with("PUT /rest/api/3/issue/") && writes[0].contains("/comment/"),
        "{writes:?}"
    );
    let edited = &h.jira.comments(&key)[17];
    let t = sir_jira_bridge::event::adf::to_text(&edited.body.to_adf());
    assert!(t.contains("corrected") && t.contains("edited by"), "{t}");
    h.jira.requests().reset();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.jira.requests().all().len(), 0);
}

#[tokio::test]
async fn attachments_are_copied_once_and_oversize_ones_become_a_comment() {
    let h = Harness::start_with(Flavour::Cloud, |_| {}, |s| s.attachment_max_bytes = 1024).await;
    let case_id = full_case(&h.sir, "Evidence");
    attach(&h.sir, &case_id, "small.log", b"tiny evidence".to_vec()).await;
    attach(&h.sir, &case_id, "memory.dmp", vec![7u8; 4096]).await;
    h.changed(&case_id).await.unwrap();
    let key = h.issue_key(&case_id).await;
    let files: Vec<String> = h
        .jira
        .attachments(&key)
        .iter()
        .map(|a| a.filename.clone())
        .collect();
    assert_eq!(files, ["small.log"]);
    let attachment_posts = h
        .jira
        .requests()
        .matching("POST", &format!("/rest/api/3/issue/{key}/attachments"));
    assert_eq!(attachment_posts.len(), 1);
    let comments: Vec<String> = h
        .jira
        .comments(&key)
        .iter()
        .map(|c| sir_jira_bridge::event::adf::to_text(&c.body.to_adf()))
        .collect();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].contains("memory.dmp") && comments[0].contains("4.0 KiB"),
        "{comments:?}"
    );

    h.jira.requests().reset();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.jira.requests().all().len(), 0);
    assert_eq!(h.jira.attachments(&key).len(), 1);
}

#[tokio::test]
async fn ten_concurrent_case_created_events_make_one_issue() {
    let h = Harness::start(Flavour::Cloud).await;
    let case_id = full_case(&h.sir, "Racing creators");
    for i in 0..3 {
        h.sir
            .analyst()
            .add_comment(&case_id, &format!("note {i}"))
            .unwrap();
    }
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let sync = h.sync.clone();
            let env = EventEnvelope::new(
                Origin::SirNative,
                format!("test-{}", uuid::Uuid::new_v4()),
                Event::SirCaseChanged(CaseChanged {
                    case_id: case_id.clone(),
                    change: CaseChange::Created,
                    actor: None,
                    last_updated: None,
                }),
            );
            tokio::spawn(async move { sync.handle(&env).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(h.jira.issues().len(), 1);
    assert_eq!(
        h.jira
            .requests()
            .matching("POST", "/rest/api/3/issue")
            .iter()
            .filter(|r| r.path == "/rest/api/3/issue")
            .count(),
        1
    );
    let key = h.issue_key(&case_id).await;
    assert_eq!(h.jira.comments(&key).len(), 3);
}

/// What goes wrong, once, around the production client.
enum Fault {
    /// The first create's answer is lost: the issue is created, the caller sees a time-out.
    LoseCreateAnswer,
    /// The process dies as the first create answers: the call never returns (the test drops
    /// the sync at that point).
    DieAfterCreate,
    /// The first transition fails as Jira unavailable.
    FailFirstTransition,
    /// A person moves the issue with this summary (`transition`) as soon as it exists, before
    /// the create answers.
    PersonMoves {
        summary: &'static str,
        base_url: String,
        auth: String,
        transition: &'static str,
    },
}

struct Faulty {
    inner: Arc<JiraClient>,
    fault: Fault,
    fired: std::sync::atomic::AtomicBool,
}

impl Faulty {
    fn new(inner: Arc<JiraClient>, fault: Fault) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner,
            fault,
            fired: Default::default(),
        })
    }

    /// True the first time only.
    fn fire(&self) -> bool {
        !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl JiraApi for Faulty {
    fn flavour(&self) -> Flavour {
        self.inner.flavour()
    }
    async fn myself(&self) -> Result<api::JiraUser, api::JiraError> {
        self.inner.myself().await
    }
    async fn create_issue(&self, i: &api::NewIssue) -> Result<api::IssueIds, api::JiraError> {
        let created = self.inner.create_issue(i).await?;
        match &self.fault {
            Fault::LoseCreateAnswer if self.fire() => Err(api::JiraError::Unavailable {
                operation: "create_issue",
                message: format!("timed out (really created {})", created.key),
            }),
            Fault::DieAfterCreate if self.fire() => std::future::pending().await,
            Fault::PersonMoves {
                summary,
                base_url,
                auth,
                transition,
            } if i.summary == *summary && self.fire() => {
                let moved = reqwest::Client::new()
                    .post(format!(
                        "{base_url}/rest/api/3/issue/{}/transitions",
                        created.key
                    ))
                    .header("authorization", auth)
                    .json(&json!({"transition": {"id": transition}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(moved.status(), 204);
                Ok(created)
            }
            _ => Ok(created),
        }
    }
    async fn edit_issue(&self, k: &str, e: &api::IssueEdit) -> Result<(), api::JiraError> {
        self.inner.edit_issue(k, e).await
    }
    async fn issue(&self, k: &str) -> Result<api::IssueSnapshot, api::JiraError> {
        self.inner.issue(k).await
    }
    async fn issue_detail(&self, k: &str) -> Result<api::IssueDetail, api::JiraError> {
        self.inner.issue_detail(k).await
    }
    async fn download_attachment(
        &self,
        a: &api::JiraAttachment,
        max: u64,
    ) -> Result<Option<bytes::Bytes>, api::JiraError> {
        self.inner.download_attachment(a, max).await
    }
    async fn search(&self, jql: &str) -> Result<Vec<api::IssueIds>, api::JiraError> {
        self.inner.search(jql).await
    }
    async fn search_page(
        &self,
        jql: &str,
        cursor: Option<&api::SearchCursor>,
    ) -> Result<api::SearchPage, api::JiraError> {
        self.inner.search_page(jql, cursor).await
    }
    async fn comment_events(
        &self,
        k: &str,
    ) -> Result<Vec<sir_jira_bridge::event::jira::CommentEvent>, api::JiraError> {
        self.inner.comment_events(k).await
    }
    async fn transitions(&self, k: &str) -> Result<Vec<api::Transition>, api::JiraError> {
        self.inner.transitions(k).await
    }
    async fn position(&self, k: &str) -> Result<api::Position, api::JiraError> {
        self.inner.position(k).await
    }
    async fn status_changed_at(
        &self,
        k: &str,
    ) -> Result<Option<time::OffsetDateTime>, api::JiraError> {
        self.inner.status_changed_at(k).await
    }
    async fn transition(&self, k: &str, id: &str, r: Option<&str>) -> Result<(), api::JiraError> {
        if matches!(self.fault, Fault::FailFirstTransition) && self.fire() {
            return Err(api::JiraError::Unavailable {
                operation: "transition_issue",
                message: "connection reset".into(),
            });
        }
        self.inner.transition(k, id, r).await
    }
    async fn comments(&self, k: &str) -> Result<Vec<api::JiraComment>, api::JiraError> {
        self.inner.comments(k).await
    }
    async fn add_comment(&self, k: &str, b: &serde_json::Value) -> Result<String, api::JiraError> {
        self.inner.add_comment(k, b).await
    }
    async fn update_comment(
        &self,
        k: &str,
        id: &str,
        b: &serde_json::Value,
    ) -> Result<(), api::JiraError> {
        self.inner.update_comment(k, id, b).await
    }
    async fn add_attachment(
        &self,
        k: &str,
        n: &str,
        t: &str,
        b: bytes::Bytes,
    ) -> Result<Vec<api::JiraAttachment>, api::JiraError> {
        self.inner.add_attachment(k, n, t, b).await
    }
    async fn set_issue_property(
        &self,
        k: &str,
        p: &str,
        v: &serde_json::Value,
    ) -> Result<(), api::JiraError> {
        self.inner.set_issue_property(k, p, v).await
    }
    async fn issue_property(
        &self,
        k: &str,
        p: &str,
    ) -> Result<Option<serde_json::Value>, api::JiraError> {
        self.inner.issue_property(k, p).await
    }
}

#[tokio::test]
async fn a_crash_between_create_and_record_is_recovered_by_the_label_not_a_second_issue() {
    let h = Harness::start(Flavour::Cloud).await;
    let case_id = full_case(&h.sir, "Lost answer");
    let sync = h.sync_through(Faulty::new(h.client.clone(), Fault::LoseCreateAnswer));
    let failure = sync.handle(&changed(&case_id)).await.unwrap_err();
    assert!(failure.retryable, "{failure:?}");
    assert!(h.store.mapping_by_case(&case_id).await.unwrap().is_none());
    assert_eq!(h.jira.issues().len(), 1, "Jira did create it");

    // The retry finds it by its label and records it.
    sync.handle(&changed(&case_id)).await.unwrap();
    assert_eq!(h.jira.issues().len(), 1);
    assert_eq!(h.issue_key(&case_id).await, h.jira.issues()[0].key);
    assert_eq!(
        h.jira
            .requests()
            .matching("GET", "/rest/api/3/search/jql")
            .len(),
        1
    );
    assert!(
        h.jira
            .issue_property(&h.jira.issues()[0].key, "sir")
            .is_some()
    );

    // A crash between posting a comment and recording it: the record still says pending.
    h.sir
        .analyst()
        .add_comment(&case_id, "posted, then the worker died")
        .unwrap();
    h.changed(&case_id).await.unwrap();
    let key = h.issue_key(&case_id).await;
    assert_eq!(h.jira.comments(&key).len(), 1);
    let link = h.store.links("comment", &case_id).await.unwrap().remove(0);
    let pending = json!({"state": "pending", "origin": "sir"});
    assert!(
        h.store
            .put_link("comment", &case_id, &link.key, &pending, Some(link.version))
            .await
            .unwrap()
    );
    h.jira.requests().reset();
    h.changed(&case_id).await.unwrap();
    assert_eq!(
        h.jira.comments(&key).len(),
        1,
        "found by its marker, not posted again"
    );
    assert!(
        h.jira
            .requests()
            .matching("POST", &format!("/rest/api/3/issue/{key}/comment"))
            .is_empty()
    );
    let link = h
        .store
        .link("comment", &case_id, &link.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.value["state"], "done");

    // A process that died holding a claim: the next worker searches, finds nothing, creates.
    let other = full_case(&h.sir, "Died before creating");
    h.store
        .put_link(
            "issue-claim",
            &other,
            "issue",
            &json!({"owner": "dead", "state": "creating", "at_ms": 0}),
            None,
        )
        .await
        .unwrap();
    h.changed(&other).await.unwrap();
    assert_eq!(
        h.jira.issues_with_label(&format!("aws-sir-{other}")).len(),
        1
    );
}

/// `METHOD path` of every Jira call since the log was last reset.
fn calls(h: &Harness) -> Vec<String> {
    h.jira
        .requests()
        .all()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn api_version(flavour: Flavour) -> u8 {
    match flavour {
        Flavour::Cloud => 3,
        Flavour::DataCenter => 2,
    }
}

/// Issue 16's API economy. A new case's issue is one Jira call when the case's status maps to
/// the status the workflow starts in, and one call per transition more otherwise: the `sir`
/// property goes with the create, nothing is read back. What the sync needs to know of the
/// workflow is learned once per process: the initial status by one read of the first issue it
/// creates, a path by the first walk along it.
#[tokio::test]
async fn a_new_issue_costs_one_call_plus_its_transitions() {
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let h = Harness::start(flavour).await;
        let v = api_version(flavour);
        let first = full_case(&h.sir, "First of the process");
        h.changed(&first).await.unwrap();
        assert_eq!(
            calls(&h),
            [
                format!("POST /rest/api/{v}/issue"),
                format!("GET /rest/api/{v}/issue/{}", h.issue_key(&first).await),
            ],
            "{flavour:?}: the create, and one read to learn the initial status"
        );

        h.jira.requests().reset();
        let case_id = full_case(&h.sir, "One call");
        h.changed(&case_id).await.unwrap();
        assert_eq!(
            calls(&h),
            [format!("POST /rest/api/{v}/issue")],
            "{flavour:?}"
        );
        let key = h.issue_key(&case_id).await;
        assert_eq!(
            h.jira.issue_property(&key, "sir").unwrap()["caseId"],
            json!(case_id),
            "{flavour:?}: tagged by the create itself"
        );
        assert_eq!(h.jira.status_of(&key).as_deref(), Some("To Do"));
        let ledger = IssueLedger::load(h.store.as_ref(), &key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ledger.status.as_deref(), Some("To Do"), "{flavour:?}");
        assert_eq!(
            ledger.case_status,
            Some(sir_jira_bridge::sir::CaseStatus::Submitted)
        );
        assert!(ledger.tagged);
        h.in_step(&h.sync, &case_id).await;

        // Further on: the first walk to In Review explores, reading as it goes (and sees In
        // Review's way to Done); after that, a new case's issue costs its create and its
        // transitions only, the closing one carrying the resolution.
        for (status, transitions) in [
            (SirStatus::PostIncidentActivities, ["11", "21"].as_slice()),
            (SirStatus::Closed, ["11", "21", "31"].as_slice()),
        ] {
            for round in ["first", "again"] {
                let case_id = full_case(&h.sir, &format!("{status:?}, {round}"));
                let analyst = h.sir.analyst();
                match status {
                    SirStatus::Closed => analyst.close(&case_id, SirClosure::Duplicate).map(drop),
                    _ => analyst.set_status(&case_id, status).map(drop),
                }
                .unwrap();
                h.jira.requests().reset();
                h.changed(&case_id).await.unwrap();
                let key = h.issue_key(&case_id).await;
                let posted: Vec<String> = h
                    .jira
                    .status_history(&key)
                    .iter()
                    .filter_map(|c| c.transition_id.clone())
                    .collect();
                assert_eq!(posted, transitions, "{flavour:?} {status:?} {round}");
                if round == "again" || status == SirStatus::Closed {
                    let mut expected = vec![format!("POST /rest/api/{v}/issue")];
                    expected.extend(
                        transitions
                            .iter()
                            .map(|_| format!("POST /rest/api/{v}/issue/{key}/transitions")),
                    );
                    assert_eq!(calls(&h), expected, "{flavour:?} {status:?}");
                }
                if status == SirStatus::Closed {
                    assert_eq!(h.jira.resolution_of(&key).as_deref(), Some("Duplicate"));
                }
                h.in_step(&h.sync, &case_id).await;
            }
        }
    }
}

/// The process dies as Jira answers the create: nothing is recorded but the claim. The issue
/// already carries its label and `sir` property (they were part of the create), so the next
/// process finds it and creates nothing.
#[tokio::test]
async fn a_crash_right_after_the_create_never_duplicates_the_issue() {
    let h = Harness::start(Flavour::Cloud).await;
    let case_id = full_case(&h.sir, "Died as Jira answered");
    h.sir
        .analyst()
        .set_status(&case_id, SirStatus::PostIncidentActivities)
        .unwrap();
    let dying = h.sync_through(Faulty::new(h.client.clone(), Fault::DieAfterCreate));
    let event = changed(&case_id);
    tokio::select! {
        _ = dying.handle(&event) => panic!("the create never answers"),
        _ = async {
            while h.jira.issues().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        } => {}
    }
    drop(dying);
    let orphan = h.jira.issues().remove(0);
    assert!(orphan.labels.contains(&format!("aws-sir-{case_id}")));
    assert_eq!(
        h.jira.issue_property(&orphan.key, "sir").unwrap()["caseId"],
        json!(case_id),
        "the property came with the create"
    );
    assert!(h.store.mapping_by_case(&case_id).await.unwrap().is_none());

    // The restarted process (a new sync, nothing learned yet) takes it over.
    let restarted = h.sync_through(h.client.clone());
    h.jira.requests().reset();
    restarted.handle(&changed(&case_id)).await.unwrap();
    assert_eq!(h.jira.issues().len(), 1);
    assert_eq!(h.issue_key(&case_id).await, orphan.key);
    assert!(
        h.jira
            .requests()
            .filter(|r| r.method == "POST" && r.path == "/rest/api/3/issue")
            .is_empty(),
        "{:#?}",
        calls(&h)
    );
    assert_eq!(h.jira.status_of(&orphan.key).as_deref(), Some("In Review"));
    h.in_step(&restarted, &case_id).await;
}

/// The create went through and was recorded; the transitions after it failed. The retry walks
/// on from where the create left the issue, on the same issue.
#[tokio::test]
async fn a_failure_between_the_create_and_its_transitions_is_finished_by_the_retry() {
    let h = Harness::start(Flavour::Cloud).await;
    let sync = h.sync_through(Faulty::new(h.client.clone(), Fault::FailFirstTransition));
    // Once the initial status (and so its transitions) is learned, the transition to In
    // Progress is taken without a read.
    sync.handle(&changed(&full_case(&h.sir, "Learning")))
        .await
        .unwrap();
    let case_id = full_case(&h.sir, "Transition failed");
    h.sir
        .analyst()
        .set_status(&case_id, SirStatus::ContainmentEradicationAndRecovery)
        .unwrap();
    h.jira.requests().reset();
    let failure = sync.handle(&changed(&case_id)).await.unwrap_err();
    assert!(failure.retryable, "{failure:?}");
    assert_eq!(
        calls(&h),
        ["POST /rest/api/3/issue"],
        "the failed transition never reached Jira"
    );
    let key = h.issue_key(&case_id).await;
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("To Do"));
    let ledger = IssueLedger::load(h.store.as_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ledger.status.as_deref(), Some("To Do"));
    assert_eq!(ledger.case_status, None, "not in step yet");

    sync.handle(&changed(&case_id)).await.unwrap();
    assert_eq!(
        h.jira
            .issues_with_label(&format!("aws-sir-{case_id}"))
            .len(),
        1
    );
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("In Progress"));
    h.in_step(&sync, &case_id).await;
}

/// A person moves a new issue before the sync's first transition: the walk, which took the
/// issue to be where it was created, is refused, reads, and leaves the person's move alone (it
/// is newer than the case's change). The sync no longer trusts the initial status it had
/// learned: the next create reads it again.
#[tokio::test]
async fn a_person_moving_a_new_issue_first_is_not_overridden() {
    let h = Harness::start(Flavour::Cloud).await;
    let human = h.jira.human_account();
    let sync = h.sync_through(Faulty::new(
        h.client.clone(),
        Fault::PersonMoves {
            summary: "Moved first",
            base_url: h.jira.base_url().to_owned(),
            auth: h.jira.auth_header_for(&human.account_id),
            transition: "11",
        },
    ));
    let in_review = |title: &str| {
        let case_id = full_case(&h.sir, title);
        h.sir
            .analyst()
            .set_status(&case_id, SirStatus::PostIncidentActivities)
            .unwrap();
        case_id
    };
    // The sync learns the initial status and the way to In Review.
    sync.handle(&changed(&in_review("Learning"))).await.unwrap();

    let case_id = in_review("Moved first");
    h.jira.requests().reset();
    sync.handle(&changed(&case_id)).await.unwrap();
    let key = h.issue_key(&case_id).await;
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("In Progress"));
    let ours = h
        .jira
        .requests()
        .filter(|r| r.account.as_deref() != Some(human.account_id.as_str()));
    assert_eq!(
        ours.iter()
            .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
            .collect::<Vec<_>>(),
        [
            "POST /rest/api/3/issue -> 201".to_owned(),
            format!("POST /rest/api/3/issue/{key}/transitions -> 400"),
            format!("GET /rest/api/3/issue/{key} -> 200"),
            format!("GET /rest/api/3/issue/{key} -> 200"),
        ],
        "create, the refused blind hop, where the issue is, when it moved"
    );
    assert!(
        h.jira
            .status_history(&key)
            .iter()
            .filter(|c| c.transition_id.is_some())
            .all(|c| c.author != h.sync.settings().own_account),
        "the integration moved nothing"
    );

    h.jira.requests().reset();
    let next = full_case(&h.sir, "After the surprise");
    sync.handle(&changed(&next)).await.unwrap();
    assert_eq!(
        calls(&h),
        [
            "POST /rest/api/3/issue".to_owned(),
            format!("GET /rest/api/3/issue/{}", h.issue_key(&next).await),
        ],
        "the initial status is read again"
    );
}

#[tokio::test]
async fn a_rate_limit_storm_delays_but_drops_nothing() {
    let h = Harness::start(Flavour::Cloud).await;
    let case_id = full_case(&h.sir, "Storm");
    h.sir.analyst().add_comment(&case_id, "first").unwrap();
    h.sir.analyst().add_comment(&case_id, "second").unwrap();
    attach(&h.sir, &case_id, "a.txt", b"abc".to_vec()).await;
    h.sir
        .analyst()
        .set_status(&case_id, SirStatus::PostIncidentActivities)
        .unwrap();
    // Every other call: 429 with Retry-After: 0 (waited as 1 s).
    h.jira.rate_limit_every(2, 0);
    let started = std::time::Instant::now();
    h.changed(&case_id).await.unwrap();
    let took = started.elapsed();
    let key = h.issue_key(&case_id).await;
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("In Review"));
    assert_eq!(h.jira.comments(&key).len(), 2);
    assert_eq!(h.jira.attachments(&key).len(), 1);
    assert_eq!(h.jira.issues().len(), 1);
    let refused = h
        .jira
        .requests()
        .all()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert!(refused >= 5, "{refused}");
    // At least a second per refusal, whatever Retry-After said.
    assert!(
        took >= Duration::from_secs(refused as u64),
        "{took:?} for {refused} refusals"
    );
    eprintln!(
        "429 storm: {refused} refusals, {} calls, {took:?}",
        h.jira.requests().all().len()
    );
    let m = h.metrics.render(None);
    assert!(m.contains("status=\"429\""), "{m}");
    h.jira.clear_rate_limit();
    h.jira.requests().reset();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.jira.requests().all().len(), 0);
}

#[tokio::test]
async fn a_data_center_site_gets_the_same_scenario_in_wiki_text() {
    let h = Harness::start(Flavour::DataCenter).await;
    assert_eq!(h.sync.settings().own_account, "sir-bridge");
    let case_id = full_case(&h.sir, "DC incident");
    h.sir.analyst().add_comment(&case_id, "from SIR").unwrap();
    attach(&h.sir, &case_id, "dc.txt", b"dc bytes".to_vec()).await;
    h.changed(&case_id).await.unwrap();
    let key = h.issue_key(&case_id).await;
    let issue = h.jira.issue(&key).unwrap();
    match issue.description.as_ref().unwrap() {
        jira_emulator::RichText::Wiki(w) => {
            assert!(
                w.contains("h3. AWS Security Incident Response case details"),
                "{w}"
            );
            assert!(
                w.contains(&format!(
                    "[{case_id}|https://us-east-1.console.aws.amazon.com/"
                )),
                "{w}"
            );
        }
        other => panic!("Data Center stores wiki text, got {other:?}"),
    }
    assert!(
        h.jira
            .requests()
            .all()
            .iter()
            .all(|r| r.path.starts_with("/rest/api/2/"))
    );
    assert_eq!(h.jira.comments(&key).len(), 1);
    assert_eq!(h.jira.attachments(&key).len(), 1);
    for status in [
        SirStatus::ContainmentEradicationAndRecovery,
        SirStatus::ReadyToClose,
    ] {
        h.sir.analyst().set_status(&case_id, status).unwrap();
        h.changed(&case_id).await.unwrap();
    }
    h.sir
        .analyst()
        .close(&case_id, SirClosure::Duplicate)
        .unwrap();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.jira.status_of(&key).as_deref(), Some("Done"));
    assert_eq!(h.jira.resolution_of(&key).as_deref(), Some("Duplicate"));
    h.jira.requests().reset();
    h.changed(&case_id).await.unwrap();
    assert_eq!(h.jira.requests().all().len(), 0);
}

#[tokio::test]
async fn a_bad_field_mapping_is_a_dead_letter_with_jiras_message() {
    let h = Harness::start_with(
        Flavour::Cloud,
        |_| {},
        |s| {
            s.mappings.custom_fields.insert(
                "customfield_99999".into(),
                sir_jira_bridge::sync::mappings::CaseField::CaseId,
            );
        },
    )
    .await;
    let case_id = full_case(&h.sir, "Bad mapping");
    let failure = h.changed(&case_id).await.unwrap_err();
    assert!(!failure.retryable, "{failure:?}");
    assert!(
        failure.error.contains("customfield_99999"),
        "{}",
        failure.error
    );
    assert!(h.jira.issues().is_empty());
    // The refusal released the claim: with the mapping fixed, the replay creates at once.
    let fixed = CaseToIssueSync::new(
        h.client.clone(),
        h.sir_api.clone(),
        h.store.clone(),
        SyncSettings {
            mappings: Default::default(),
            ..h.sync.settings().clone()
        },
    );
    fixed.handle(&changed(&case_id)).await.unwrap();
    assert_eq!(h.jira.issues().len(), 1);
    assert!(
        h.jira
            .requests()
            .matching("GET", "/rest/api/3/search")
            .is_empty()
    );
}

#[tokio::test]
async fn refused_credentials_are_loud_and_the_event_is_kept() {
    let h = Harness::start(Flavour::Cloud).await;
    let case_id = full_case(&h.sir, "Expired token");
    h.jira.set_api_token(CLOUD_ACCOUNT, Some("rotated-token"));
    let failure = h.changed(&case_id).await.unwrap_err();
    assert!(
        failure.retryable,
        "kept for retry, not dropped: {failure:?}"
    );
    assert!(failure.error.contains("401"), "{}", failure.error);
    let state = h.peers.get(Peer::Jira);
    assert!(state.credentials_refused, "{state:?}");
    assert!(!state.last_error.unwrap().contains("bridge-api-token"));
    assert!(h.metrics.render(None).contains("status=\"401\""));
}

#[test]
fn echo_helper_is_public_for_the_issue_to_case_sync() {
    // Compile-time check of the seam the other direction uses.
    let _f: fn(&Event, &str, Option<&IssueLedger>) -> bool = echo::is_own_change;
}

/// The service as deployed: Jira settings, the SIR client handed to the application, events
/// through the queue and workers, Jira's webhooks back into the gateway.
#[tokio::test]
async fn our_own_writes_come_back_as_echoes_and_cause_no_writes() {
    use crate::helpers::{ADMIN_TOKEN, SECRET_NEW, TestApp, eventually, sdk_config_for};
    let jira = JiraEmulator::start(JiraConfig::default()).await.unwrap();
    let sir = SirEmulator::start(SirConfig::default()).await.unwrap();
    let base = jira.base_url().to_owned();
    let endpoint = sir.endpoint_url();
    let app = TestApp::spawn_with_sdk(
        |s| {
            s.workers = Some(1);
            s.jira_url = Some(base);
            s.jira_email = Some("sir-bridge@example.com".into());
            s.jira_api_token = Some(Secret::new("bridge-api-token"));
            s.jira_project_key = Some("SEC".into());
            s.sir_enabled = Some(true);
            s.sir_endpoint_url = Some(endpoint);
            // Events come from the resyncs below only.
            s.sir_poller_enabled = Some(false);
        },
        sdk_config_for(&sir.endpoint_url()).await,
    )
    .await;
    jira.webhooks()
        .set_target(&app.url("/webhooks/jira"), Some(SECRET_NEW));
    let case_id = full_case(&sir, "Echo chamber");
    sir.analyst()
        .add_comment(&case_id, "hello from SIR")
        .unwrap();

    let resync = |app: &TestApp| {
        let url = app.url(&format!("/v1/resync/cases/{case_id}"));
        let client = app.client.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 202);
        }
    };
    let settled = |app: &TestApp, done: u64| {
        let queue = app.queue.clone();
        async move {
            eventually(Duration::from_secs(20), || {
                let queue = queue.clone();
                async move {
                    let s = queue.stats().await.unwrap();
                    s.ready + s.leased == 0 && s.done >= done
                }
            })
            .await
        }
    };
    resync(&app).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            app.store.mapping_by_case(&case_id).await.unwrap().is_some()
        })
        .await
    );
    let key = app
        .store
        .mapping_by_case(&case_id)
        .await
        .unwrap()
        .unwrap()
        .issue_key;
    assert!(
        eventually(Duration::from_secs(20), || async {
            jira.comments(&key).len() == 1
        })
        .await
    );
    assert!(jira.webhooks().wait_idle(Duration::from_secs(10)).await);
    let deliveries = jira.webhooks().deliveries();
    assert!(deliveries.len() >= 3, "{}", deliveries.len());
    let ledger = IssueLedger::load(app.store.as_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    for d in &deliveries {
        let event = sir_jira_bridge::event::jira::from_webhook(&d.body).unwrap();
        assert!(
            echo::is_own_change(&event, CLOUD_ACCOUNT, Some(&ledger)),
            "{}",
            d.event
        );
    }
    // The gateway took the deliveries in, one event per change (a comment's two
    // announcements are one), and the issue → case sync found them all to be echoes.
    let accepted = deliveries
        .iter()
        .map(|d| {
            let event = sir_jira_bridge::event::jira::from_webhook(&d.body).unwrap();
            event.change_key().unwrap_or_else(|| d.identifier.clone())
        })
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
    assert!(settled(&app, 1 + accepted).await, "{:?}", app.stats().await);

    // SIR's own "case updated" for the integration's write, or a poller pass: nothing to write.
    jira.requests().reset();
    resync(&app).await;
    assert!(settled(&app, 2 + accepted).await);
    assert_eq!(
        jira.requests().all().len(),
        0,
        "{:#?}",
        jira.requests().all()
    );

    // A person's change is not an echo.
    jira.webhooks().clear_deliveries();
    jira.as_human()
        .edit_summary(&key, "Renamed by Dana")
        .unwrap();
    assert!(jira.webhooks().wait_idle(Duration::from_secs(10)).await);
    let human = jira.webhooks().deliveries();
    assert!(!human.is_empty());
    for d in &human {
        let event = sir_jira_bridge::event::jira::from_webhook(&d.body).unwrap();
        assert!(
            !echo::is_own_change(&event, CLOUD_ACCOUNT, Some(&ledger)),
            "{}",
            d.event
        );
    }

    // Credentials refused: the status and readiness say so; the event waits for a retry.
    jira.set_api_token(CLOUD_ACCOUNT, Some("rotated-token"));
    sir.analyst()
        .add_comment(&case_id, "after rotation")
        .unwrap();
    resync(&app).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            app.admin_get("/v1/status").await.1["peers"]["jira"]["credentials_refused"]
                == json!(true)
        })
        .await
    );
    let ready: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        ready["reason"].as_str().unwrap_or("").contains("jira"),
        "{ready}"
    );
    assert_eq!(app.stats().await.dead, 0);
}
