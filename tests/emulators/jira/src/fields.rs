//! Reading `fields` and `update` from create, edit and transition requests, with Jira's
//! validation rules and messages. Every problem is collected, so one 400 lists them all.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{
    adf,
    config::CustomFieldKind,
    error::{JiraError, JiraResult},
    model::{Issue, RichText},
    repr::ApiVersion,
    state::{FieldChange, NewIssue, State},
    workflow::Transition,
};

pub const NOT_ADF: &str =
    "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
pub const NOT_STRING: &str = "Operation value must be a string";
pub const COMMENT_NOT_VALID: &str = "Comment body is not valid!";

/// Collected field errors.
#[derive(Default)]
struct Errors(BTreeMap<String, String>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }
    fn absorb(&mut self, e: JiraError) {
        for (k, v) in e.errors {
            self.add(&k, v);
        }
    }
    fn finish(self) -> JiraResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            let mut e = JiraError::new(axum::http::StatusCode::BAD_REQUEST);
            e.errors = self.0;
            Err(e)
        }
    }
}

/// A rich-text value for `field`: ADF on v3, a string on v2. `null` clears.
pub fn rich_text(value: &Value, api: ApiVersion, field: &str) -> JiraResult<Option<RichText>> {
    if value.is_null() {
        return Ok(None);
    }
    match api {
        ApiVersion::V3 => {
            adf::validate(value).map_err(|_| JiraError::field(field, NOT_ADF))?;
            Ok(Some(RichText::Adf(value.clone())))
        }
        ApiVersion::V2 => match value {
            Value::String(s) => Ok(Some(RichText::Wiki(s.clone()))),
            _ => Err(JiraError::field(field, NOT_STRING)),
        },
    }
}

/// A comment body: ADF on v3, a string on v2; anything else is Jira's "not valid" 400.
pub fn comment_body(value: Option<&Value>, api: ApiVersion) -> JiraResult<RichText> {
    let invalid = || JiraError::field("comment", COMMENT_NOT_VALID);
    let value = value.ok_or_else(invalid)?;
    match api {
        ApiVersion::V3 => {
            adf::validate(value).map_err(|_| invalid())?;
            let empty = value
                .get("content")
                .and_then(Value::as_array)
                .is_none_or(|c| c.is_empty());
            if empty {
                return Err(invalid());
            }
            Ok(RichText::Adf(value.clone()))
        }
        ApiVersion::V2 => match value {
            Value::String(s) if !s.trim().is_empty() => Ok(RichText::Wiki(s.clone())),
            _ => Err(invalid()),
        },
    }
}

fn id_or_name(value: &Value) -> Option<(&str, bool)> {
    if let Some(id) = value.get("id") {
        return match id {
            Value::String(s) => Some((s.as_str(), true)),
            Value::Number(_) => None,
            _ => None,
        };
    }
    value
        .get("name")
        .and_then(Value::as_str)
        .map(|n| (n, false))
}

fn id_of(value: &Value) -> Option<String> {
    match value.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn priority(state: &State, value: &Value) -> JiraResult<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    let found = match (id_of(value), value.get("name").and_then(Value::as_str)) {
        (Some(id), _) => state.site.priority(&id).map(|p| p.id.clone()),
        (None, Some(name)) => state
            .site
            .priorities
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.id.clone()),
        _ => None,
    };
    found
        .map(Some)
        .ok_or_else(|| JiraError::field("priority", "Specify a valid priority"))
}

fn resolution(state: &State, value: &Value) -> JiraResult<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    let found = match (id_of(value), value.get("name").and_then(Value::as_str)) {
        (Some(id), _) => state.site.resolution(&id).map(|r| r.id.clone()),
        (None, Some(name)) => state
            .site
            .resolutions
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .map(|r| r.id.clone()),
        _ => None,
    };
    found
        .map(Some)
        .ok_or_else(|| JiraError::field("resolution", "Specify a valid resolution"))
}

/// A user reference: `{"accountId"}` on Cloud, `{"name"}` (or `{"key"}`) on Data Center.
fn user(state: &State, field: &str, value: &Value) -> JiraResult<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    let account = if state.site.mode.is_data_center() {
        value
            .get("name")
            .or_else(|| value.get("key"))
            .and_then(Value::as_str)
            .and_then(|n| state.accounts.iter().find(|a| a.name == n))
    } else {
        value
            .get("accountId")
            .and_then(Value::as_str)
            .and_then(|id| state.account(id))
    };
    account
        .map(|a| Some(a.account_id.clone()))
        .ok_or_else(|| JiraError::field(field, format!("Specify a valid value for {field}")))
}

