//! How entities look on the wire: the JSON Jira returns for users, statuses, issues, comments,
//! attachments and transitions, in the v2 (wiki strings) or v3 (ADF) representation.

use serde_json::{Map, Value, json};
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

use crate::{
    config::CustomFieldKind,
    model::{Attachment, ChangeGroup, Comment, Issue, RichText},
    site::{IssueType, Named, Project},
    state::State,
    workflow::{Status, Transition, Workflow},
};

/// Which REST API version a representation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V2,
    V3,
}

impl ApiVersion {
    pub fn number(self) -> &'static str {
        match self {
            ApiVersion::V2 => "2",
            ApiVersion::V3 => "3",
        }
    }
}

/// How rich text is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RichFormat {
    Adf,
    Wiki,
}

#[derive(Debug, Clone, Copy)]
pub struct Repr {
    pub api: ApiVersion,
    pub rich: RichFormat,
}

impl Repr {
    pub fn for_api(api: ApiVersion) -> Self {
        Self {
            api,
            rich: match api {
                ApiVersion::V2 => RichFormat::Wiki,
                ApiVersion::V3 => RichFormat::Adf,
            },
        }
    }

    pub fn rich(self, text: &RichText) -> Value {
        match self.rich {
            RichFormat::Adf => text.to_adf(),
            RichFormat::Wiki => Value::String(text.to_wiki()),
        }
    }
}

const JIRA_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000");

/// Jira's timestamp format, always in UTC: `2026-11-26T14:00:00.123+0000`.
pub fn jira_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(JIRA_TIME)
        .expect("formattable")
}

/// Field ids in the order `*all` lists them.
pub const SYSTEM_FIELDS: &[(&str, &str)] = &[
    ("summary", "Summary"),
    ("description", "Description"),
    ("issuetype", "Issue Type"),
    ("project", "Project"),
    ("status", "Status"),
    ("resolution", "Resolution"),
    ("resolutiondate", "Resolved"),
    ("priority", "Priority"),
    ("labels", "Labels"),
    ("assignee", "Assignee"),
    ("reporter", "Reporter"),
    ("creator", "Creator"),
    ("created", "Created"),
    ("updated", "Updated"),
    ("attachment", "Attachment"),
    ("comment", "Comment"),
];

/// Which fields to render, from Jira's `fields` parameter (`*all`, `*navigable`, `-x`, names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelection {
    all: bool,
    navigable: bool,
    include: Vec<String>,
    exclude: Vec<String>,
}

impl FieldSelection {
    pub fn all() -> Self {
        Self {
            all: true,
            navigable: false,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }

    pub fn navigable() -> Self {
        Self {
            all: false,
            navigable: true,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }

    pub fn none() -> Self {
        Self {
            all: false,
            navigable: false,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }

    /// Parses the values of (possibly repeated, comma separated) `fields` parameters; with no
    /// values, `default` applies.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>, default: Self) -> Self {
        let mut sel = Self::none();
        let mut any = false;
        for item in values
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            any = true;
            match item {
                "*all" => sel.all = true,
                "*navigable" => sel.navigable = true,
                "*none" => {}
                other => match other.strip_prefix('-') {
                    Some(excluded) => sel.exclude.push(excluded.to_owned()),
                    None => sel.include.push(other.to_owned()),
                },
            }
        }
        if !any {
            return default;
        }
        // Only exclusions: they narrow the default set.
        if !sel.all && !sel.navigable && sel.include.is_empty() {
            let mut d = default;
            d.exclude.extend(sel.exclude);
            return d;
        }
        sel
    }

    pub fn wants(&self, field: &str) -> bool {
        if self.exclude.iter().any(|e| e == field) {
            return false;
        }
        self.all
            || (self.navigable && field != "comment")
            || self.include.iter().any(|i| i == field)
    }

    /// True when nothing beyond `id`/`key` is asked for (the cheapest search pages).
    pub fn is_minimal(&self) -> bool {
        !self.all && !self.navigable && self.include.iter().all(|i| i == "id" || i == "key")
    }
}

/// Options of one issue representation.
#[derive(Debug, Clone)]
pub struct IssueView {
    pub repr: Repr,
    pub fields: FieldSelection,
    pub expand: Vec<String>,
    pub properties: Vec<String>,
}

impl IssueView {
    pub fn expands(&self, what: &str) -> bool {
        self.expand.iter().any(|e| e == what)
    }
}

pub fn parse_list<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

impl State {
    fn base(&self) -> &str {
        &self.site.base_url
    }

