//! Jira deliveries (admin webhooks and Automation web requests) normalized into [`Event`]s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Event, adf};
use crate::domain::ProjectKey;

mod wire;

/// Payload of `jira.issue.*` events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssueEvent {
    pub issue: Issue,
    /// Who made the change (the webhook's `user`); absent for Automation deliveries.
    pub actor: Option<Actor>,
    /// Fields changed by this update, from the changelog; empty on create and delete.
    #[serde(default)]
    pub changes: Vec<FieldChange>,
    pub changelog_id: Option<String>,
    /// Jira's `issue_event_type_name` (`issue_created`, `issue_generic`, `issue_assigned`, …).
    pub issue_event_type: Option<String>,
    /// When Jira emitted the event, in milliseconds since the epoch.
    pub occurred_at: Option<i64>,
    /// False when the delivery named the issue but carried none of its fields (Automation
    /// `IssueId` messages): consumers must fetch the issue.
    pub complete: bool,
}

/// The issue as the delivery described it. Optional fields were absent from the payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Issue {
    pub id: Option<String>,
    pub key: String,
    pub project_key: Option<String>,
    pub summary: Option<String>,
    pub description: Option<RichText>,
    pub labels: Option<Vec<String>>,
    pub status: Option<Status>,
    pub priority: Option<String>,
    pub issue_type: Option<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Status {
    pub id: Option<String>,
    pub name: String,
    /// `new`, `indeterminate` or `done` (Jira's status category key), when sent.
    pub category: Option<String>,
}

/// Text that Jira sends either as ADF (Cloud v3) or as a plain/wiki string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RichText {
    /// Plain-text rendering (the string itself, or the ADF flattened).
    pub text: String,
    /// The ADF document, when the body was ADF.
    pub adf: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    pub account_id: Option<String>,
    /// Data Center's user name (its users have no accountId).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub display_name: Option<String>,
    /// `atlassian`, `app` or `customer`.
    pub account_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    pub field: String,
    pub field_id: Option<String>,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// Payload of `jira.comment.*` events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommentEvent {
    pub issue: IssueRef,
    pub comment: Comment,
    pub actor: Option<Actor>,
    pub occurred_at: Option<i64>,
    pub issue_event_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssueRef {
    pub id: Option<String>,
    pub key: String,
    pub project_key: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comment {
    pub id: String,
    pub body: Option<RichText>,
    pub author: Option<Actor>,
    pub update_author: Option<Actor>,
    pub created: Option<String>,
    pub updated: Option<String>,
    /// Jira Service Management visibility (`jsdPublic`).
    pub public: Option<bool>,
}

/// Why a delivery could not be normalized; the text goes back to the sender in a 400.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body is not a JSON object")]
    NotAnObject,
    #[error("unsupported webhookEvent `{0}`")]
    UnsupportedEvent(String),
    #[error("missing or invalid field `{0}`")]
    Missing(&'static str),
    #[error(
        "unknown payload shape: expected a Jira webhook (webhookEvent), an issue, or automationData.IssueId"
    )]
    UnknownShape,
}

/// Normalizes an admin-webhook body.
pub fn from_webhook(body: &[u8]) -> Result<Event, NormalizeError> {
    match wire::webhook(body) {
        Some(event) => Ok(event),
        None => lenient_webhook(body),
    }
}

/// [`from_webhook`] through a `serde_json::Value` tree: every shape, with its errors.
fn lenient_webhook(body: &[u8]) -> Result<Event, NormalizeError> {
    let value = parse_object(body)?;
    match value.get("webhookEvent") {
        Some(_) => from_webhook_value(&value),
        None => Err(NormalizeError::Missing("webhookEvent")),
    }
}

/// Normalizes an Automation "Send web request" body: the webhook shape when the rule forwards
/// it, `{"issue": …}` or a bare issue (Automation's "Issue data"), or `automationData.IssueId`
/// / `IssueId` (the key/value message the AWS sample's rules send).
pub fn from_automation(body: &[u8]) -> Result<Event, NormalizeError> {
    let value = parse_object(body)?;
    if value.get("webhookEvent").is_some() {
        return from_webhook_value(&value);
    }
    if let Some(issue) = value.get("issue").filter(|v| v.is_object()) {
        return Ok(Event::JiraIssueUpdated(issue_event(&value, issue, true)?));
    }
    if value.get("key").is_some() && value.get("fields").is_some() {
        return Ok(Event::JiraIssueUpdated(issue_event(&value, &value, true)?));
    }
    let issue_id = value
        .get("automationData")
        .and_then(|d| d.get("IssueId"))
        .or_else(|| value.get("IssueId"))
        .and_then(Value::as_str);
    if let Some(key) = issue_id {
        let project = ProjectKey::of_issue_key(key).ok_or(NormalizeError::Missing("IssueId"))?;
        return Ok(Event::JiraIssueUpdated(IssueEvent {
            issue: Issue {
                key: key.to_owned(),
                project_key: Some(project.to_string()),
                ..Issue::default()
            },
            complete: false,
            ..IssueEvent::default()
        }));
    }
    Err(NormalizeError::UnknownShape)
}

