//! The items of AWS's sample integration's DynamoDB table (`IncidentsTable` in its common stack),
//! as its code writes them:
//!
//! - a case: `PK = Case#<caseId>`, `SK = latest`, `incidentDetails` (the case as a JSON
//!   string), `jiraIssueId` (the Jira issue *key*, absent until the issue exists) and
//!   `jiraIssueDetails` (a JSON string snapshot of the issue);
//! - an issue opened in Jira: `PK = Jira#<issueKey>`, `SK = latest`, `jiraIssueId`,
//!   `jiraIssueDetails`;
//! - other integrations' items share the table: other sort keys (`slack_update_flag`) and
//!   other prefixes (`ServiceNow#…`).
//!
//! Only the keys and `jiraIssueId` are relied on: the JSON snapshots are the sample's copies of
//! state that SIR and Jira hold first-hand, and the migration reads it there.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::sir::CaseId;

/// One item of the sample's table, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleItem {
    /// `Case#<id>/latest`; `issue_key` is `None` until the sample created the issue.
    Case {
        case_id: CaseId,
        issue_key: Option<String>,
    },
    /// `Jira#<key>/latest`: an issue opened in Jira.
    Jira { issue_key: String },
    /// Another integration's item, or another record of this one: not ours to read.
    Foreign { pk: String, sk: String },
    /// A `Case#`/`Jira#` item that does not read as the sample writes it.
    Malformed {
        pk: String,
        sk: String,
        reason: String,
    },
}

const CASE_PREFIX: &str = "Case#";
const JIRA_PREFIX: &str = "Jira#";
const LATEST: &str = "latest";

impl SampleItem {
    pub fn parse(item: &HashMap<String, AttributeValue>) -> SampleItem {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let (Some(pk), Some(sk)) = (text("PK"), text("SK")) else {
            // The table's keys are PK and SK, both strings: an item without them is from
            // another table layout altogether.
            return SampleItem::Malformed {
                pk: text("PK").unwrap_or_default(),
                sk: text("SK").unwrap_or_default(),
                reason: "no string PK and SK (is this the sample's IncidentsTable?)".into(),
            };
        };
        let malformed = |reason: String| SampleItem::Malformed {
            pk: pk.clone(),
            sk: sk.clone(),
            reason,
        };
        let is_ours = pk.starts_with(CASE_PREFIX) || pk.starts_with(JIRA_PREFIX);
        if !is_ours || sk != LATEST {
            return SampleItem::Foreign { pk, sk };
        }
        let issue_key = match item.get("jiraIssueId") {
            None | Some(AttributeValue::Null(_)) => None,
            Some(AttributeValue::S(key)) if is_issue_key(key.trim()) => Some(key.trim().to_owned()),
            Some(AttributeValue::S(key)) => {
                return malformed(format!("jiraIssueId `{key}` is not a Jira issue key"));
            }
            Some(other) => {
                return malformed(format!("jiraIssueId is not a string: {other:?}"));
            }
        };
        if let Some(id) = pk.strip_prefix(CASE_PREFIX) {
            return match CaseId::parse(id) {
                Ok(case_id) => SampleItem::Case { case_id, issue_key },
                Err(e) => malformed(e.to_string()),
            };
        }
        let key = pk.strip_prefix(JIRA_PREFIX).unwrap_or_default();
        match (is_issue_key(key), issue_key) {
            (false, _) => malformed(format!("`{key}` is not a Jira issue key")),
            (true, Some(other)) if other != key => {
                malformed(format!("jiraIssueId `{other}` differs from the key in PK"))
            }
            (true, _) => SampleItem::Jira {
                issue_key: key.to_owned(),
            },
        }
    }
}

/// `PROJ-123`: a project key (a letter, then letters, digits or underscores), a dash, a number.
pub fn is_issue_key(key: &str) -> bool {
    let Some((project, number)) = key.rsplit_once('-') else {
        return false;
    };
    let mut chars = project.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn the_samples_items_are_told_apart() {
        let case = item(&[
            ("PK", "Case#1234567890"),
            ("SK", "latest"),
            ("jiraIssueId", "SEC-42"),
            ("incidentDetails", "{}"),
        ]);
        assert_eq!(
            SampleItem::parse(&case),
            SampleItem::Case {
                case_id: CaseId::parse("1234567890").unwrap(),
                issue_key: Some("SEC-42".into())
            }
        );
        let no_issue = item(&[("PK", "Case#1234567890"), ("SK", "latest")]);
        assert!(matches!(
            SampleItem::parse(&no_issue),
            SampleItem::Case {
                issue_key: None,
                ..
            }
        ));
        let jira = item(&[
            ("PK", "Jira#SEC-7"),
            ("SK", "latest"),
            ("jiraIssueId", "SEC-7"),
        ]);
        assert_eq!(
            SampleItem::parse(&jira),
            SampleItem::Jira {
                issue_key: "SEC-7".into()
            }
        );
        for (pk, sk) in [
            ("Case#1234567890", "slack_update_flag"),
            ("ServiceNow#INC0010001", "latest"),
        ] {
            assert!(
                matches!(
                    SampleItem::parse(&item(&[("PK", pk), ("SK", sk)])),
                    SampleItem::Foreign { .. }
                ),
                "{pk}/{sk}"
            );
        }
    }

    #[test]
    fn malformed_items_say_why() {
        for (pairs, why) in [
            (
                vec![("PK", "Case#12"), ("SK", "latest")],
                "not a SIR case id",
            ),
            (
                vec![
                    ("PK", "Case#1234567890"),
                    ("SK", "latest"),
                    ("jiraIssueId", "10042 "),
                ],
                "not a Jira issue key",
            ),
            (
                vec![
                    ("PK", "Jira#SEC-7"),
                    ("SK", "latest"),
                    ("jiraIssueId", "SEC-8"),
                ],
                "differs",
            ),
            (vec![("pk", "x")], "PK and SK"),
        ] {
            match SampleItem::parse(&item(&pairs)) {
                SampleItem::Malformed { reason, .. } => assert!(reason.contains(why), "{reason}"),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
        let mut number = item(&[("PK", "Case#1234567890"), ("SK", "latest")]);
        number.insert("jiraIssueId".into(), AttributeValue::N("42".into()));
        assert!(matches!(
            SampleItem::parse(&number),
            SampleItem::Malformed { .. }
        ));
    }

    #[test]
    fn issue_keys() {
        assert!(is_issue_key("SEC-1") && is_issue_key("A1_B-20"));
        for bad in ["SEC", "-1", "1SEC-2", "SEC-", "SEC-1a", "SE C-1"] {
            assert!(!is_issue_key(bad), "{bad}");
        }
    }
}