    pub fn user_json(&self, account_id: &str, repr: Repr) -> Value {
        let base = self.base();
        let api = repr.api.number();
        let Some(a) = self.account(account_id) else {
            return json!({"accountId": account_id, "active": false, "displayName": "Former user"});
        };
        let avatars = json!({
            "48x48": format!("{base}/secure/useravatar?size=large&ownerId={}", a.name),
            "24x24": format!("{base}/secure/useravatar?size=small&ownerId={}", a.name),
            "16x16": format!("{base}/secure/useravatar?size=xsmall&ownerId={}", a.name),
            "32x32": format!("{base}/secure/useravatar?size=medium&ownerId={}", a.name),
        });
        if self.site.mode.is_data_center() {
            json!({
                "self": format!("{base}/rest/api/{api}/user?username={}", a.name),
                "name": a.name,
                "key": a.name,
                "emailAddress": a.email,
                "avatarUrls": avatars,
                "displayName": a.display_name,
                "active": a.active,
                "timeZone": "Etc/UTC",
            })
        } else {
            json!({
                "self": format!("{base}/rest/api/{api}/user?accountId={}", a.account_id),
                "accountId": a.account_id,
                "emailAddress": a.email,
                "avatarUrls": avatars,
                "displayName": a.display_name,
                "active": a.active,
                "timeZone": "Etc/UTC",
                "accountType": a.account_type,
            })
        }
    }

    pub fn status_json(&self, status: &Status, repr: Repr) -> Value {
        let base = self.base();
        let api = repr.api.number();
        let c = status.category;
        json!({
            "self": format!("{base}/rest/api/{api}/status/{}", status.id),
            "description": "",
            "iconUrl": format!("{base}/images/icons/statuses/generic.png"),
            "name": status.name,
            "untranslatedName": status.name,
            "id": status.id,
            "statusCategory": {
                "self": format!("{base}/rest/api/{api}/statuscategory/{}", c.id()),
                "id": c.id(),
                "key": c.key(),
                "colorName": c.color(),
                "name": c.name(),
            }
        })
    }

    pub fn issue_type_json(&self, t: &IssueType, repr: Repr) -> Value {
        let base = self.base();
        json!({
            "self": format!("{base}/rest/api/{}/issuetype/{}", repr.api.number(), t.id),
            "id": t.id,
            "description": "",
            "iconUrl": format!("{base}/images/icons/issuetypes/task.svg"),
            "name": t.name,
            "untranslatedName": t.name,
            "subtask": t.subtask,
            "hierarchyLevel": if t.subtask { -1 } else { 0 },
        })
    }

    pub fn priority_json(&self, p: &Named, repr: Repr) -> Value {
        let base = self.base();
        json!({
            "self": format!("{base}/rest/api/{}/priority/{}", repr.api.number(), p.id),
            "iconUrl": format!("{base}/images/icons/priorities/{}.svg", p.name.to_lowercase()),
            "name": p.name,
            "id": p.id,
        })
    }

    pub fn resolution_json(&self, r: &Named, repr: Repr) -> Value {
        json!({
            "self": format!("{}/rest/api/{}/resolution/{}", self.base(), repr.api.number(), r.id),
            "id": r.id,
            "description": r.description,
            "name": r.name,
        })
    }

    pub fn project_ref_json(&self, p: &Project, repr: Repr) -> Value {
        let base = self.base();
        json!({
            "self": format!("{base}/rest/api/{}/project/{}", repr.api.number(), p.id),
            "id": p.id,
            "key": p.key,
            "name": p.name,
            "projectTypeKey": "software",
            "simplified": false,
            "avatarUrls": {"48x48": format!("{base}/secure/projectavatar?pid={}", p.id)},
        })
    }

    pub fn project_json(&self, p: &Project, repr: Repr) -> Value {
        let mut v = self.project_ref_json(p, repr);
        let types: Vec<Value> = p
            .issue_type_ids
            .iter()
            .filter_map(|id| self.site.issue_type(id))
            .map(|t| self.issue_type_json(t, repr))
            .collect();
        let obj = v.as_object_mut().expect("object");
        obj.insert("description".into(), json!(""));
        obj.insert("lead".into(), self.user_json(&p.lead, repr));
        obj.insert("issueTypes".into(), Value::Array(types));
        obj.insert("style".into(), json!("classic"));
        obj.insert("isPrivate".into(), json!(false));
        obj.insert("assigneeType".into(), json!("UNASSIGNED"));
        v
    }