fn parse_object(body: &[u8]) -> Result<Value, NormalizeError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| NormalizeError::Json(e.to_string()))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(NormalizeError::NotAnObject)
    }
}

fn from_webhook_value(v: &Value) -> Result<Event, NormalizeError> {
    let name = str_at(v, "/webhookEvent").ok_or(NormalizeError::Missing("webhookEvent"))?;
    let issue = || v.get("issue").ok_or(NormalizeError::Missing("issue"));
    let event_type = str_at(v, "/issue_event_type_name");
    Ok(match name {
        "jira:issue_created" => Event::JiraIssueCreated(issue_event(v, issue()?, true)?),
        "jira:issue_deleted" => Event::JiraIssueDeleted(issue_event(v, issue()?, true)?),
        // A comment made through an issue update arrives as jira:issue_updated with the comment
        // attached; it is a comment event for everyone downstream.
        "jira:issue_updated" if v.get("comment").is_some_and(Value::is_object) => {
            let event = comment_event(v, issue()?)?;
            match event_type {
                Some("issue_comment_edited") => Event::JiraCommentUpdated(event),
                Some("issue_comment_deleted") => Event::JiraCommentDeleted(event),
                _ => Event::JiraCommentCreated(event),
            }
        }
        "jira:issue_updated" => Event::JiraIssueUpdated(issue_event(v, issue()?, true)?),
        "comment_created" => Event::JiraCommentCreated(comment_event(v, issue()?)?),
        "comment_updated" => Event::JiraCommentUpdated(comment_event(v, issue()?)?),
        "comment_deleted" => Event::JiraCommentDeleted(comment_event(v, issue()?)?),
        other => return Err(NormalizeError::UnsupportedEvent(truncate(other))),
    })
}

fn issue_event(root: &Value, issue: &Value, complete: bool) -> Result<IssueEvent, NormalizeError> {
    let changes = at(root, "/changelog/items")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(field_change).collect())
        .unwrap_or_default();
    Ok(IssueEvent {
        issue: issue_from_rest(issue)?,
        actor: root.get("user").and_then(actor),
        changes,
        changelog_id: at(root, "/changelog/id").and_then(id_value),
        issue_event_type: str_at(root, "/issue_event_type_name").map(str::to_owned),
        occurred_at: root.get("timestamp").and_then(Value::as_i64),
        complete,
    })
}

/// Reads an issue in Jira's REST representation, which webhooks embed unchanged: the same
/// parser serves deliveries and `GET /issue/{key}`.
pub fn issue_from_rest(issue: &Value) -> Result<Issue, NormalizeError> {
    let fields = issue.get("fields");
    let field = |name: &str| fields.and_then(|f| f.get(name)).filter(|v| !v.is_null());
    let key = issue_key(issue)?;
    Ok(Issue {
        id: id_at(issue, "/id"),
        project_key: field("project")
            .and_then(|p| str_at(p, "/key"))
            .map(str::to_owned)
            .or_else(|| ProjectKey::of_issue_key(&key).map(|k| k.to_string())),
        key,
        summary: field("summary").and_then(Value::as_str).map(str::to_owned),
        description: field("description").and_then(rich_text),
        labels: field("labels").and_then(Value::as_array).map(|labels| {
            labels
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }),
        status: field("status").and_then(status),
        priority: field("priority")
            .and_then(|p| str_at(p, "/name"))
            .map(str::to_owned),
        issue_type: field("issuetype")
            .and_then(|t| str_at(t, "/name"))
            .map(str::to_owned),
        created: field("created").and_then(Value::as_str).map(str::to_owned),
        updated: field("updated").and_then(Value::as_str).map(str::to_owned),
    })
}