fn labels(value: &Value, field: &str) -> JiraResult<Vec<String>> {
    let items = value
        .as_array()
        .ok_or_else(|| JiraError::field(field, "data was not an array"))?;
    let mut out = Vec::new();
    for item in items {
        let label = item
            .as_str()
            .ok_or_else(|| JiraError::field(field, NOT_STRING))?;
        out.push(label_value(label, field)?);
    }
    Ok(dedupe(out))
}

fn label_value(label: &str, field: &str) -> JiraResult<String> {
    if label.is_empty() || label.chars().any(char::is_whitespace) {
        return Err(JiraError::field(
            field,
            format!("The label '{label}' contains spaces which is invalid."),
        ));
    }
    if label.chars().count() > 255 {
        return Err(JiraError::field(
            field,
            "The label must not exceed 255 characters.",
        ));
    }
    Ok(label.to_owned())
}

fn dedupe(labels: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

fn summary(value: &Value) -> JiraResult<String> {
    let s = value
        .as_str()
        .ok_or_else(|| JiraError::field("summary", NOT_STRING))?;
    if s.trim().is_empty() {
        return Err(JiraError::field(
            "summary",
            "You must specify a summary of the issue.",
        ));
    }
    if s.chars().count() > 255 {
        return Err(JiraError::field(
            "summary",
            "Summary must be less than 255 characters.",
        ));
    }
    if s.contains('\n') || s.contains('\r') {
        return Err(JiraError::field(
            "summary",
            "The summary is invalid because it contains newline characters.",
        ));
    }
    Ok(s.to_owned())
}

fn custom(state: &State, id: &str, value: &Value, api: ApiVersion) -> JiraResult<Option<Value>> {
    let kind = state
        .site
        .custom_field_kind(id)
        .ok_or_else(|| JiraError::cannot_set(id))?;
    if value.is_null() {
        return Ok(None);
    }
    let ok = match kind {
        CustomFieldKind::String | CustomFieldKind::Url => value.is_string(),
        CustomFieldKind::Number => value.is_number(),
        CustomFieldKind::Labels => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        CustomFieldKind::Any => true,
        CustomFieldKind::Textarea => {
            return rich_text(value, api, id).map(|r| {
                r.map(|r| match r {
                    RichText::Adf(v) => v,
                    RichText::Wiki(s) => Value::String(s),
                })
            });
        }
    };
    if !ok {
        let message = match kind {
            CustomFieldKind::Number => "Operation value must be a number",
            CustomFieldKind::Labels => "data was not an array",
            _ => NOT_STRING,
        };
        return Err(JiraError::field(id, message));
    }
    Ok(Some(value.clone()))
}

/// One `fields` entry of an edit (or create, through `NewIssue`).
fn field_change(
    state: &State,
    name: &str,
    value: &Value,
    api: ApiVersion,
) -> JiraResult<FieldChange> {
    Ok(match name {
        "summary" => FieldChange::Summary(summary(value)?),
        "description" => FieldChange::Description(rich_text(value, api, "description")?),
        "labels" => FieldChange::Labels(if value.is_null() {
            Vec::new()
        } else {
            labels(value, "labels")?
        }),
        "priority" => FieldChange::Priority(priority(state, value)?),
        "assignee" => FieldChange::Assignee(user(state, "assignee", value)?),
        n if n.starts_with("customfield_") => {
            FieldChange::Custom(n.to_owned(), custom(state, n, value, api)?)
        }
        other => return Err(JiraError::cannot_set(other)),
    })
}

/// Applies the `update` operations of one field on top of `current` (the issue's value with
/// any earlier change of the same request applied).
fn update_ops(
    state: &State,
    issue: Option<&Issue>,
    name: &str,
    ops: &Value,
    api: ApiVersion,
    pending: &[FieldChange],
) -> JiraResult<Vec<FieldChange>> {
    let ops = ops
        .as_array()
        .ok_or_else(|| JiraError::field(name, "data was not an array"))?;
    let mut out = Vec::new();
    let is_labels =
        name == "labels" || state.site.custom_field_kind(name) == Some(CustomFieldKind::Labels);
    let mut current: Vec<String> = if name == "labels" {
        pending
            .iter()
            .rev()
            .find_map(|c| match c {
                FieldChange::Labels(l) => Some(l.clone()),
                _ => None,
            })
            .or_else(|| issue.map(|i| i.labels.clone()))
            .unwrap_or_default()
    } else {
        issue
            .and_then(|i| i.custom_fields.get(name))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    for op in ops {
        let obj = op.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
            JiraError::field(name, "Operation must be an object with a single verb")
        })?;
        let (verb, value) = obj.iter().next().expect("one entry");
        match (verb.as_str(), is_labels) {
            ("set", true) => current = labels(value, name)?,
            ("add", true) => {
                let l = label_value(
                    value
                        .as_str()
                        .ok_or_else(|| JiraError::field(name, NOT_STRING))?,
                    name,
                )?;
                if !current.contains(&l) {
                    current.push(l);
                }
            }
            ("remove", true) => {
                let l = value
                    .as_str()
                    .ok_or_else(|| JiraError::field(name, NOT_STRING))?;
                current.retain(|x| x != l);
            }
            ("set", false) => out.push(field_change(state, name, value, api)?),
            (other, _) => {
                return Err(JiraError::field(
                    name,
                    format!("Field '{name}' does not support operation '{other}'"),
                ));
            }
        }
    }
    if is_labels {
        out.push(if name == "labels" {
            FieldChange::Labels(current)
        } else {
            FieldChange::Custom(
                name.to_owned(),
                Some(Value::Array(
                    current.into_iter().map(Value::String).collect(),
                )),
            )
        });
    }
    Ok(out)
}

