//! Recognising Jira-side events that are the echo of the integration's own writes, so the
//! issue → case sync writes nothing back for them. By identity first (the actor is the
//! integration's own Jira account), then by content (every change equals what the ledger says
//! the integration wrote, for deliveries that name no actor, such as Automation's).

use crate::{
    event::{
        Event,
        jira::{Actor, FieldChange, Issue, RichText},
    },
    sync::case_to_issue::IssueLedger,
    sync::fields::description,
};

/// The integration's own account: accountId on Cloud, user name on Data Center.
pub fn is_own_actor(actor: Option<&Actor>, own_account: &str) -> bool {
    actor.is_some_and(|a| {
        a.account_id.as_deref() == Some(own_account) || a.name.as_deref() == Some(own_account)
    })
}

/// True when `event` is the echo of the integration's own write: made by its account, or
/// changing nothing but to the values the ledger says the integration wrote.
pub fn is_own_change(event: &Event, own_account: &str, ledger: Option<&IssueLedger>) -> bool {
    match event {
        Event::JiraIssueCreated(e) | Event::JiraIssueUpdated(e) | Event::JiraIssueDeleted(e) => {
            if is_own_actor(e.actor.as_ref(), own_account) {
                return true;
            }
            let Some(ledger) = ledger else { return false };
            if matches!(event, Event::JiraIssueUpdated(_)) {
                if e.changes.is_empty() {
                    // No changelog (Automation's issue data): compare the issue as sent.
                    return e.complete && issue_matches(&e.issue, ledger);
                }
                return e.changes.iter().all(|c| change_matches(c, ledger));
            }
            false
        }
        Event::JiraCommentCreated(e)
        | Event::JiraCommentUpdated(e)
        | Event::JiraCommentDeleted(e) => {
            is_own_actor(e.actor.as_ref(), own_account)
                || is_own_actor(e.comment.update_author.as_ref(), own_account)
        }
        _ => false,
    }
}

fn change_matches(c: &FieldChange, ledger: &IssueLedger) -> bool {
    let to = c.to_string.as_deref().or(c.to.as_deref()).unwrap_or("");
    let field = c.field_id.as_deref().unwrap_or(&c.field);
    match field {
        "summary" => ledger.summary.as_deref() == Some(to),
        "status" => ledger
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(to)),
        "resolution" => ledger.resolution.as_deref() == Some(to),
        "description" => ledger.description_text.as_deref().is_some_and(|d| {
            // A changelog holds the whole description as wiki markup: its person part counts.
            let to = RichText {
                text: to.to_owned(),
                adf: None,
            };
            // An edit inside the service's part is a person's too (the next case → issue sync
            // writes that part again), though the person's part reads as written.
            description::same_text(d, &description::person_text(&to))
                && ledger.details_text.as_deref().is_none_or(|known| {
                    description::same_text(known, &description::service_text(&to))
                })
        }),
        "labels" => {
            // Only additions the integration made: `to` minus `from` is within its labels.
            let from: Vec<&str> = c
                .from_string
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            to.split_whitespace()
                .filter(|l| !from.contains(l))
                .all(|l| ledger.labels.iter().any(|o| o == l))
        }
        id if id.starts_with("customfield_") => ledger
            .custom_fields
            .get(id)
            .and_then(|v| v.as_str())
            .is_some_and(|v| v == to),
        _ => false,
    }
}