/// Reads one comment of an issue in Jira's REST representation (`fields.comment.comments[]`
/// of a search, or `GET /issue/{key}/comment`) as the event a `comment_created` delivery of its
/// latest revision would have carried: that revision's author acted.
pub fn comment_from_rest(issue: &Value, comment: &Value) -> Result<CommentEvent, NormalizeError> {
    comment_event(&serde_json::json!({ "comment": comment }), issue)
}

fn comment_event(root: &Value, issue: &Value) -> Result<CommentEvent, NormalizeError> {
    let c = root
        .get("comment")
        .filter(|c| c.is_object())
        .ok_or(NormalizeError::Missing("comment"))?;
    let key = issue_key(issue)?;
    Ok(CommentEvent {
        issue: IssueRef {
            id: id_at(issue, "/id"),
            project_key: str_at(issue, "/fields/project/key")
                .map(str::to_owned)
                .or_else(|| ProjectKey::of_issue_key(&key).map(|k| k.to_string())),
            key,
        },
        comment: Comment {
            id: id_at(c, "/id").ok_or(NormalizeError::Missing("comment.id"))?,
            body: c.get("body").and_then(rich_text),
            author: c.get("author").and_then(actor),
            update_author: c.get("updateAuthor").and_then(actor),
            created: str_at(c, "/created").map(str::to_owned),
            updated: str_at(c, "/updated").map(str::to_owned),
            public: c.get("jsdPublic").and_then(Value::as_bool),
        },
        // comment_* deliveries carry no `user`; the comment's author of this revision acted.
        actor: root
            .get("user")
            .or_else(|| c.get("updateAuthor"))
            .or_else(|| c.get("author"))
            .and_then(actor),
        occurred_at: root.get("timestamp").and_then(Value::as_i64),
        issue_event_type: str_at(root, "/issue_event_type_name").map(str::to_owned),
    })
}

fn issue_key(issue: &Value) -> Result<String, NormalizeError> {
    let key = str_at(issue, "/key").ok_or(NormalizeError::Missing("issue.key"))?;
    ProjectKey::of_issue_key(key).ok_or(NormalizeError::Missing("issue.key"))?;
    Ok(key.to_owned())
}

fn status(v: &Value) -> Option<Status> {
    Some(Status {
        id: id_at(v, "/id"),
        name: str_at(v, "/name")?.to_owned(),
        category: str_at(v, "/statusCategory/key").map(str::to_owned),
    })
}

fn actor(v: &Value) -> Option<Actor> {
    if !v.is_object() {
        return None;
    }
    Some(Actor {
        account_id: str_at(v, "/accountId").map(str::to_owned),
        name: str_at(v, "/name").map(str::to_owned),
        display_name: str_at(v, "/displayName").map(str::to_owned),
        account_type: str_at(v, "/accountType").map(str::to_owned),
    })
}

fn field_change(item: &Value) -> Option<FieldChange> {
    let text = |p: &str| item.get(p).and_then(id_value);
    Some(FieldChange {
        field: str_at(item, "/field")?.to_owned(),
        field_id: text("fieldId"),
        from: text("from"),
        from_string: text("fromString"),
        to: text("to"),
        to_string: text("toString"),
    })
}

fn rich_text(v: &Value) -> Option<RichText> {
    match v {
        Value::String(s) => Some(RichText {
            text: s.clone(),
            adf: None,
        }),
        v if adf::is_document(v) => Some(RichText {
            text: adf::to_text(v),
            adf: Some(v.clone()),
        }),
        _ => None,
    }
}

