//! The JSON shapes of Jira's REST answers and requests that the endpoints share.

use super::*;

/// What a reconciling search asks for: the fields the issue → case sync applies, with the
/// comments and attachments it compares. Nothing else, so pages stay small.
pub(super) const SEARCH_FIELDS: &str = "summary,description,status,resolution,labels,project,issuetype,\
                             priority,created,updated,attachment,comment";

/// The `transitions` of a transitions answer, or of an issue read with them expanded.
pub(super) fn transitions(v: &Value) -> Vec<Transition> {
    v.get("transitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some(Transition {
                id: str_at(t, "/id")?,
                name: str_at(t, "/name").unwrap_or_default(),
                to: str_at(t, "/to/name")?,
                takes_resolution: t.pointer("/fields/resolution").is_some(),
            })
        })
        .collect()
}

/// An issue's `fields.attachment` list.
pub(super) fn attachments(issue: &Value) -> Vec<JiraAttachment> {
    issue
        .pointer("/fields/attachment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(attachment)
        .collect()
}

pub(super) fn attachment(v: &Value) -> Option<JiraAttachment> {
    Some(JiraAttachment {
        id: str_at(v, "/id")?,
        filename: str_at(v, "/filename")?,
        size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        author: str_at(v, "/author/accountId").or_else(|| str_at(v, "/author/name")),
    })
}

/// Multipart form with one `file` part, built by hand so the body can be resent on a retry.
pub(super) fn multipart(file_name: &str, content_type: &str, bytes: &Bytes) -> (String, Bytes) {
    let boundary = format!("sir-jira-bridge-{}", uuid::Uuid::new_v4().simple());
    let name: String = file_name
        .chars()
        .map(|c| {
            if matches!(c, '"' | '\r' | '\n' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        Bytes::from(body),
    )
}

pub(super) fn issue_type_json(t: &IssueType) -> Value {
    match t {
        IssueType::Id(id) => json!({"id": id}),
        IssueType::Name(name) => json!({"name": name}),
    }
}
