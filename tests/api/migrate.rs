//! `migrate from-sample`: AWS's sample integration's mapping table (in moto's DynamoDB, through
//! the real SDK, items shaped as the sample writes them), the Jira emulator holding the issues
//! the sample made, the SIR emulator holding the cases. The cases keep their issues (none
//! created, none duplicated), the first sync after adoption writes at most once per issue and
//! the next nothing, a rerun writes nothing, and a killed run finishes on the next.

use std::{
    collections::{BTreeMap, HashMap},
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::Arc,
    time::Duration,
};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use jira_emulator::{EmulatorConfig as JiraConfig, JiraEmulator};
use serde_json::json;
use sir_emulator::{
    CaseStatus as SirStatus, EmulatorConfig as SirConfig, EmulatorHandle, NewCase, SeedCase,
    SirEmulator,
};
use sir_jira_bridge::{
    jira::{Flavour, IssueType, JiraApi},
    metrics::Metrics,
    migrate::{Migrator, Outcome, Report, SampleTable},
    peers::PeerHealth,
    sir::SirApi,
    store::{Mapping, StateStore},
    sync::{CaseToIssueSync, SyncSettings},
    worker::EventHandler,
};

use sir_jira_bridge::event::sir::CaseChange;

use crate::{
    end_to_end::Deployment,
    helpers::{dynamo_store, moto_endpoint, moto_sdk, sir_client, sqlite_store, unique},
    jira_sync::{changed, jira_client},
};

const BIN: &str = env!("CARGO_BIN_EXE_sir-jira-bridge");

/// The peers, the store, and the sample's table in moto.
struct Setup {
    jira: JiraEmulator,
    sir: EmulatorHandle,
    store: Arc<dyn StateStore>,
    client: Arc<dyn JiraApi>,
    sir_api: Arc<dyn SirApi>,
    settings: SyncSettings,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    _dir: tempfile::TempDir,
}

/// A case the sample synced: its id and its issue's key.
#[derive(Debug, Clone)]
struct Synced {
    case_id: String,
    key: String,
}

impl Setup {
    async fn start(store: Option<Arc<dyn StateStore>>) -> Setup {
        let jira = JiraEmulator::start(JiraConfig::default()).await.unwrap();
        let sir = SirEmulator::start(SirConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = store.unwrap_or_else(|| sqlite_store(dir.path()));
        let client: Arc<dyn JiraApi> = Arc::new(jira_client(
            &jira,
            Flavour::Cloud,
            Arc::new(Metrics::new()),
            Arc::new(PeerHealth::default()),
        ));
        let own = client.myself().await.unwrap().id;
        let settings = SyncSettings::new("SEC", IssueType::Name("Task".into()), &own);
        let sdk = moto_sdk().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = unique("IncidentsTable");
        create_sample_table(&dynamodb, &table).await;
        Setup {
            jira,
            sir_api: Arc::new(sir_client(&sir)),
            sir,
            store,
            client,
            settings,
            dynamodb,
            table,
            _dir: dir,
        }
    }

    fn migrator(&self) -> Migrator {
        Migrator::new(
            self.store.clone(),
            self.client.clone(),
            self.sir_api.clone(),
            self.settings.clone(),
        )
    }

    fn sample_table(&self) -> SampleTable {
        // Small pages, so the scan pages.
        SampleTable::new(self.dynamodb.clone(), &self.table).with_page_size(17)
    }

    async fn migrate(&self, dry_run: bool) -> Report {
        self.migrator()
            .dry_run(dry_run)
            .run(&self.sample_table(), |_, _| {})
            .await
            .unwrap()
    }

    async fn sample_synced(&self, n: usize) -> Vec<Synced> {
        self.fixture().synced(&self.jira, &self.sir, n).await
    }

    async fn put_case_item(
        &self,
        case_id: &str,
        key: Option<&str>,
        title: &str,
        status: SirStatus,
    ) {
        self.fixture()
            .put_case_item(case_id, key, title, status)
            .await
    }

    async fn put(&self, attrs: &[(&str, String)]) {
        self.fixture().put(attrs).await
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            dynamodb: self.dynamodb.clone(),
            table: self.table.clone(),
        }
    }