/// Comments requested through `update.comment[{add:{body}}]`.
fn update_comments(ops: &Value, api: ApiVersion) -> JiraResult<Vec<RichText>> {
    let ops = ops
        .as_array()
        .ok_or_else(|| JiraError::field("comment", "data was not an array"))?;
    ops.iter()
        .map(|op| comment_body(op.pointer("/add/body"), api))
        .collect()
}

fn object<'a>(
    body: &'a Value,
    key: &str,
) -> JiraResult<Option<&'a serde_json::Map<String, Value>>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(JiraError::bad_request(format!("'{key}' must be an object"))),
    }
}

/// Field edits plus comments to add, from an edit request's `fields` and `update`.
pub fn parse_edit(
    state: &State,
    issue: &Issue,
    body: &Value,
    api: ApiVersion,
) -> JiraResult<(Vec<FieldChange>, Vec<RichText>)> {
    let fields = object(body, "fields")?;
    let update = object(body, "update")?;
    let mut errors = Errors::default();
    let mut changes = Vec::new();
    let mut comments = Vec::new();
    if let Some(fields) = fields {
        for (name, value) in fields {
            if update.is_some_and(|u| u.contains_key(name)) {
                errors.add(
                    name,
                    format!("Field '{name}' cannot be set in both 'fields' and 'update'."),
                );
                continue;
            }
            match name.as_str() {
                "status" | "resolution" | "project" | "created" | "updated" | "reporter"
                | "creator" => errors.absorb(JiraError::cannot_set(name)),
                "issuetype" => match issue_type_for(state, &issue.project_key, value) {
                    Ok(t) => changes.push(FieldChange::IssueType(t)),
                    Err(e) => errors.absorb(e),
                },
                _ => match field_change(state, name, value, api) {
                    Ok(c) => changes.push(c),
                    Err(e) => errors.absorb(e),
                },
            }
        }
    }
    if let Some(update) = update {
        for (name, ops) in update {
            if name == "comment" {
                match update_comments(ops, api) {
                    Ok(c) => comments.extend(c),
                    Err(e) => errors.absorb(e),
                }
                continue;
            }
            if matches!(name.as_str(), "status" | "resolution" | "project") {
                errors.absorb(JiraError::cannot_set(name));
                continue;
            }
            match update_ops(state, Some(issue), name, ops, api, &changes) {
                Ok(c) => changes.extend(c),
                Err(e) => errors.absorb(e),
            }
        }
    }
    errors.finish()?;
    Ok((changes, comments))
}

fn issue_type_for(state: &State, project_key: &str, value: &Value) -> JiraResult<String> {
    let invalid = || JiraError::field("issuetype", "The issue type selected is invalid.");
    let project = state.site.project(project_key).ok_or_else(invalid)?;
    let (needle, by_id) = id_or_name(value)
        .map(|(n, b)| (n.to_owned(), b))
        .or_else(|| id_of(value).map(|id| (id, true)))
        .ok_or_else(|| JiraError::field("issuetype", "Specify an issue type"))?;
    project
        .issue_type_ids
        .iter()
        .filter_map(|id| state.site.issue_type(id))
        .find(|t| {
            if by_id {
                t.id == needle
            } else {
                t.name.eq_ignore_ascii_case(&needle)
            }
        })
        .map(|t| t.id.clone())
        .ok_or_else(invalid)
}