    pub fn issue_self(&self, issue_id: &str, repr: Repr) -> String {
        format!(
            "{}/rest/api/{}/issue/{}",
            self.base(),
            repr.api.number(),
            issue_id
        )
    }

    pub fn comment_json(&self, c: &Comment, repr: Repr) -> Value {
        let mut v = json!({
            "self": format!("{}/comment/{}", self.issue_self(&c.issue_id, repr), c.id),
            "id": c.id,
            "author": self.user_json(&c.author, repr),
            "body": repr.rich(&c.body),
            "updateAuthor": self.user_json(&c.update_author, repr),
            "created": jira_time(c.created),
            "updated": jira_time(c.updated),
            "jsdPublic": true,
        });
        if let Some(vis) = &c.visibility {
            v["visibility"] = vis.clone();
        }
        v
    }

    pub fn attachment_json(&self, a: &Attachment, repr: Repr) -> Value {
        let base = self.base();
        let api = repr.api.number();
        let content = if self.site.mode.is_data_center() {
            format!("{base}/secure/attachment/{}/{}", a.id, a.filename)
        } else {
            format!("{base}/rest/api/3/attachment/content/{}", a.id)
        };
        json!({
            "self": format!("{base}/rest/api/{api}/attachment/{}", a.id),
            "id": a.id,
            "filename": a.filename,
            "author": self.user_json(&a.author, repr),
            "created": jira_time(a.created),
            "size": a.content.len(),
            "mimeType": a.mime_type,
            "content": content,
        })
    }

