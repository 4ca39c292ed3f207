//! The fast path for admin webhooks: the body read straight into typed, borrowed structs
//! instead of a `serde_json::Value` tree (the tree was the largest part of the webhook
//! handler's time, docs/benchmarks.md).
//!
//! Strict on purpose: any value of an unexpected type, a duplicate key or a shape this path does
//! not cover yields `None`, and the caller falls back to the lenient tree-based normalizer,
//! which also words the errors. So this path only ever answers what the lenient one would (a
//! property test in the parent module holds them to it).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, de};
use serde_json::Value;

use super::{
    Actor, Comment, CommentEvent, Event, FieldChange, Issue, IssueEvent, IssueRef, Status,
    rich_text,
};
use crate::domain::ProjectKey;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Webhook<'a> {
    #[serde(rename = "webhookEvent", borrow)]
    webhook_event: Text<'a>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    issue_event_type_name: Text<'a>,
    /// Present-but-null differs from absent: the comment events fall back to the comment's
    /// authors only when `user` is absent.
    #[serde(default, deserialize_with = "present", borrow)]
    user: Option<Option<Obj<WireActor<'a>>>>,
    #[serde(borrow)]
    issue: Option<Obj<WireIssue<'a>>>,
    #[serde(borrow)]
    changelog: Option<Obj<Changelog<'a>>>,
    #[serde(borrow)]
    comment: Option<Obj<WireComment<'a>>>,
}

#[derive(Deserialize)]
struct WireIssue<'a> {
    id: Option<Id>,
    #[serde(borrow)]
    key: Text<'a>,
    #[serde(borrow)]
    fields: Option<Obj<Fields<'a>>>,
}

#[derive(Default, Deserialize)]
struct Fields<'a> {
    #[serde(borrow)]
    project: Option<Obj<Keyed<'a>>>,
    #[serde(borrow)]
    summary: Text<'a>,
    description: Option<Value>,
    #[serde(borrow)]
    labels: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    status: Option<Obj<WireStatus<'a>>>,
    #[serde(borrow)]
    priority: Option<Obj<Named<'a>>>,
    #[serde(borrow)]
    issuetype: Option<Obj<Named<'a>>>,
    #[serde(borrow)]
    created: Text<'a>,
    #[serde(borrow)]
    updated: Text<'a>,
}

#[derive(Deserialize)]
struct Keyed<'a> {
    #[serde(borrow)]
    key: Text<'a>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    name: Text<'a>,
}

#[derive(Deserialize)]
struct WireStatus<'a> {
    id: Option<Id>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(rename = "statusCategory", borrow)]
    status_category: Option<Obj<Keyed<'a>>>,
}

#[derive(Clone, Deserialize)]
struct WireActor<'a> {
    #[serde(rename = "accountId", borrow)]
    account_id: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(rename = "displayName", borrow)]
    display_name: Text<'a>,
    #[serde(rename = "accountType", borrow)]
    account_type: Text<'a>,
}

#[derive(Deserialize)]
struct Changelog<'a> {
    id: Option<Id>,
    #[serde(borrow)]
    items: Option<Vec<Obj<Item<'a>>>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow)]
    field: Text<'a>,
    #[serde(rename = "fieldId")]
    field_id: Option<Id>,
    from: Option<Id>,
    #[serde(rename = "fromString")]
    from_string: Option<Id>,
    to: Option<Id>,
    #[serde(rename = "toString")]
    to_string: Option<Id>,
}

#[derive(Deserialize)]
struct WireComment<'a> {
    id: Option<Id>,
    body: Option<Value>,
    #[serde(default, deserialize_with = "present", borrow)]
    author: Option<Option<Obj<WireActor<'a>>>>,
    #[serde(rename = "updateAuthor", default, deserialize_with = "present", borrow)]
    update_author: Option<Option<Obj<WireActor<'a>>>>,
    #[serde(borrow)]
    created: Text<'a>,
    #[serde(borrow)]
    updated: Text<'a>,
    #[serde(rename = "jsdPublic")]
    public: Option<bool>,
}

