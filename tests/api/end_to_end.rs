//! Both directions at once, as deployed on the embedded default: the gateway with its workers
//! and SIR poller, the Jira emulator delivering signed admin webhooks to it, the SIR emulator
//! behind the real SDK. A case made in SIR appears in Jira; a person's status change and
//! comment in Jira reach the case; and nothing either side writes comes back as a write.

use std::time::Duration;

use jira_emulator::{EmulatorConfig as JiraConfig, JiraEmulator};
use sir_emulator::{
    CaseStatus as SirStatus, EmulatorConfig as SirConfig, EmulatorHandle, Operation, SirEmulator,
};
use sir_jira_bridge::secret::Secret;

use crate::{
    helpers::{SECRET_NEW, TestApp, eventually, sdk_config_as},
    jira_sync::{CLOUD_ACCOUNT, full_case},
};

const WAIT: Duration = Duration::from_secs(30);

struct Deployment {
    jira: JiraEmulator,
    sir: EmulatorHandle,
    app: TestApp,
    _config_dir: tempfile::TempDir,
}

impl Deployment {
    async fn start() -> Deployment {
        Self::start_with_mappings("").await
    }

    /// With `mappings` as the Jira mappings file.
    async fn start_with_mappings(mappings: &str) -> Deployment {
        let config_dir = tempfile::tempdir().unwrap();
        let mappings_file = config_dir.path().join("mappings.toml");
        std::fs::write(&mappings_file, mappings).unwrap();
        let jira = JiraEmulator::start(JiraConfig::default()).await.unwrap();
        let sir = SirEmulator::start(SirConfig::default()).await.unwrap();
        let base = jira.base_url().to_owned();
        let endpoint = sir.endpoint_url();
        // The integration's own credentials, so the emulator's log tells its calls apart from
        // the analyst's.
        let sdk = sdk_config_as(&endpoint, sir_emulator::INTEGRATION_ACCESS_KEY_ID).await;
        let app = TestApp::spawn_with_sdk(
            |s| {
                s.workers = Some(2);
                s.backoff_base_ms = Some(50);
                s.backoff_max_ms = Some(500);
                s.jira_url = Some(base);
                s.jira_email = Some("sir-bridge@example.com".into());
                s.jira_api_token = Some(Secret::new("bridge-api-token"));
                s.jira_project_key = Some("SEC".into());
                s.sir_enabled = Some(true);
                s.sir_endpoint_url = Some(endpoint);
                s.sir_poll_interval_secs = Some(1);
                s.jira_mappings_file = Some(mappings_file);
            },
            sdk,
        )
        .await;
        jira.webhooks()
            .set_target(&app.url("/webhooks/jira"), Some(SECRET_NEW));
        Deployment {
            jira,
            sir,
            app,
            _config_dir: config_dir,
        }
    }

    /// Waits until the system is at rest: Jira has delivered every webhook, the queue holds
    /// nothing, and two poll cycles have passed, so any bounce would have happened by now.
    async fn settle(&self) {
        assert!(self.jira.webhooks().wait_idle(WAIT).await, "webhooks idle");
        let queue = self.app.queue.clone();
        let idle = || {
            let queue = queue.clone();
            async move {
                let s = queue.stats().await.unwrap();
                s.ready + s.leased == 0
            }
        };
        assert!(eventually(WAIT, idle).await, "{:?}", self.app.stats().await);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(self.jira.webhooks().wait_idle(WAIT).await, "webhooks idle");
        assert!(eventually(WAIT, idle).await, "{:?}", self.app.stats().await);
        let dead = self.app.stats().await.dead;
        assert_eq!(dead, 0, "nothing dead-lettered");
    }

    /// SIR writes made by the integration since the log was last reset.
    fn sir_writes(&self) -> Vec<Operation> {
        self.sir
            .log()
            .by_access_key(sir_emulator::INTEGRATION_ACCESS_KEY_ID)
            .into_iter()
            .filter(|r| r.operation.is_write())
            .map(|r| r.operation)
            .collect()
    }

    /// Jira writes made by the integration's account since the log was last reset.
    fn jira_writes(&self) -> Vec<String> {
        self.jira
            .requests()
            .filter(|r| r.write && r.account.as_deref() == Some(CLOUD_ACCOUNT))
            .iter()
            .map(|r| r.line())
            .collect()
    }

    fn reset_logs(&self) {
        self.sir.reset_log();
        self.jira.requests().reset();
    }
}