    pub fn changelog_group_json(&self, g: &ChangeGroup, repr: Repr) -> Value {
        json!({
            "id": g.id,
            "author": self.user_json(&g.author, repr),
            "created": jira_time(g.created),
            "items": g.items.iter().map(|i| json!({
                "field": i.field,
                "fieldtype": i.fieldtype,
                "fieldId": i.field_id,
                "from": i.from,
                "fromString": i.from_string,
                "to": i.to,
                "toString": i.to_string,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn transition_json(
        &self,
        t: &Transition,
        workflow: &Workflow,
        repr: Repr,
        with_fields: bool,
    ) -> Value {
        let to = workflow.status(&t.to).expect("compiled");
        let mut v = json!({
            "id": t.id,
            "name": t.name,
            "to": self.status_json(to, repr),
            "hasScreen": !t.screen_fields.is_empty(),
            "isGlobal": t.is_global(),
            "isInitial": false,
            "isAvailable": true,
            "isConditional": false,
            "isLooped": false,
        });
        if with_fields {
            let mut fields = Map::new();
            for f in &t.screen_fields {
                if f == "resolution" {
                    fields.insert("resolution".into(), json!({
                        "required": false,
                        "schema": {"type": "resolution", "system": "resolution"},
                        "name": "Resolution",
                        "key": "resolution",
                        "operations": ["set"],
                        "allowedValues": self.site.resolutions.iter().map(|r| self.resolution_json(r, repr)).collect::<Vec<_>>(),
                    }));
                } else {
                    fields.insert(
                        f.clone(),
                        json!({
                            "required": false,
                            "name": self.field_name(f),
                            "key": f,
                            "operations": ["set"],
                        }),
                    );
                }
            }
            v["fields"] = Value::Object(fields);
        }
        v
    }

    pub fn field_name(&self, id: &str) -> String {
        SYSTEM_FIELDS
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, n)| (*n).to_owned())
            .or_else(|| self.site.custom_field(id).map(|c| c.name.clone()))
            .unwrap_or_else(|| id.to_owned())
    }

    pub fn names_json(&self) -> Value {
        let mut names = Map::new();
        for (id, name) in SYSTEM_FIELDS {
            names.insert((*id).into(), json!(name));
        }
        for cf in &self.site.custom_fields {
            names.insert(cf.id.clone(), json!(cf.name));
        }
        Value::Object(names)
    }

    fn custom_value_json(&self, id: &str, value: &Value, repr: Repr) -> Value {
        if self.site.custom_field_kind(id) == Some(CustomFieldKind::Textarea) {
            let text = match value {
                Value::String(s) => RichText::Wiki(s.clone()),
                other => RichText::Adf(other.clone()),
            };
            return repr.rich(&text);
        }
        value.clone()
    }

    /// The `fields` object of an issue.
    pub fn issue_fields_json(
        &self,
        issue: &Issue,
        sel: &FieldSelection,
        repr: Repr,
    ) -> Map<String, Value> {
        let mut f = Map::new();
        let project = self.site.project(&issue.project_key);
        let user = |id: &Option<String>| match id {
            Some(id) => self.user_json(id, repr),
            None => Value::Null,
        };
        for (id, _) in SYSTEM_FIELDS {
            if !sel.wants(id) {
                continue;
            }
            let value = match *id {
                "summary" => json!(issue.summary),
                "description" => issue
                    .description
                    .as_ref()
                    .map(|d| repr.rich(d))
                    .unwrap_or(Value::Null),
                "issuetype" => self
                    .site
                    .issue_type(&issue.issue_type_id)
                    .map(|t| self.issue_type_json(t, repr))
                    .unwrap_or(Value::Null),
                "project" => project
                    .map(|p| self.project_ref_json(p, repr))
                    .unwrap_or(Value::Null),
                "status" => self
                    .site
                    .status(&issue.status_id)
                    .map(|s| self.status_json(s, repr))
                    .unwrap_or(Value::Null),
                "resolution" => issue
                    .resolution_id
                    .as_ref()
                    .and_then(|r| self.site.resolution(r))
                    .map(|r| self.resolution_json(r, repr))
                    .unwrap_or(Value::Null),
                "resolutiondate" => issue
                    .resolution_date
                    .map(|t| json!(jira_time(t)))
                    .unwrap_or(Value::Null),
                "priority" => issue
                    .priority_id
                    .as_ref()
                    .and_then(|p| self.site.priority(p))
                    .map(|p| self.priority_json(p, repr))
                    .unwrap_or(Value::Null),
                "labels" => json!(issue.labels),
                "assignee" => user(&issue.assignee),
                "reporter" => user(&Some(issue.reporter.clone())),
                "creator" => user(&Some(issue.creator.clone())),
                "created" => json!(jira_time(issue.created)),
                "updated" => json!(jira_time(issue.updated)),
                "attachment" => Value::Array(
                    self.attachments_of(issue)
                        .into_iter()
                        .map(|a| self.attachment_json(a, repr))
                        .collect(),
                ),
                "comment" => {
                    let comments: Vec<Value> = self
                        .comments_of(issue)
                        .into_iter()
                        .map(|c| self.comment_json(c, repr))
                        .collect();
                    json!({
                        "comments": comments,
                        "self": format!("{}/comment", self.issue_self(&issue.id, repr)),
                        "maxResults": comments.len(),
                        "total": comments.len(),
                        "startAt": 0,
                    })
                }
                _ => Value::Null,
            };
            f.insert((*id).to_owned(), value);
        }
        for cf in &self.site.custom_fields {
            if sel.wants(&cf.id) {
                let v = issue
                    .custom_fields
                    .get(&cf.id)
                    .map(|v| self.custom_value_json(&cf.id, v, repr))
                    .unwrap_or(Value::Null);
                f.insert(cf.id.clone(), v);
            }
        }
        f
    }

    pub fn issue_json(&self, issue: &Issue, view: &IssueView) -> Value {
        let repr = view.repr;
        let mut v = json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id,
            "self": self.issue_self(&issue.id, repr),
            "key": issue.key,
        });
        let fields = self.issue_fields_json(issue, &view.fields, repr);
        if !fields.is_empty() || !view.fields.is_minimal() {
            v["fields"] = Value::Object(fields);
        }
        if view.expands("names") {
            v["names"] = self.names_json();
        }
        // `transitions.fields` implies the transitions, with each one's screen fields.
        let transition_fields = view.expands("transitions.fields");
        if view.expands("transitions") || transition_fields {
            let workflow = &self
                .site
                .project(&issue.project_key)
                .expect("known project")
                .workflow;
            v["transitions"] = Value::Array(
                workflow
                    .available_from(&issue.status_id)
                    .into_iter()
                    .map(|t| self.transition_json(t, workflow, repr, transition_fields))
                    .collect(),
            );
        }
        if view.expands("changelog") {
            // Jira lists the most recent changes first.
            let histories: Vec<Value> = issue
                .changelog
                .iter()
                .rev()
                .map(|g| self.changelog_group_json(g, repr))
                .collect();
            v["changelog"] = json!({
                "startAt": 0,
                "maxResults": histories.len(),
                "total": histories.len(),
                "histories": histories,
            });
        }
        if !view.properties.is_empty() {
            let mut props = Map::new();
            for key in &view.properties {
                let wanted = |k: &String| key == "*all" || k == key;
                for (k, value) in issue.properties.iter().filter(|(k, _)| wanted(k)) {
                    props.insert(k.clone(), value.clone());
                }
            }
            v["properties"] = Value::Object(props);
        }
        v
    }
}
