//! The records that tie one side's comment, attachment or issue to the other's, kept in the
//! store's link table (group = the case id), typed: each kind is a struct with its kind name,
//! read and written through [`get`], [`all`] and [`put`]. The JSON they store is the shape the
//! untyped records had, so records written before read the same.
//!
//! A record that does not parse as its kind is an error ([`StoreError::Corrupt`]): a link
//! decides whether something is copied again, and guessing could copy it twice.

use std::collections::HashSet;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::store::{StateStore, StoreError};

/// A link kind: its name in the store and the shape of its value.
pub trait LinkRecord: Serialize + DeserializeOwned {
    const KIND: &'static str;
}

/// Whether the copy a link stands for is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Recorded before the copy; after a crash, the other side is searched before copying.
    Pending,
    Done,
}

/// Which side a linked item was first written on (the store's `Side`, serialized the same).
pub use crate::store::Side;

/// Key: the SIR comment id. `origin: sir` is a SIR comment mirrored to Jira by the case → issue
/// sync; `origin: jira` a SIR comment the issue → case sync created from a Jira comment (never
/// mirrored back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentLink {
    pub state: LinkState,
    pub origin: Side,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_comment_id: Option<String>,
    /// The body last written to the other side (SHA-256 hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Jira's `updated` of the revision last written to SIR (`origin: jira`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

impl LinkRecord for CommentLink {
    const KIND: &'static str = "comment";
}

/// Key: the Jira comment id. The reverse lookup of [`CommentLink`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraCommentLink {
    pub sir_comment_id: String,
    pub origin: Side,
}

impl LinkRecord for JiraCommentLink {
    const KIND: &'static str = "jira-comment";
}

/// Key: the SIR attachment id. Copied to Jira as `jira_attachment_id`, or, too large, stood for
/// by the comment `jira_comment_id`; `origin: jira` for a file the issue → case sync uploaded
/// (never copied back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentLink {
    pub state: LinkState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Side>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_attachment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_comment_id: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub too_large: bool,
}

impl LinkRecord for AttachmentLink {
    const KIND: &'static str = "attachment";
}

impl AttachmentLink {
    pub fn pending() -> AttachmentLink {
        AttachmentLink {
            state: LinkState::Pending,
            origin: None,
            jira_attachment_id: None,
            jira_comment_id: None,
            too_large: false,
        }
    }
}

/// Key: the Jira attachment id: a Jira attachment the issue → case sync uploaded to the case
/// (the case → issue sync never copies a SIR attachment of that name back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraAttachmentLink {
    pub state: LinkState,
    pub file_name: String,
    /// Over the size limit: the case got a comment naming it instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub too_large: bool,
}

impl LinkRecord for JiraAttachmentLink {
    const KIND: &'static str = "jira-attachment";
}

/// Key: `issue`. The claim on creating the case's issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueClaim {
    /// The attempt holding it.
    pub owner: String,
    pub state: ClaimState,
    pub at_ms: i64,
}

impl LinkRecord for IssueClaim {
    const KIND: &'static str = "issue-claim";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimState {
    /// An attempt is creating the issue, or died doing so: the issue may exist.
    Creating,
    /// The creation failed in a way that may have created it (time-out, 5xx).
    Uncertain,
    /// Jira refused the creation: no issue exists through this claim.
    Released,
}

/// A link with its key and its compare-and-set version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked<T> {
    pub key: String,
    pub value: T,
    /// 1 when created, incremented by every write.
    pub version: u64,
}

fn parse<T: LinkRecord>(group: &str, key: &str, value: serde_json::Value) -> Result<T, StoreError> {
    serde_json::from_value(value)
        .map_err(|e| StoreError::Corrupt(format!("{} link {key} of case {group}: {e}", T::KIND)))
}

pub async fn get<T: LinkRecord>(
    store: &dyn StateStore,
    group: &str,
    key: &str,
) -> Result<Option<Linked<T>>, StoreError> {
    match store.link(T::KIND, group, key).await? {
        Some(link) => Ok(Some(Linked {
            value: parse(group, key, link.value)?,
            key: link.key,
            version: link.version,
        })),
        None => Ok(None),
    }
}