#[tokio::test]
async fn a_case_and_its_jira_issue_stay_in_step_both_ways_without_echoes() {
    let d = Deployment::start().await;

    // SIR → Jira: the poller finds the new case, the worker creates its issue.
    let case_id = full_case(&d.sir, "Crypto-mining in two accounts");
    assert!(
        eventually(WAIT, || async {
            d.app
                .store
                .mapping_by_case(&case_id)
                .await
                .unwrap()
                .is_some()
        })
        .await,
        "the case reached Jira"
    );
    let key = d
        .app
        .store
        .mapping_by_case(&case_id)
        .await
        .unwrap()
        .unwrap()
        .issue_key;
    let issue = d.jira.issue(&key).unwrap();
    assert_eq!(issue.summary, "Crypto-mining in two accounts");
    assert_eq!(d.jira.status_of(&key).as_deref(), Some("To Do"));
    // The creation's own webhooks are echoes: at rest, SIR got no write for them.
    d.settle().await;
    assert_eq!(d.sir_writes(), Vec::<Operation>::new());
    assert_eq!(d.jira.issues().len(), 1);

    // Jira → SIR: a person moves the issue on and comments; the emulator delivers both as
    // signed webhooks to the gateway.
    d.reset_logs();
    let dana = d.jira.as_human();
    dana.move_to(&key, "In Progress").unwrap();
    dana.add_comment(&key, "Isolated i-0abc; rotating the keys now.")
        .unwrap();
    assert!(
        eventually(WAIT, || async {
            d.sir.case(&case_id).unwrap().case_status == SirStatus::DetectionAndAnalysis
                && !d.sir.comments(&case_id).is_empty()
        })
        .await,
        "status and comment reached the case: {:?} / {:?}",
        d.sir.case(&case_id).unwrap().case_status,
        d.sir.comments(&case_id)
    );
    d.settle().await;
    let comments = d.sir.comments(&case_id);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .body
            .contains("Isolated i-0abc; rotating the keys now."),
        "{}",
        comments[0].body
    );
    assert!(
        comments[0].body.contains(&key),
        "attributed: {}",
        comments[0].body
    );
    // Exactly the two writes the person's changes call for, and nothing back into Jira (the
    // case's new status already shows as In Progress; the comment came from Jira).
    assert_eq!(
        d.sir_writes(),
        vec![Operation::UpdateCaseStatus, Operation::CreateCaseComment]
    );
    assert_eq!(d.jira_writes(), Vec::<String>::new());
    assert_eq!(d.jira.comments(&key).len(), 1, "no comment mirrored back");

    // SIR → Jira again: an analyst comments on the case; one Jira comment, no SIR write back.
    d.reset_logs();
    d.sir
        .analyst()
        .add_comment(&case_id, "GuardDuty confirms the miner.")
        .unwrap();
    assert!(
        eventually(WAIT, || async { d.jira.comments(&key).len() == 2 }).await,
        "SIR comment reached Jira"
    );
    d.settle().await;
    assert_eq!(d.jira.comments(&key).len(), 2);
    assert_eq!(d.sir.comments(&case_id).len(), 2);
    assert_eq!(d.sir_writes(), Vec::<Operation>::new());
    let jira_writes = d.jira_writes();
    assert_eq!(jira_writes.len(), 1, "{jira_writes:#?}");
    assert!(jira_writes[0].contains("/comment"), "{jira_writes:#?}");

    // Attachments, both ways: a file attached in Jira is uploaded to the case once; a file
    // added to the case reaches Jira once; neither copy travels back.
    d.reset_logs();
    let evidence = br#"{"eventName":"RunInstances","sourceIPAddress":"203.0.113.7"}"#;
    dana.add_attachment(
        &key,
        "cloudtrail.json",
        "application/json",
        evidence.to_vec(),
    )
    .unwrap();
    assert!(
        eventually(WAIT, || async {
            d.sir.case(&case_id).unwrap().attachments.len() == 1
        })
        .await,
        "the Jira attachment reached the case"
    );
    d.settle().await;
    let on_case = d.sir.case(&case_id).unwrap().attachments;
    assert_eq!(on_case[0].file_name, "cloudtrail.json");
    assert_eq!(
        d.sir
            .attachment_bytes(&case_id, &on_case[0].attachment_id)
            .as_deref(),
        Some(&evidence[..])
    );
    assert_eq!(d.sir_writes(), vec![Operation::GetCaseAttachmentUploadUrl]);
    assert_eq!(d.jira_writes(), Vec::<String>::new());
    assert_eq!(d.jira.attachments(&key).len(), 1);

    crate::jira_sync::attach(&d.sir, &case_id, "memory.txt", b"xmrig --donate 0".to_vec()).await;
    d.reset_logs();
    assert!(
        eventually(WAIT, || async { d.jira.attachments(&key).len() == 2 }).await,
        "the SIR attachment reached Jira"
    );
    d.settle().await;
    assert_eq!(d.sir.case(&case_id).unwrap().attachments.len(), 2);
    assert_eq!(d.sir_writes(), Vec::<Operation>::new());
    let jira_writes = d.jira_writes();
    assert_eq!(jira_writes.len(), 1, "{jira_writes:#?}");
    assert!(jira_writes[0].contains("/attachments"), "{jira_writes:#?}");

    // Jira → SIR: Done closes the case with the closure code its resolution maps to; the
    // closure note the integration leaves on the case is not mirrored back into Jira.
    d.reset_logs();
    let path = dana.move_to(&key, "Done").unwrap();
    assert_eq!(path.len(), 2, "by way of In Review: {path:?}");
    assert!(
        eventually(WAIT, || async {
            d.sir.case(&case_id).unwrap().case_status == SirStatus::Closed
        })
        .await,
        "the case closed"
    );
    d.settle().await;
    // In Review → Post-incident Activities on the way, then the closure note and the close.
    assert_eq!(
        d.sir_writes(),
        vec![
            Operation::UpdateCaseStatus,
            Operation::CreateCaseComment,
            Operation::CloseCase
        ]
    );
    let note = d.sir.comments(&case_id).pop().unwrap();
    assert!(
        note.body.contains("Closure code: Investigation Completed"),
        "{}",
        note.body
    );
    assert_eq!(d.jira_writes(), Vec::<String>::new());
    assert_eq!(d.jira.comments(&key).len(), 2);
}