    /// Items of other integrations and other records of the sample's.
    async fn foreign_items(&self, case_id: &str) {
        self.put(&[
            ("PK", format!("Case#{case_id}")),
            ("SK", "slack_update_flag".into()),
            ("flag", "true".into()),
        ])
        .await;
        self.put(&[
            ("PK", "ServiceNow#INC0010001".into()),
            ("SK", "latest".into()),
            ("serviceNowIncidentId", "INC0010001".into()),
        ])
        .await;
    }

    fn sync(&self) -> CaseToIssueSync {
        CaseToIssueSync::new(
            self.client.clone(),
            self.sir_api.clone(),
            self.store.clone(),
            self.settings.clone(),
        )
    }

    /// Jira writes since the last reset, by issue key.
    fn writes_by_issue(&self) -> BTreeMap<String, Vec<String>> {
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.jira.requests().writes() {
            let key = r
                .path
                .split('/')
                .skip_while(|s| *s != "issue")
                .nth(1)
                .unwrap_or("(none)")
                .to_owned();
            by.entry(key).or_default().push(r.line());
        }
        by
    }
}

/// The sample's table in moto.
#[derive(Clone)]
struct Fixture {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

impl Fixture {
    async fn create() -> Fixture {
        let dynamodb = aws_sdk_dynamodb::Client::new(&moto_sdk().await);
        let table = unique("IncidentsTable");
        create_sample_table(&dynamodb, &table).await;
        Fixture { dynamodb, table }
    }

    /// `n` cases the sample synced: each a SIR case, a Jira issue made as the sample makes it
    /// (summary = title, description = the case's description, status per its status map),
    /// and its `Case#` item; every fifth also its `Jira#` item, every seventh a comment the
    /// sample mirrored to Jira and one it copied from Jira.
    async fn synced(&self, jira: &JiraEmulator, sir: &EmulatorHandle, n: usize) -> Vec<Synced> {
        let statuses = [
            (SirStatus::Submitted, "To Do"),
            (SirStatus::Acknowledged, "In Progress"),
            (SirStatus::DetectionAndAnalysis, "In Progress"),
            (SirStatus::PostIncidentActivities, "In Review"),
        ];
        let human = jira.as_human();
        let mut synced = Vec::new();
        for i in 0..n {
            let (status, jira_status) = statuses[i % statuses.len()];
            let title = format!("Suspicious activity {i}");
            let description = format!("GuardDuty finding {i} in the production account.");
            let case_id = sir.seed_case(SeedCase {
                case: NewCase {
                    title: title.clone(),
                    description: description.clone(),
                    ..NewCase::default()
                },
                status,
                ..SeedCase::default()
            });
            let issue = human
                .create_issue("SEC", "Task", &title, Some(&description))
                .unwrap();
            if jira_status != "To Do" {
                human.move_to(&issue.key, jira_status).unwrap();
            }
            if i % 7 == 0 {
                let analyst = sir.analyst();
                let note = format!("Isolated instance i-{i:08x}.");
                analyst.add_comment(&case_id, &note).unwrap();
                human.add_comment(&issue.key, &note).unwrap();
                human.add_comment(&issue.key, "Rotated the keys.").unwrap();
                analyst
                    .add_comment(&case_id, "[JIRA Update] Rotated the keys.")
                    .unwrap();
            }
            self.put_case_item(&case_id, Some(&issue.key), &title, status)
                .await;
            if i % 5 == 0 {
                self.put(&[
                    ("PK", format!("Jira#{}", issue.key)),
                    ("SK", "latest".into()),
                    ("jiraIssueId", issue.key.clone()),
                    ("jiraIssueDetails", issue_details(&issue.key, &title)),
                ])
                .await;
            }
            synced.push(Synced {
                case_id,
                key: issue.key,
            });
        }
        synced
    }

    async fn put_case_item(
        &self,
        case_id: &str,
        key: Option<&str>,
        title: &str,
        status: SirStatus,
    ) {
        let incident = json!({
            "caseArn": format!("arn:aws:security-ir:us-east-1:123456789012:case/{case_id}"),
            "title": title,
            "caseStatus": status.as_str(),
            "engagementType": "Security Incident",
        });
        let mut item = vec![
            ("PK", format!("Case#{case_id}")),
            ("SK", "latest".into()),
            ("incidentDetails", incident.to_string()),
        ];
        if let Some(key) = key {
            item.push(("jiraIssueId", key.to_owned()));
            item.push(("jiraIssueDetails", issue_details(key, title)));
        }
        self.put(&item).await;
    }

