//! The Jira emulator's admin webhooks, delivered to the real gateway: every delivery must be
//! verified, normalized and accepted, so end-to-end tests built on the emulator exercise the
//! same intake production traffic takes.

use std::time::Duration;

use jira_emulator::{AttemptOutcome, EmulatorConfig, JiraEmulator};
use sir_jira_bridge::{
    bus::EventFilter,
    event::{Event, Origin},
};

use crate::helpers::*;

#[tokio::test]
async fn emulator_deliveries_are_accepted_and_normalized_by_the_gateway() {
    let app = TestApp::spawn().await;
    let jira = JiraEmulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    jira.webhooks()
        .set_target(&app.url("/webhooks/jira"), Some(SECRET_NEW));
    jira.webhooks().duplicate_every(Some(3));

    let human = jira.as_human();
    let issue = human
        .create_issue(
            "SEC",
            "Task",
            "Suspicious login",
            Some("seen from 203.0.113.7"),
        )
        .unwrap();
    human.move_to(&issue.key, "In Progress").unwrap();
    let comment = human.add_comment(&issue.key, "rotated the key").unwrap();
    human
        .edit_comment(&issue.key, &comment.id, "rotated both keys")
        .unwrap();
    assert!(jira.webhooks().wait_idle(Duration::from_secs(10)).await);

    let deliveries = jira.webhooks().deliveries();
    assert_eq!(
        deliveries.len(),
        6,
        "created, status, 2 × comment created, 2 × comment edited"
    );
    // Jira announces each comment revision twice (comment_* and jira:issue_updated): the
    // second announcement is acknowledged as a duplicate of the first.
    let mut first_answers = Vec::new();
    for d in &deliveries {
        let statuses: Vec<_> = d.attempts.iter().map(|a| a.outcome.clone()).collect();
        match statuses[0] {
            AttemptOutcome::Status(202) => first_answers.push(202),
            AttemptOutcome::Status(200) if d.json()["comment"].is_object() => {
                first_answers.push(200)
            }
            _ => panic!("{} was not accepted: {statuses:?}", d.event),
        }
        if d.duplicated {
            assert_eq!(
                statuses[1],
                AttemptOutcome::Status(200),
                "the copy is a duplicate"
            );
        }
    }

    let events = app
        .queue
        .recent(&EventFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    first_answers.sort();
    assert_eq!(first_answers, [200, 200, 202, 202, 202, 202]);
    assert_eq!(events.len(), 4, "duplicates are not queued twice");
    let human_id = jira.human_account().account_id;
    let mut kinds = Vec::new();
    for queued in events {
        assert_eq!(queued.envelope.origin, Origin::JiraWebhook);
        match queued.envelope.event {
            Event::JiraIssueCreated(e) => {
                assert_eq!(e.issue.key, issue.key);
                assert_eq!(e.issue.summary.as_deref(), Some("Suspicious login"));
                assert_eq!(
                    e.actor.unwrap().account_id.as_deref(),
                    Some(human_id.as_str())
                );
                kinds.push("created");
            }
            Event::JiraIssueUpdated(e) => {
                assert_eq!(e.changes[0].field, "status");
                assert_eq!(e.changes[0].to_string.as_deref(), Some("In Progress"));
                assert_eq!(
                    e.issue.status.unwrap().category.as_deref(),
                    Some("indeterminate")
                );
                kinds.push("updated");
            }
            Event::JiraCommentCreated(e) => {
                assert_eq!(e.comment.id, comment.id);
                assert_eq!(
                    e.actor.unwrap().account_id.as_deref(),
                    Some(human_id.as_str())
                );
                kinds.push("comment");
            }
            Event::JiraCommentUpdated(e) => {
                assert_eq!(e.comment.body.unwrap().text, "rotated both keys");
                kinds.push("comment edited");
            }
            other => panic!("unexpected event {}", other.type_name()),
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["comment", "comment edited", "created", "updated"]);
}