/// Case creation from Jira, opted into by a label: one case per issue, made of the issue's text
/// and the configured members; the issue is linked to it without its text being rewritten.
#[tokio::test]
async fn an_issue_that_opts_in_opens_one_case_and_keeps_its_text() {
    let d = Deployment::start_with_mappings(
        r#"
[issue_to_case.create_cases]
labels = ["sir-case"]
engagement_type = "Security Incident"
resolver_type = "Self"
impacted_accounts = ["123456789012"]
impacted_regions = ["eu-west-1"]
watchers = [{ email = "secops@example.com", name = "SecOps on call" }]
"#,
    )
    .await;
    let dana = d.jira.as_human();
    let plain = dana
        .create_issue(
            "SEC",
            "Task",
            "Printer jammed",
            Some("Not a security matter"),
        )
        .unwrap();
    let issue = dana
        .create_issue(
            "SEC",
            "Task",
            "Suspicious console logins",
            Some("Root logins from 198.51.100.23 at 03:00"),
        )
        .unwrap();
    dana.add_label(&issue.key, "sir-case").unwrap();
    assert!(
        eventually(WAIT, || async {
            d.app
                .store
                .mapping_by_issue(&issue.key)
                .await
                .unwrap()
                .is_some()
        })
        .await,
        "the labelled issue opened a case"
    );
    d.settle().await;
    let cases = d.sir.cases();
    assert_eq!(cases.len(), 1, "one case, none for the unlabelled issue");
    let case = &cases[0];
    assert_eq!(case.title, "Suspicious console logins");
    assert_eq!(case.description, "Root logins from 198.51.100.23 at 03:00");
    assert_eq!(case.impacted_accounts, ["123456789012"]);
    assert_eq!(case.watchers[0].email, "secops@example.com");
    assert!(
        d.app
            .store
            .mapping_by_issue(&plain.key)
            .await
            .unwrap()
            .is_none()
    );
    // Linked (label and property) without its text rewritten.
    let linked = d.jira.issue(&issue.key).unwrap();
    assert!(
        linked.labels.contains(&format!("aws-sir-{}", case.case_id)),
        "{:?}",
        linked.labels
    );
    assert_eq!(linked.summary, "Suspicious console logins");
    let description = linked.description.unwrap().to_adf();
    assert_eq!(
        sir_jira_bridge::event::adf::to_text(&description).trim(),
        "Root logins from 198.51.100.23 at 03:00"
    );

    // Later changes update that case; no second case.
    d.reset_logs();
    dana.edit_summary(&issue.key, "Suspicious root console logins")
        .unwrap();
    assert!(
        eventually(WAIT, || async {
            d.sir.cases()[0].title == "Suspicious root console logins"
        })
        .await
    );
    d.settle().await;
    assert_eq!(d.sir.cases().len(), 1);
    assert_eq!(d.sir_writes(), vec![Operation::UpdateCase]);
}