    async fn put(&self, attrs: &[(&str, String)]) {
        let item: HashMap<String, AttributeValue> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.clone())))
            .collect();
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
}

async fn create_sample_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("PK"))
        .attribute_definitions(attr("SK"))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the sample's table in moto");
}

/// The sample's `jiraIssueDetails`: a JSON string of what it read from the issue.
fn issue_details(key: &str, summary: &str) -> String {
    json!({"key": key, "summary": summary, "status": "To Do", "issuetype": "Task"}).to_string()
}

fn adopted(report: &Report) -> Vec<(String, String)> {
    report
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Adopted {
                case_id, issue_key, ..
            }
            | Outcome::WouldAdopt { case_id, issue_key } => {
                Some((case_id.clone(), issue_key.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The acceptance run: 100 cases adopted with their own issues, none created, a conflict, a
/// missing issue, a malformed item and foreign items reported; the first sync after adoption
/// writes at most once per issue, the second nothing; a second migration adopts and writes
/// nothing.
#[tokio::test]
async fn a_hundred_cases_keep_their_issues_and_the_syncs_write_at_most_once() {
    let s = Setup::start(None).await;
    let synced = s.sample_synced(100).await;
    s.foreign_items(&synced[0].case_id).await;

    // A case this service already maps to an issue of its own: a conflict, left alone.
    let conflicting = s.sir.seed_case(SeedCase::default());
    let sample_issue = s
        .jira
        .as_human()
        .create_issue("SEC", "Task", "Emulated security incident", None)
        .unwrap();
    let ours = s
        .jira
        .as_human()
        .create_issue("SEC", "Task", "Emulated security incident", None)
        .unwrap();
    s.store
        .insert_mapping(&Mapping {
            case_id: conflicting.clone(),
            issue_key: ours.key.clone(),
            issue_id: None,
        })
        .await
        .unwrap();
    s.put_case_item(
        &conflicting,
        Some(&sample_issue.key),
        "x",
        SirStatus::Submitted,
    )
    .await;
    // The sample's issue was deleted in Jira since.
    let orphan = s.sir.seed_case(SeedCase::default());
    s.put_case_item(&orphan, Some("SEC-9999"), "gone", SirStatus::Submitted)
        .await;
    // A case the sample never made an issue for.
    let no_issue = s.sir.seed_case(SeedCase::default());
    s.put_case_item(&no_issue, None, "new", SirStatus::Submitted)
        .await;
    // Malformed: no case id, and an issue id that is not a key.
    s.put(&[
        ("PK", "Case#not-a-case".into()),
        ("SK", "latest".into()),
        ("jiraIssueId", "SEC-1".into()),
    ])
    .await;
    // An issue opened in Jira that no case item names.
    let lonely = s
        .jira
        .as_human()
        .create_issue("SEC", "Task", "Opened in Jira", None)
        .unwrap();
    s.put(&[
        ("PK", format!("Jira#{}", lonely.key)),
        ("SK", "latest".into()),
        ("jiraIssueId", lonely.key.clone()),
    ])
    .await;

    let issues_before = s.jira.issues().len();
    s.jira.requests().reset();

    // A dry run reads and writes nothing.
    let dry = s.migrate(true).await;
    assert_eq!(dry.totals.adopted, 100, "{}", dry.summary());
    assert_eq!(s.jira.requests().write_count(), 0);
    assert_eq!(s.store.list_mappings(None, 1000).await.unwrap().len(), 1);

    let report = s.migrate(false).await;
    let t = &report.totals;
    assert_eq!(t.adopted, 100, "{}", report.summary());
    assert_eq!(t.conflict, 1, "{}", report.summary());
    assert_eq!(t.issue_missing, 1);
    assert_eq!(t.no_issue, 1);
    assert_eq!(t.malformed, 1);
    assert_eq!(t.unmatched, 1);
    // Two foreign items and the 20 `Jira#` items whose case item names them.
    assert_eq!(t.skipped, 22);
    assert_eq!(t.failed, 0, "{:?}", report.outcomes);
    assert!(report.needs_attention());
    let conflict = report
        .outcomes
        .iter()
        .find(|o| matches!(o, Outcome::Conflict { .. }))
        .unwrap()
        .to_string();
    assert!(
        conflict.contains(&conflicting) && conflict.contains(&ours.key),
        "{conflict}"
    );

    // Every case keeps the sample's issue, marked as ours; no issue was created.
    let mut expected: Vec<(String, String)> = synced
        .iter()
        .map(|c| (c.case_id.clone(), c.key.clone()))
        .collect();
    expected.sort();
    let mut got = adopted(&report);
    got.sort();
    assert_eq!(got, expected);
    for c in &synced {
        let mapping = s.store.mapping_by_case(&c.case_id).await.unwrap().unwrap();
        assert_eq!(mapping.issue_key, c.key);
        let issue = s.jira.issue(&c.key).unwrap();
        assert!(
            issue.labels.contains(&format!("aws-sir-{}", c.case_id)),
            "{:?}",
            issue.labels
        );
        let property = s.jira.issue_property(&c.key, "sir").unwrap();
        assert_eq!(property["caseId"], c.case_id.as_str());
    }
    assert_eq!(s.jira.issues().len(), issues_before, "no issue created");
    assert_eq!(
        s.jira
            .requests()
            .matching("POST", "/rest/api/3/issue")
            .iter()
            .filter(|r| r.path == "/rest/api/3/issue")
            .count(),
        0
    );
    // The conflicting case's mapping is untouched, the sample's issue unmarked.
    assert_eq!(
        s.store
            .mapping_by_case(&conflicting)
            .await
            .unwrap()
            .unwrap()
            .issue_key,
        ours.key
    );
    assert!(s.jira.issue_property(&sample_issue.key, "sir").is_none());
    // Marking: at most the labels and the property per issue.
    for (key, writes) in s.writes_by_issue() {
        assert!(writes.len() <= 2, "{key}: {writes:?}");
    }

    // The first sync of every case writes at most once per issue (the details section), and
    // creates nothing; mirrored comments are not posted again.
    let sync = s.sync();
    s.jira.requests().reset();
    for c in &synced {
        sync.handle(&changed(&c.case_id)).await.unwrap();
    }
    let first = s.writes_by_issue();
    for (key, writes) in &first {
        assert!(writes.len() <= 1, "{key}: {writes:?}");
    }
    // The one write brings the issue into this service's format: the details section.
    assert_eq!(first.len(), 100, "{first:?}");
    let sample = s.jira.issue(&synced[1].key).unwrap();
    let text = sample.description.unwrap().to_adf().to_string();
    assert!(
        text.contains("GuardDuty finding 1 in the production account"),
        "{text}"
    );
    assert!(
        text.contains(&synced[1].case_id),
        "the details name the case: {text}"
    );
    assert_eq!(s.jira.issues().len(), issues_before, "no issue created");
    for c in synced.iter().step_by(7) {
        let comments = s.jira.comments(&c.key);
        assert_eq!(comments.len(), 2, "{}: {comments:?}", c.key);
    }
    for c in &synced {
        let issue = s.jira.issue(&c.key).unwrap();
        let status = s.jira.status_of(&c.key).unwrap();
        assert!(!status.is_empty());
        assert!(issue.summary.starts_with("Suspicious activity"));
    }

    // The next sync writes nothing at all.
    s.jira.requests().reset();
    for c in &synced {
        sync.handle(&changed(&c.case_id)).await.unwrap();
    }
    assert_eq!(
        s.jira.requests().write_count(),
        0,
        "{:?}",
        s.writes_by_issue()
    );

    // A second migration adopts nothing and writes nothing to Jira.
    s.jira.requests().reset();
    let again = s.migrate(false).await;
    assert_eq!(again.totals.adopted, 0, "{}", again.summary());
    assert_eq!(again.totals.already_mapped, 100);
    assert_eq!(s.jira.requests().write_count(), 0);
}

/// The same on the DynamoDB store (in moto).
#[tokio::test]
async fn the_dynamodb_store_adopts_insert_once_too() {
    let sdk = moto_sdk().await;
    let store: Arc<dyn StateStore> = Arc::new(dynamo_store(&sdk).await);
    let s = Setup::start(Some(store)).await;
    let synced = s.sample_synced(20).await;
    s.foreign_items(&synced[3].case_id).await;
    let report = s.migrate(false).await;
    assert_eq!(report.totals.adopted, 20, "{}", report.summary());
    assert!(!report.needs_attention(), "{}", report.summary());
    for c in &synced {
        let m = s.store.mapping_by_case(&c.case_id).await.unwrap().unwrap();
        assert_eq!(m.issue_key, c.key);
        assert_eq!(
            s.store
                .mapping_by_issue(&c.key)
                .await
                .unwrap()
                .unwrap()
                .case_id,
            c.case_id
        );
    }
    s.jira.requests().reset();
    let again = s.migrate(false).await;
    assert_eq!(again.totals.already_mapped, 20);
    assert_eq!(s.jira.requests().write_count(), 0);
}

/// A marked issue with no mapping (a crash between marking and recording) is finished by the
/// next run without writing to Jira again; an issue whose `sir` property names another case
/// is a conflict.
#[tokio::test]
async fn a_half_done_adoption_is_finished_and_another_cases_issue_is_left_alone() {
    let s = Setup::start(None).await;
    let synced = s.sample_synced(2).await;
    let human = s.jira.as_human();
    human
        .add_label(&synced[0].key, &format!("aws-sir-{}", synced[0].case_id))
        .unwrap();
    human.add_label(&synced[0].key, "aws-sir").unwrap();
    human
        .set_property(
            &synced[0].key,
            "sir",
            json!({"caseId": synced[0].case_id, "caseArn": s.sir.case(&synced[0].case_id).unwrap().case_arn}),
        )
        .unwrap();
    human
        .set_property(&synced[1].key, "sir", json!({"caseId": "9999999999"}))
        .unwrap();
    s.jira.requests().reset();
    let report = s.migrate(false).await;
    assert_eq!(report.totals.adopted, 1, "{}", report.summary());
    assert_eq!(report.totals.conflict, 1, "{}", report.summary());
    assert_eq!(
        s.jira.requests().write_count(),
        0,
        "{:?}",
        s.writes_by_issue()
    );

    // An issue opened in Jira with only its `Jira#` item: adopted when the issue names its
    // case by label (as the earlier guide had people add by hand), listed otherwise.
    let case_id = s.sir.seed_case(SeedCase::default());
    let labelled = human
        .create_issue("SEC", "Task", "Emulated security incident", None)
        .unwrap();
    human
        .add_label(&labelled.key, &format!("aws-sir-{case_id}"))
        .unwrap();
    let bare = human
        .create_issue("SEC", "Task", "Opened in Jira", None)
        .unwrap();
    for key in [&labelled.key, &bare.key] {
        s.put(&[
            ("PK", format!("Jira#{key}")),
            ("SK", "latest".into()),
            ("jiraIssueId", key.clone()),
        ])
        .await;
    }
    let report = s.migrate(false).await;
    assert_eq!(report.totals.adopted, 1, "{}", report.summary());
    assert_eq!(report.totals.unmatched, 1, "{}", report.summary());
    assert_eq!(
        s.store
            .mapping_by_case(&case_id)
            .await
            .unwrap()
            .unwrap()
            .issue_key,
        labelled.key
    );
    assert!(s.jira.issue_property(&labelled.key, "sir").is_some());
    assert!(
        s.store
            .mapping_by_case(&synced[1].case_id)
            .await
            .unwrap()
            .is_none()
    );
}

/// A table that does not exist is one line naming the fix.
#[tokio::test]
async fn a_missing_table_says_what_to_pass() {
    let s = Setup::start(None).await;
    let table = SampleTable::new(s.dynamodb.clone(), "no-such-table");
    let err = s
        .migrator()
        .run(&table, |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-table") && err.contains("IncidentsTable"),
        "{err}"
    );
}

/// The real binary, killed partway through (after 30 adoptions), then run again: the second
/// run finishes the job, no issue is created or adopted twice, and a third run writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_is_finished_by_the_next() {
    let s = Setup::start(None).await;
    let synced = s.sample_synced(100).await;
    let issues_before = s.jira.issues().len();
    let data = tempfile::tempdir().unwrap();
    let run = |kill_after: Option<usize>| {
        let mut child = Command::new(BIN)
            .args(["migrate", "from-sample", "--table", &s.table])
            .env_clear()
            .env("SIR_JIRA_DATA_DIR", data.path())
            .env("SIR_JIRA_JIRA_URL", s.jira.base_url())
            .env("SIR_JIRA_JIRA_EMAIL", "sir-bridge@example.com")
            .env("SIR_JIRA_JIRA_API_TOKEN", "bridge-api-token")
            .env("SIR_JIRA_JIRA_PROJECT_KEY", "SEC")
            .env("SIR_JIRA_JIRA_ISSUE_TYPE", "Task")
            .env("SIR_JIRA_SIR_ENABLED", "true")
            .env("SIR_JIRA_SIR_ENDPOINT_URL", s.sir.endpoint_url())
            .env("SIR_JIRA_SIR_POLLER_ENABLED", "false")
            .env("AWS_ENDPOINT_URL", moto_endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        let mut adopted = 0;
        for line in stdout.lines().map_while(Result::ok) {
            if line.starts_with("adopted") {
                adopted += 1;
            }
            lines.push(line);
            if kill_after.is_some_and(|n| adopted >= n) {
                child.kill().unwrap();
                break;
            }
        }
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status, lines, stderr)
    };

    let (status, lines, stderr) = tokio::task::block_in_place(|| run(Some(30)));
    assert!(!status.success(), "killed: {lines:?} {stderr}");
    let (status, lines, stderr) = tokio::task::block_in_place(|| run(None));
    assert_eq!(status.code(), Some(0), "{lines:#?}\n{stderr}");
    let summary = lines.last().unwrap();
    assert!(summary.starts_with("120 items:"), "{summary}");
    let adopted_now = lines.iter().filter(|l| l.starts_with("adopted")).count();
    let already = lines
        .iter()
        .filter(|l| l.starts_with("already mapped"))
        .count();
    assert_eq!(adopted_now + already, 100, "{lines:#?}");
    assert!(already >= 30 && adopted_now >= 60, "{summary}");

    let store = sir_jira_bridge::store::SqliteStore::new(
        sir_jira_bridge::db::Db::open(&data.path().join("sir-jira-bridge.sqlite3")).unwrap(),
    );
    for c in &synced {
        let m = store.mapping_by_case(&c.case_id).await.unwrap().unwrap();
        assert_eq!(m.issue_key, c.key);
        let issue = s.jira.issue(&c.key).unwrap();
        let ours: Vec<_> = issue
            .labels
            .iter()
            .filter(|l| l.starts_with("aws-sir-"))
            .collect();
        assert_eq!(ours, [&format!("aws-sir-{}", c.case_id)]);
    }
    assert_eq!(s.jira.issues().len(), issues_before);

    s.jira.requests().reset();
    let (status, lines, stderr) = tokio::task::block_in_place(|| run(None));
    assert_eq!(status.code(), Some(0), "{lines:#?}\n{stderr}");
    assert!(
        lines
            .last()
            .unwrap()
            .contains("0 adopted, 100 already mapped"),
        "{lines:?}"
    );
    assert_eq!(s.jira.requests().write_count(), 0);
}

/// Bad input: `--table` is required, and an unreachable peer configuration is one line naming
/// the setting.
#[test]
fn the_command_names_what_is_missing() {
    let out = Command::new(BIN)
        .args(["migrate", "from-sample"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--table"));
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["migrate", "from-sample", "--table", "t"])
        .env_clear()
        .env("SIR_JIRA_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jira_url"), "{err}");
}

/// A loopback stand-in for DynamoDB that refuses some `Scan` calls for throughput (moto never
/// throttles) and hands everything else to moto, so the real SDK meets real throttling errors.
struct ThrottlingProxy {
    endpoint: String,
    throttled: Arc<std::sync::atomic::AtomicUsize>,
}

impl ThrottlingProxy {
    /// Each page is refused `per_page` times before it is served; `per_page = usize::MAX`:
    /// always refused.
    async fn start(per_page: usize) -> ThrottlingProxy {
        use axum::{
            Router,
            body::Bytes,
            http::{HeaderMap, StatusCode},
            response::IntoResponse,
        };
        use std::sync::atomic::{AtomicUsize, Ordering};

        let throttled = Arc::new(AtomicUsize::new(0));
        let streak = Arc::new(AtomicUsize::new(0));
        let moto = moto_endpoint();
        let http = reqwest::Client::new();
        let counter = throttled.clone();
        let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (moto, http, counter, streak) =
                (moto.clone(), http.clone(), counter.clone(), streak.clone());
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if target.ends_with(".Scan") && streak.fetch_add(1, Ordering::SeqCst) < per_page {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = json!({
                        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                        "message": "The level of configured provisioned throughput for the table was exceeded."
                    });
                    return (
                        StatusCode::BAD_REQUEST,
                        [("content-type", "application/x-amz-json-1.0")],
                        body.to_string(),
                    )
                        .into_response();
                }
                if target.ends_with(".Scan") {
                    streak.store(0, Ordering::SeqCst);
                }
                let mut forward = http.post(&moto).body(body);
                for (name, value) in &headers {
                    if name != "host" && name != "content-length" {
                        forward = forward.header(name, value);
                    }
                }
                let answer = forward.send().await.unwrap();
                let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
                let content_type = answer
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/x-amz-json-1.0")
                    .to_owned();
                let bytes = answer.bytes().await.unwrap();
                (status, [("content-type", content_type)], bytes.to_vec()).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        ThrottlingProxy {
            endpoint,
            throttled,
        }
    }

    /// A DynamoDB client through the proxy, without the SDK's own retries, so every refusal
    /// reaches the migration's backoff.
    async fn client(&self) -> aws_sdk_dynamodb::Client {
        let sdk = crate::helpers::sdk_config_for(&self.endpoint).await;
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .build(),
        )
    }
}

/// Pages refused for throughput are asked for again after a pause, from the same key: every
/// item is read once, none skipped; a table that never stops refusing ends the run with an
/// error naming the table, after the bounded attempts.
#[tokio::test]
async fn a_throttled_scan_backs_off_and_reads_every_item_once() {
    let s = Setup::start(None).await;
    let synced = s.sample_synced(12).await;
    let fast = sir_jira_bridge::migrate::ScanRetry {
        base: Duration::from_millis(5),
        max: Duration::from_millis(40),
        attempts: 4,
    };
    let proxy = ThrottlingProxy::start(2).await;
    let table = SampleTable::new(proxy.client().await, &s.table)
        .with_page_size(5)
        .with_backoff(fast);
    let report = s
        .migrator()
        .dry_run(true)
        .run(&table, |_, _| {})
        .await
        .unwrap();
    let mut got = adopted(&report);
    got.sort();
    let mut expected: Vec<_> = synced
        .iter()
        .map(|c| (c.case_id.clone(), c.key.clone()))
        .collect();
    expected.sort();
    assert_eq!(got, expected, "{}", report.summary());
    // 15 items (12 cases, 3 `Jira#`) in pages of 5: at least 3 pages, each refused twice.
    let throttled = proxy.throttled.load(std::sync::atomic::Ordering::SeqCst);
    assert!(throttled >= 6, "{throttled}");

    let stuck = ThrottlingProxy::start(usize::MAX).await;
    let table = SampleTable::new(stuck.client().await, &s.table).with_backoff(fast);
    let err = s
        .migrator()
        .run(&table, |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&s.table)
            && err.contains("ProvisionedThroughputExceeded")
            && err.contains("run again later")
            && !err.contains('\n'),
        "{err}"
    );
    assert_eq!(stuck.throttled.load(std::sync::atomic::Ordering::SeqCst), 4);
}

/// The deployed service (gateway, workers, Jira's webhooks delivered to it), as the user guide's
/// steps run it: adopted while its SIR side is paused, then every case published as the
/// poller's first run does. Each issue gets at most one write from the integration, SIR none,
/// no issue is created, and publishing every case again writes nothing anywhere.
#[tokio::test]
async fn the_running_service_adopts_without_a_second_issue_or_an_echo() {
    let d = Deployment::start_with(Flavour::Cloud, "", |s| {
        // Paused: nothing polls SIR until the cases are adopted.
        s.sir_poller_enabled = Some(false);
    })
    .await;
    let sample = Fixture::create().await;
    let synced = sample.synced(&d.jira, &d.sir, 30).await;
    let client: Arc<dyn JiraApi> = Arc::new(jira_client(
        &d.jira,
        Flavour::Cloud,
        Arc::new(Metrics::new()),
        Arc::new(PeerHealth::default()),
    ));
    let settings = SyncSettings::new("SEC", IssueType::Name("Task".into()), d.own_account);
    let migrator = Migrator::new(
        d.app.store.clone(),
        client,
        Arc::new(sir_client(&d.sir)),
        settings,
    );
    let issues_before = d.jira.issues().len();
    d.settle().await;
    d.reset_logs();

    let table = SampleTable::new(sample.dynamodb.clone(), &sample.table);
    let report = migrator.run(&table, |_, _| {}).await.unwrap();
    assert_eq!(report.totals.adopted, 30, "{}", report.summary());
    // The marking's own webhooks are recognised as the integration's: nothing reaches SIR.
    d.settle().await;
    assert_eq!(d.sir_writes(), vec![], "no echo into SIR");

    // Unpaused: every case published, as the poller's first run does.
    d.reset_logs();
    for c in &synced {
        d.app.case_changed(&c.case_id, CaseChange::Backfill).await;
    }
    d.settle().await;
    let mut per_issue: BTreeMap<String, usize> = BTreeMap::new();
    for line in d.jira_writes() {
        let key = line
            .split('/')
            .skip_while(|s| *s != "issue")
            .nth(1)
            .unwrap_or("(none)")
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        *per_issue.entry(key).or_default() += 1;
    }
    assert!(per_issue.values().all(|n| *n <= 1), "{per_issue:?}");
    // The one write: the details section, on each adopted issue.
    assert_eq!(per_issue.len(), 30, "{per_issue:?}");
    assert_eq!(d.jira.issues().len(), issues_before, "no issue created");
    assert_eq!(d.sir_writes(), vec![], "no echo into SIR");
    for c in &synced {
        let m = d
            .app
            .store
            .mapping_by_case(&c.case_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.issue_key, c.key);
    }

    d.reset_logs();
    for c in &synced {
        d.app.case_changed(&c.case_id, CaseChange::Updated).await;
    }
    d.settle().await;
    assert_eq!(d.jira_writes(), Vec::<String>::new());
    assert_eq!(d.sir_writes(), vec![]);
}

/// A case this service's sync already started to open an issue for (a creation claim, no
/// mapping: it crashed or failed after Jira answered) is a conflict when that issue exists, and
/// is adopted when it does not (the claim alone made nothing).
#[tokio::test]
async fn an_issue_our_sync_opened_without_recording_it_is_a_conflict() {
    let s = Setup::start(None).await;
    let synced = s.sample_synced(2).await;
    for c in &synced {
        s.store
            .put_link(
                "issue-claim",
                &c.case_id,
                "issue",
                &json!({"owner": "crashed-worker", "state": "uncertain", "at_ms": 1}),
                None,
            )
            .await
            .unwrap();
    }
    let ours = s
        .jira
        .as_human()
        .create_issue("SEC", "Task", "Suspicious activity 0", None)
        .unwrap();
    s.jira
        .as_human()
        .add_label(&ours.key, &format!("aws-sir-{}", synced[0].case_id))
        .unwrap();
    let report = s.migrate(false).await;
    assert_eq!(report.totals.conflict, 1, "{}", report.summary());
    assert_eq!(report.totals.adopted, 1, "{}", report.summary());
    let line = report
        .outcomes
        .iter()
        .find(|o| matches!(o, Outcome::Conflict { .. }))
        .unwrap()
        .to_string();
    assert!(
        line.contains(&ours.key) && line.contains(&synced[0].case_id),
        "{line}"
    );
    assert!(
        s.store
            .mapping_by_case(&synced[0].case_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.store
            .mapping_by_case(&synced[1].case_id)
            .await
            .unwrap()
            .unwrap()
            .issue_key,
        synced[1].key
    );
}
