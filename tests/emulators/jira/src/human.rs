//! "A person in the Jira UI": changes made as another account, without going through the REST
//! API (so they are not in the request log), that fire the same webhooks as API changes.

use bytes::Bytes;
use serde_json::Value;

use crate::{
    adf,
    config::Mode,
    error::{JiraError, JiraResult},
    model::{Attachment, Comment, Issue, RichText},
    routes::App,
    state::{FieldChange, NewIssue},
};

pub struct Human<'a> {
    app: &'a App,
    account_id: String,
    mode: Mode,
}

impl<'a> Human<'a> {
    pub(crate) fn new(app: &'a App, account_id: String, mode: Mode) -> Self {
        Self {
            app,
            account_id,
            mode,
        }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Text as the UI stores it: ADF on Cloud, wiki markup on Data Center.
    fn text(&self, text: &str) -> RichText {
        match self.mode {
            Mode::DataCenter => RichText::Wiki(text.to_owned()),
            _ => RichText::Adf(adf::from_plain(text)),
        }
    }

    pub fn create_issue(
        &self,
        project_key: &str,
        issue_type: &str,
        summary: &str,
        description: Option<&str>,
    ) -> JiraResult<Issue> {
        let mut state = self.app.state();
        let project = state
            .site
            .project(project_key)
            .cloned()
            .ok_or_else(|| JiraError::field("project", "Specify a valid project ID or key"))?;
        let issue_type_id = project
            .issue_type_ids
            .iter()
            .filter_map(|id| state.site.issue_type(id))
            .find(|t| t.name.eq_ignore_ascii_case(issue_type) || t.id == issue_type)
            .map(|t| t.id.clone())
            .ok_or_else(|| JiraError::field("issuetype", "The issue type selected is invalid."))?;
        let new = NewIssue {
            project_key: project.key.clone(),
            issue_type_id,
            summary: summary.to_owned(),
            description: description.map(|d| self.text(d)),
            ..NewIssue::default()
        };
        state.create_issue(&self.account_id, new)
    }

    fn edit(&self, key: &str, changes: Vec<FieldChange>) -> JiraResult<bool> {
        self.app.state().edit_issue(&self.account_id, key, changes)
    }

    pub fn edit_summary(&self, key: &str, summary: &str) -> JiraResult<bool> {
        self.edit(key, vec![FieldChange::Summary(summary.to_owned())])
    }

    pub fn edit_description(&self, key: &str, description: &str) -> JiraResult<bool> {
        self.edit(
            key,
            vec![FieldChange::Description(Some(self.text(description)))],
        )
    }

    /// Replaces the description's first paragraph the way a person does in the editor: the rest
    /// of the document (whatever the integration rendered there included) stays as it is.
    pub fn edit_first_paragraph(&self, key: &str, text: &str) -> JiraResult<bool> {
        let current = self.app.state().issue_or_404(key)?.description.clone();
        let edited = match (self.mode, current) {
            (Mode::DataCenter, Some(RichText::Wiki(wiki))) => {
                let rest = wiki.split_once("\n\n").map(|(_, rest)| rest).unwrap_or("");
                RichText::Wiki(format!("{text}\n\n{rest}").trim_end().to_owned())
            }
            (_, current) => {
                let mut doc = current
                    .map(|d| d.to_adf())
                    .unwrap_or_else(|| adf::from_plain(""));
                let paragraph = adf::from_plain(text)["content"][0].clone();
                let blocks = doc["content"]
                    .as_array_mut()
                    .expect("a document has content");
                match blocks.iter().position(|b| b["type"] == "paragraph") {
                    Some(i) => blocks[i] = paragraph,
                    None => blocks.insert(0, paragraph),
                }
                match self.mode {
                    Mode::DataCenter => RichText::Wiki(adf::to_wiki(&doc)),
                    _ => RichText::Adf(doc),
                }
            }
        };
        self.edit(key, vec![FieldChange::Description(Some(edited))])
    }

    /// Sets the description to an exact ADF document (a person's own formatting: marks,
    /// headings); Data Center stores it as wiki markup.
    pub fn edit_description_adf(&self, key: &str, doc: Value) -> JiraResult<bool> {
        adf::validate(&doc).map_err(|e| JiraError::field("description", e.0))?;
        let text = match self.mode {
            Mode::DataCenter => RichText::Wiki(adf::to_wiki(&doc)),
            _ => RichText::Adf(doc),
        };
        self.edit(key, vec![FieldChange::Description(Some(text))])
    }

    pub fn set_labels(&self, key: &str, labels: &[&str]) -> JiraResult<bool> {
        self.edit(
            key,
            vec![FieldChange::Labels(
                labels.iter().map(|l| (*l).to_owned()).collect(),
            )],
        )
    }

    pub fn add_label(&self, key: &str, label: &str) -> JiraResult<bool> {
        let mut labels = self.app.state().issue_or_404(key)?.labels.clone();
        if !labels.iter().any(|l| l == label) {
            labels.push(label.to_owned());
        }
        self.edit(key, vec![FieldChange::Labels(labels)])
    }

    pub fn set_priority(&self, key: &str, priority_name: &str) -> JiraResult<bool> {
        let id = self
            .app
            .state()
            .site
            .priorities
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(priority_name))
            .map(|p| p.id.clone())
            .ok_or_else(|| JiraError::field("priority", "Specify a valid priority"))?;
        self.edit(key, vec![FieldChange::Priority(Some(id))])
    }