fn issue_matches(issue: &Issue, ledger: &IssueLedger) -> bool {
    let summary_ok = issue
        .summary
        .as_deref()
        .is_none_or(|s| ledger.summary.as_deref() == Some(s));
    let status_ok = issue.status.as_ref().is_none_or(|s| {
        ledger
            .status
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(&s.name))
    });
    summary_ok && status_ok && (issue.summary.is_some() || issue.status.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::jira::{Comment, CommentEvent, IssueEvent, IssueRef, Status};

    const OWN: &str = "557058:integration-bridge";

    fn ledger() -> IssueLedger {
        IssueLedger {
            case_id: "1234567890".into(),
            summary: Some("Crypto mining".into()),
            description_text: Some("Spike in EC2 usage.".into()),
            labels: vec!["aws-sir-1234567890".into(), "aws-sir".into()],
            status: Some("In Progress".into()),
            ..IssueLedger::default()
        }
    }

    fn change(field: &str, from: &str, to: &str) -> FieldChange {
        FieldChange {
            field: field.into(),
            from_string: Some(from.into()),
            to_string: Some(to.into()),
            ..FieldChange::default()
        }
    }

    fn updated(actor: Option<&str>, changes: Vec<FieldChange>) -> Event {
        Event::JiraIssueUpdated(IssueEvent {
            issue: Issue {
                key: "SEC-1".into(),
                ..Issue::default()
            },
            actor: actor.map(|a| Actor {
                account_id: Some(a.into()),
                ..Actor::default()
            }),
            changes,
            complete: true,
            ..IssueEvent::default()
        })
    }

    #[test]
    fn the_integrations_own_account_is_an_echo_whatever_it_changed() {
        let e = updated(Some(OWN), vec![change("summary", "a", "totally different")]);
        assert!(is_own_change(&e, OWN, None));
        // Data Center: users are names.
        let dc = Event::JiraIssueUpdated(IssueEvent {
            actor: Some(Actor {
                name: Some("sir-bridge".into()),
                ..Actor::default()
            }),
            ..IssueEvent::default()
        });
        assert!(is_own_change(&dc, "sir-bridge", None));
        assert!(!is_own_change(&dc, OWN, None));
    }

    #[test]
    fn a_person_changing_to_what_we_wrote_is_an_echo_anything_else_is_not() {
        let l = ledger();
        let human = Some("5b10a2844c20165700ede21g");
        for c in [
            change("summary", "old", "Crypto mining"),
            change("status", "To Do", "In Progress"),
            change("labels", "", "aws-sir aws-sir-1234567890"),
            change("description", "", "Spike in *EC2* usage"),
        ] {
            assert!(
                is_own_change(&updated(human, vec![c.clone()]), OWN, Some(&l)),
                "{c:?}"
            );
        }
        for c in [
            change("summary", "Crypto mining", "Crypto mining (contained)"),
            change("status", "In Progress", "Done"),
            change("labels", "aws-sir", "aws-sir urgent"),
            change("priority", "Medium", "High"),
        ] {
            assert!(
                !is_own_change(&updated(human, vec![c.clone()]), OWN, Some(&l)),
                "{c:?}"
            );
        }
        // One real change among echoed ones is a real change.
        let mixed = vec![
            change("summary", "old", "Crypto mining"),
            change("status", "In Progress", "Done"),
        ];
        assert!(!is_own_change(&updated(human, mixed), OWN, Some(&l)));
        // Without a ledger only identity counts.
        let c = change("summary", "old", "Crypto mining");
        assert!(!is_own_change(&updated(human, vec![c]), OWN, None));
    }

    #[test]
    fn automation_deliveries_without_changelog_compare_the_issue() {
        let l = ledger();
        let event = |summary: &str, complete: bool| {
            Event::JiraIssueUpdated(IssueEvent {
                issue: Issue {
                    key: "SEC-1".into(),
                    summary: Some(summary.into()),
                    status: Some(Status {
                        name: "In Progress".into(),
                        ..Status::default()
                    }),
                    ..Issue::default()
                },
                complete,
                ..IssueEvent::default()
            })
        };
        assert!(is_own_change(&event("Crypto mining", true), OWN, Some(&l)));
        assert!(!is_own_change(&event("Renamed", true), OWN, Some(&l)));
        // A bare key says nothing: the consumer must fetch the issue.
        assert!(!is_own_change(
            &event("Crypto mining", false),
            OWN,
            Some(&l)
        ));
    }

    #[test]
    fn comments_by_the_integration_are_echoes() {
        let comment = |author: &str| {
            Event::JiraCommentCreated(CommentEvent {
                issue: IssueRef {
                    key: "SEC-1".into(),
                    ..IssueRef::default()
                },
                comment: Comment {
                    id: "10001".into(),
                    ..Comment::default()
                },
                actor: Some(Actor {
                    account_id: Some(author.into()),
                    ..Actor::default()
                }),
                ..CommentEvent::default()
            })
        };
        assert!(is_own_change(&comment(OWN), OWN, None));
        assert!(!is_own_change(
            &comment("5b10a2844c20165700ede21g"),
            OWN,
            None
        ));
    }
}