/// A create request's `fields` (and `update`), validated.
pub fn parse_create(state: &State, body: &Value, api: ApiVersion) -> JiraResult<NewIssue> {
    let fields =
        object(body, "fields")?.ok_or_else(|| JiraError::bad_request("Issue must have fields"))?;
    let update = object(body, "update")?;
    let mut errors = Errors::default();
    let mut new = NewIssue::default();

    let project = fields.get("project").and_then(|p| {
        p.get("key")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| id_of(p))
            .or_else(|| p.as_str().map(str::to_owned))
    });
    match project.as_deref().and_then(|p| state.site.project(p)) {
        Some(p) => new.project_key = p.key.clone(),
        None => errors.add("project", "Specify a valid project ID or key"),
    }
    match fields.get("issuetype") {
        None => errors.add("issuetype", "Specify an issue type"),
        Some(t) if !new.project_key.is_empty() => {
            match issue_type_for(state, &new.project_key, t) {
                Ok(id) => new.issue_type_id = id,
                Err(e) => errors.absorb(e),
            }
        }
        Some(_) => {}
    }
    match fields.get("summary") {
        None => errors.add("summary", "You must specify a summary of the issue."),
        Some(s) => match summary(s) {
            Ok(s) => new.summary = s,
            Err(e) => errors.absorb(e),
        },
    }
    let mut changes = Vec::new();
    for (name, value) in fields {
        match name.as_str() {
            "project" | "issuetype" | "summary" => {}
            "reporter" => match user(state, "reporter", value) {
                Ok(r) => new.reporter = r,
                Err(e) => errors.absorb(e),
            },
            "status" | "resolution" => errors.absorb(JiraError::cannot_set(name)),
            _ => match field_change(state, name, value, api) {
                Ok(c) => changes.push(c),
                Err(e) => errors.absorb(e),
            },
        }
    }
    if let Some(update) = update {
        for (name, ops) in update {
            match update_ops(state, None, name, ops, api, &changes) {
                Ok(c) => changes.extend(c),
                Err(e) => errors.absorb(e),
            }
        }
    }
    errors.finish()?;
    for c in changes {
        match c {
            FieldChange::Description(d) => new.description = d,
            FieldChange::Labels(l) => new.labels = l,
            FieldChange::Priority(p) => new.priority_id = p,
            FieldChange::Assignee(a) => new.assignee = a,
            FieldChange::Custom(id, Some(v)) => {
                new.custom_fields.insert(id, v);
            }
            FieldChange::Custom(_, None) => {}
            FieldChange::Summary(s) => new.summary = s,
            FieldChange::IssueType(t) => new.issue_type_id = t,
            FieldChange::Resolution(_) => {}
        }
    }
    Ok(new)
}

/// A transition request: its transition id, the screen fields it sets and comments to add.
pub struct TransitionRequest {
    pub id: String,
    pub fields: Vec<FieldChange>,
    pub comments: Vec<RichText>,
}

pub fn transition_id(body: &Value) -> JiraResult<String> {
    let t = body
        .get("transition")
        .ok_or_else(|| JiraError::bad_request("Missing 'transition' identifier"))?;
    match t.get("id") {
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(JiraError::bad_request(
            "'transition' identifier must be an integer",
        )),
        None => Err(JiraError::bad_request("Missing 'transition' identifier")),
    }
}

/// The fields of a transition request, which must be on `transition`'s screen.
pub fn parse_transition(
    state: &State,
    issue: &Issue,
    transition: &Transition,
    body: &Value,
    api: ApiVersion,
) -> JiraResult<TransitionRequest> {
    let mut errors = Errors::default();
    let mut fields = Vec::new();
    let mut comments = Vec::new();
    if let Some(f) = object(body, "fields")? {
        for (name, value) in f {
            if !transition.screen_fields.iter().any(|s| s == name) {
                errors.absorb(JiraError::cannot_set(name));
                continue;
            }
            let change = if name == "resolution" {
                resolution(state, value).map(FieldChange::Resolution)
            } else if name == "issuetype" {
                issue_type_for(state, &issue.project_key, value).map(FieldChange::IssueType)
            } else {
                field_change(state, name, value, api)
            };
            match change {
                Ok(c) => fields.push(c),
                Err(e) => errors.absorb(e),
            }
        }
    }
    if let Some(update) = object(body, "update")? {
        for (name, ops) in update {
            if name == "comment" {
                match update_comments(ops, api) {
                    Ok(c) => comments.extend(c),
                    Err(e) => errors.absorb(e),
                }
            } else if !transition.screen_fields.iter().any(|s| s == name) {
                errors.absorb(JiraError::cannot_set(name));
            } else {
                match update_ops(state, Some(issue), name, ops, api, &fields) {
                    Ok(c) => fields.extend(c),
                    Err(e) => errors.absorb(e),
                }
            }
        }
    }
    errors.finish()?;
    Ok(TransitionRequest {
        id: transition.id.clone(),
        fields,
        comments,
    })
}