    pub fn set_custom_field(
        &self,
        key: &str,
        field_id: &str,
        value: Option<Value>,
    ) -> JiraResult<bool> {
        if self.app.state().site.custom_field(field_id).is_none() {
            return Err(JiraError::cannot_set(field_id));
        }
        self.edit(key, vec![FieldChange::Custom(field_id.to_owned(), value)])
    }

    /// Takes one transition, which must be available from the current status.
    pub fn transition(&self, key: &str, transition_id: &str) -> JiraResult<()> {
        self.app
            .state()
            .transition(&self.account_id, key, transition_id, Vec::new())
    }

    /// Clicks through the fewest transitions that reach `status_name`; fails (400) when the
    /// workflow offers no way there.
    pub fn move_to(&self, key: &str, status_name: &str) -> JiraResult<Vec<String>> {
        let path: Vec<String> = {
            let state = self.app.state();
            let issue = state.issue_or_404(key)?;
            let workflow = &state
                .site
                .project(&issue.project_key)
                .expect("issues belong to configured projects")
                .workflow;
            let target = workflow.status_by_name(status_name).ok_or_else(|| {
                JiraError::bad_request(format!("No status named '{status_name}' in this workflow."))
            })?;
            workflow
                .shortest_path(&issue.status_id, &target.id)
                .ok_or_else(|| {
                    JiraError::bad_request(format!(
                        "No sequence of transitions leads from '{}' to '{status_name}'.",
                        state.status_name(&issue.status_id)
                    ))
                })?
                .into_iter()
                .map(|t| t.id.clone())
                .collect()
        };
        for id in &path {
            self.transition(key, id)?;
        }
        Ok(path)
    }

    pub fn add_comment(&self, key: &str, text: &str) -> JiraResult<Comment> {
        self.app
            .state()
            .add_comment(&self.account_id, key, self.text(text), None)
    }

    /// Adds a comment with an exact ADF body.
    pub fn add_comment_adf(&self, key: &str, body: Value) -> JiraResult<Comment> {
        adf::validate(&body).map_err(|e| JiraError::field("comment", e.0))?;
        self.app
            .state()
            .add_comment(&self.account_id, key, RichText::Adf(body), None)
    }

    pub fn edit_comment(&self, key: &str, comment_id: &str, text: &str) -> JiraResult<Comment> {
        self.app
            .state()
            .update_comment(&self.account_id, key, comment_id, self.text(text), None)
    }

    pub fn delete_comment(&self, key: &str, comment_id: &str) -> JiraResult<Comment> {
        self.app
            .state()
            .delete_comment(&self.account_id, key, comment_id)
    }

    pub fn add_attachment(
        &self,
        key: &str,
        filename: &str,
        mime_type: &str,
        content: impl Into<Bytes>,
    ) -> JiraResult<Attachment> {
        self.app.state().add_attachment(
            &self.account_id,
            key,
            filename.to_owned(),
            mime_type.to_owned(),
            content.into(),
        )
    }

    pub fn set_property(&self, key: &str, property: &str, value: Value) -> JiraResult<bool> {
        self.app
            .state()
            .set_issue_property(&self.account_id, key, property, value)
    }

    pub fn delete_issue(&self, key: &str) -> JiraResult<Issue> {
        self.app.state().delete_issue(&self.account_id, key)
    }
}