/// Every link of the kind in `group`, ordered by key.
pub async fn all<T: LinkRecord>(
    store: &dyn StateStore,
    group: &str,
) -> Result<Vec<Linked<T>>, StoreError> {
    store
        .links(T::KIND, group)
        .await?
        .into_iter()
        .map(|link| {
            Ok(Linked {
                value: parse(group, &link.key, link.value)?,
                key: link.key,
                version: link.version,
            })
        })
        .collect()
}

/// Writes the link: created when `expected` is `None` (false if it exists), else replaced when
/// its version is still `expected` (false if another write came first).
pub async fn put<T: LinkRecord>(
    store: &dyn StateStore,
    group: &str,
    key: &str,
    value: &T,
    expected: Option<u64>,
) -> Result<bool, StoreError> {
    let value = serde_json::to_value(value).expect("a link serializes");
    store.put_link(T::KIND, group, key, &value, expected).await
}

/// The Jira ids of the case's SIR attachments copied to Jira: files never uploaded back.
pub async fn copies_of_sir_attachments(
    store: &dyn StateStore,
    case_id: &str,
) -> Result<HashSet<String>, StoreError> {
    Ok(all::<AttachmentLink>(store, case_id)
        .await?
        .into_iter()
        .filter_map(|l| l.value.jira_attachment_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The records the untyped code wrote read as their kinds, and write back the same JSON.
    #[test]
    fn records_written_before_read_the_same() {
        let cases = [
            (
                "comment",
                json!({"state": "done", "origin": "sir", "jira_comment_id": "10001", "hash": "ab"}),
            ),
            ("comment", json!({"state": "pending", "origin": "sir"})),
            (
                "comment",
                json!({"state": "done", "origin": "jira", "jira_comment_id": "7", "hash": "cd", "revision": "2026-12-07T10:00:00.000+0000"}),
            ),
            ("attachment", json!({"state": "done", "origin": "jira"})),
            ("attachment", json!({"state": "pending"})),
            (
                "attachment",
                json!({"state": "done", "jira_attachment_id": "10500"}),
            ),
            (
                "attachment",
                json!({"state": "done", "jira_comment_id": "10002", "too_large": true}),
            ),
            (
                "jira-attachment",
                json!({"state": "done", "file_name": "a.log", "too_large": true}),
            ),
            (
                "jira-attachment",
                json!({"state": "pending", "file_name": "a.log"}),
            ),
            (
                "jira-comment",
                json!({"sir_comment_id": "c-1", "origin": "jira"}),
            ),
            (
                "issue-claim",
                json!({"owner": "o", "state": "uncertain", "at_ms": 5}),
            ),
        ];
        fn round<T: LinkRecord>(v: &serde_json::Value) -> serde_json::Value {
            serde_json::to_value(parse::<T>("g", "k", v.clone()).unwrap()).unwrap()
        }
        for (kind, v) in cases {
            let back = match kind {
                "comment" => round::<CommentLink>(&v),
                "attachment" => round::<AttachmentLink>(&v),
                "jira-attachment" => round::<JiraAttachmentLink>(&v),
                "jira-comment" => round::<JiraCommentLink>(&v),
                _ => round::<IssueClaim>(&v),
            };
            assert_eq!(back, v, "{kind}");
        }
        // The old writer stored an absent revision as null.
        let old = json!({"state": "done", "origin": "jira", "jira_comment_id": "7", "hash": "cd", "revision": null});
        assert_eq!(parse::<CommentLink>("g", "k", old).unwrap().revision, None);
    }

    #[test]
    fn a_record_of_another_shape_is_corrupt_not_guessed() {
        let err = parse::<CommentLink>("123", "c-9", json!({"state": "maybe"})).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("comment link c-9 of case 123")),
            "{err}"
        );
    }
}