/// `v.pointer(p)` without its allocations: serde_json unescapes every token into a new
/// `String` (a sixth of the webhook handler's instructions, docs/benchmarks.md); this module's
/// pointers are literals that escape nothing, so each token is looked up as it is.
fn at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    debug_assert!(!pointer.contains('~'), "{pointer}");
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(v, |v, token| match v {
            Value::Object(map) => map.get(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    at(v, pointer).and_then(Value::as_str)
}

/// Jira sends ids as strings, but some payloads carry numbers; accept both.
fn id_at(v: &Value, pointer: &str) -> Option<String> {
    at(v, pointer).and_then(id_value)
}

fn id_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    const FIXTURES: [&str; 4] = [
        include_str!("../../tests/fixtures/jira/issue_created.json"),
        include_str!("../../tests/fixtures/jira/issue_updated_status.json"),
        include_str!("../../tests/fixtures/jira/issue_commented.json"),
        include_str!("../../tests/fixtures/jira/comment_created.json"),
    ];

    /// Where the mutations below land: every field either path reads, and their parents.
    const PATHS: &[&str] = &[
        "",
        "/webhookEvent",
        "/timestamp",
        "/issue_event_type_name",
        "/user",
        "/user/accountId",
        "/user/displayName",
        "/issue",
        "/issue/id",
        "/issue/key",
        "/issue/fields",
        "/issue/fields/project",
        "/issue/fields/project/key",
        "/issue/fields/summary",
        "/issue/fields/description",
        "/issue/fields/labels",
        "/issue/fields/labels/0",
        "/issue/fields/status",
        "/issue/fields/status/name",
        "/issue/fields/status/id",
        "/issue/fields/status/statusCategory",
        "/issue/fields/priority",
        "/issue/fields/issuetype/name",
        "/issue/fields/updated",
        "/changelog",
        "/changelog/id",
        "/changelog/items",
        "/changelog/items/0",
        "/changelog/items/0/field",
        "/changelog/items/0/from",
        "/changelog/items/0/toString",
        "/comment",
        "/comment/id",
        "/comment/body",
        "/comment/author",
        "/comment/updateAuthor",
        "/comment/updated",
        "/comment/jsdPublic",
    ];

    fn replacement() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            Just(Some(json!(true))),
            Just(Some(json!(42))),
            Just(Some(json!(-7))),
            Just(Some(json!(u64::MAX))),
            Just(Some(json!(1.5))),
            Just(Some(json!("SEC-7"))),
            Just(Some(json!("not a key"))),
            Just(Some(json!("with \"quotes\" and \u{e9}"))),
            Just(Some(json!("comment_created"))),
            Just(Some(json!("jira:issue_updated"))),
            Just(Some(json!("issue_comment_edited"))),
            Just(Some(json!([]))),
            Just(Some(json!(["a", 1]))),
            Just(Some(json!({}))),
            Just(Some(json!({"name": "Done", "key": "SEC", "id": 3}))),
            Just(Some(json!({"type": "doc", "version": 1, "content": []}))),
        ]
    }

    /// Sets (or with `None` removes) the value at `pointer`, when its parent exists.
    fn mutate(root: &mut Value, pointer: &str, with: Option<Value>) {
        let Some((parent, last)) = pointer.rsplit_once('/') else {
            if let Some(v) = with {
                *root = v;
            }
            return;
        };
        match (root.pointer_mut(parent), with) {
            (Some(Value::Object(map)), Some(v)) => {
                map.insert(last.to_owned(), v);
            }
            (Some(Value::Object(map)), None) => {
                map.remove(last);
            }
            (Some(Value::Array(items)), with) => {
                if let Ok(i) = last.parse::<usize>() {
                    match with {
                        Some(v) if i < items.len() => items[i] = v,
                        None if i < items.len() => {
                            items.remove(i);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_fixtures_take_the_fast_path() {
        for fixture in FIXTURES {
            let fast = wire::webhook(fixture.as_bytes()).expect("fast path");
            assert_eq!(Ok(fast), lenient_webhook(fixture.as_bytes()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The typed fast path answers exactly what the lenient normalizer would, or stands
        /// aside: for any mix of missing, null and wrongly typed fields.
        #[test]
        fn the_fast_path_agrees_with_the_lenient_one(
            fixture in 0..FIXTURES.len(),
            mutations in prop::collection::vec((prop::sample::select(PATHS), replacement()), 0..5),
        ) {
            let mut value: Value = serde_json::from_str(FIXTURES[fixture]).unwrap();
            for (path, with) in mutations {
                mutate(&mut value, path, with);
            }
            let body = serde_json::to_vec(&value).unwrap();
            prop_assert_eq!(from_webhook(&body), lenient_webhook(&body));
        }
    }

    #[test]
    fn duplicate_keys_and_arrays_for_objects_take_the_lenient_path() {
        let duplicate = br#"{"webhookEvent":"jira:issue_created","webhookEvent":"jira:issue_deleted","issue":{"key":"SEC-1"}}"#;
        assert!(wire::webhook(duplicate).is_none());
        assert_eq!(from_webhook(duplicate), lenient_webhook(duplicate));
        let positional = br#"{"webhookEvent":"jira:issue_created","issue":["1","SEC-1",null]}"#;
        assert!(wire::webhook(positional).is_none());
        assert_eq!(
            from_webhook(positional),
            Err(NormalizeError::Missing("issue.key"))
        );
        let array = br#"["jira:issue_created", 1, null, null, {"key":"SEC-1"}]"#;
        assert_eq!(from_webhook(array), Err(NormalizeError::NotAnObject));
    }
}