/// A JSON object read as `T`. Derived structs also accept arrays (positionally), which the
/// lenient normalizer treats as absent: refusing them here keeps the two paths in agreement.
#[derive(Clone)]
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Obj<T>, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visitor<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// An id Jira sends as a string or, in some payloads, as an integer.
struct Id(String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `Some(None)` for an explicit `null`, `None` (through `default`) when the key is absent.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The admin webhook's event, or `None` when the lenient normalizer must decide.
pub(super) fn webhook(body: &[u8]) -> Option<Event> {
    let Obj(w): Obj<Webhook> = serde_json::from_slice(body).ok()?;
    let name = w.webhook_event.as_deref()?;
    let comment_kind = match w.issue_event_type_name.as_deref() {
        Some("issue_comment_edited") => Event::JiraCommentUpdated,
        Some("issue_comment_deleted") => Event::JiraCommentDeleted,
        _ => Event::JiraCommentCreated,
    };
    Some(match name {
        "jira:issue_created" => Event::JiraIssueCreated(issue_event(w)?),
        "jira:issue_deleted" => Event::JiraIssueDeleted(issue_event(w)?),
        "jira:issue_updated" if w.comment.is_some() => comment_kind(comment_event(w)?),
        "jira:issue_updated" => Event::JiraIssueUpdated(issue_event(w)?),
        "comment_created" => Event::JiraCommentCreated(comment_event(w)?),
        "comment_updated" => Event::JiraCommentUpdated(comment_event(w)?),
        "comment_deleted" => Event::JiraCommentDeleted(comment_event(w)?),
        _ => return None,
    })
}

fn issue_event(w: Webhook) -> Option<IssueEvent> {
    let (changes, changelog_id) = match w.changelog {
        Some(Obj(c)) => (
            c.items
                .unwrap_or_default()
                .into_iter()
                .filter_map(|Obj(item)| field_change(item))
                .collect(),
            id(c.id),
        ),
        None => (Vec::new(), None),
    };
    Some(IssueEvent {
        issue: issue(w.issue?.0)?,
        actor: w.user.flatten().map(actor),
        changes,
        changelog_id,
        issue_event_type: owned(w.issue_event_type_name),
        occurred_at: w.timestamp,
        complete: true,
    })
}

fn issue(i: WireIssue) -> Option<Issue> {
    let key = valid_key(i.key)?;
    // Absent or null `fields`: every field absent, as the lenient path reads it.
    let f = i.fields.map(|Obj(f)| f).unwrap_or_default();
    Some(Issue {
        id: id(i.id),
        project_key: project_key(f.project, &key),
        summary: owned(f.summary),
        description: f.description.as_ref().and_then(rich_text),
        labels: f
            .labels
            .map(|labels| labels.into_iter().map(Cow::into_owned).collect()),
        status: f.status.and_then(|Obj(s)| {
            Some(Status {
                id: id(s.id),
                name: owned(s.name)?,
                category: s.status_category.and_then(|Obj(c)| owned(c.key)),
            })
        }),
        priority: f.priority.and_then(|Obj(p)| owned(p.name)),
        issue_type: f.issuetype.and_then(|Obj(t)| owned(t.name)),
        created: owned(f.created),
        updated: owned(f.updated),
        key,
    })
}

fn comment_event(w: Webhook) -> Option<CommentEvent> {
    let Obj(c) = w.comment?;
    let Obj(i) = w.issue?;
    let key = valid_key(i.key)?;
    // The first of these present acted, even when it is null (as the lenient path reads it).
    let acted = w
        .user
        .or_else(|| c.update_author.clone())
        .or_else(|| c.author.clone())
        .flatten();
    Some(CommentEvent {
        issue: IssueRef {
            id: id(i.id),
            project_key: project_key(i.fields.and_then(|Obj(f)| f.project), &key),
            key,
        },
        comment: Comment {
            id: c.id?.0,
            body: c.body.as_ref().and_then(rich_text),
            author: c.author.flatten().map(actor),
            update_author: c.update_author.flatten().map(actor),
            created: owned(c.created),
            updated: owned(c.updated),
            public: c.public,
        },
        actor: acted.map(actor),
        occurred_at: w.timestamp,
        issue_event_type: owned(w.issue_event_type_name),
    })
}

/// The project's key as sent, else the one the issue key names.
fn project_key(project: Option<Obj<Keyed>>, issue_key: &str) -> Option<String> {
    project
        .and_then(|Obj(p)| owned(p.key))
        .or_else(|| ProjectKey::of_issue_key(issue_key).map(|k| k.to_string()))
}

fn valid_key(key: Text) -> Option<String> {
    let key = key?;
    ProjectKey::of_issue_key(&key)?;
    Some(key.into_owned())
}

fn field_change(item: Item) -> Option<FieldChange> {
    Some(FieldChange {
        field: owned(item.field)?,
        field_id: id(item.field_id),
        from: id(item.from),
        from_string: id(item.from_string),
        to: id(item.to),
        to_string: id(item.to_string),
    })
}

fn actor(Obj(a): Obj<WireActor>) -> Actor {
    Actor {
        account_id: owned(a.account_id),
        name: owned(a.name),
        display_name: owned(a.display_name),
        account_type: owned(a.account_type),
    }
}

fn id(id: Option<Id>) -> Option<String> {
    id.map(|Id(id)| id)
}

fn owned(text: Text) -> Option<String> {
    text.map(Cow::into_owned)
}
