//! The site's fixed catalogue, compiled from the configuration: projects, issue types,
//! priorities, resolutions, custom fields and workflows, with the lookups the API needs.

use std::{collections::HashMap, sync::Arc};

use crate::{
    config::{CustomFieldConfig, CustomFieldKind, EmulatorConfig, Mode},
    workflow::{Status, Workflow},
};

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    pub issue_type_ids: Vec<String>,
    pub workflow: Arc<Workflow>,
    /// The name the workflow has in the configuration (`workflows.<name>`).
    pub workflow_name: String,
    pub lead: String,
}

#[derive(Debug, Clone)]
pub struct IssueType {
    pub id: String,
    pub name: String,
    pub subtask: bool,
}

#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub mode: Mode,
    /// No trailing slash.
    pub base_url: String,
    pub projects: Vec<Project>,
    pub issue_types: Vec<IssueType>,
    pub priorities: Vec<Named>,
    pub default_priority: Option<String>,
    pub resolutions: Vec<Named>,
    pub custom_fields: Vec<CustomFieldConfig>,
    pub indexed_properties: Vec<String>,
}

impl Site {
    pub fn compile(config: &EmulatorConfig, base_url: String) -> Result<Self, String> {
        let issue_types: Vec<IssueType> = config
            .issue_types
            .iter()
            .map(|t| IssueType {
                id: t.id.clone(),
                name: t.name.clone(),
                subtask: t.subtask,
            })
            .collect();
        let named = |list: &[crate::config::NamedConfig]| {
            list.iter()
                .map(|n| Named {
                    id: n.id.clone(),
                    name: n.name.clone(),
                    description: n.description.clone(),
                })
                .collect::<Vec<_>>()
        };
        let priorities = named(&config.priorities);
        let resolutions = named(&config.resolutions);
        let mut workflows = HashMap::new();
        for (name, wf) in &config.workflows {
            let compiled = Workflow::compile(wf, |r| {
                resolutions
                    .iter()
                    .find(|x| x.name.eq_ignore_ascii_case(r) || x.id == r)
                    .map(|x| x.id.clone())
            })
            .map_err(|e| format!("workflow {name}: {e}"))?;
            workflows.insert(name.clone(), Arc::new(compiled));
        }
        let first_account = config
            .accounts
            .first()
            .map(|a| a.account_id.clone())
            .ok_or("at least one account is needed")?;
        let mut projects = Vec::new();
        for p in &config.projects {
            let workflow = workflows.get(&p.workflow).cloned().ok_or_else(|| {
                format!("project {} names unknown workflow {}", p.key, p.workflow)
            })?;
            let issue_type_ids = if p.issue_types.is_empty() {
                issue_types.iter().map(|t| t.id.clone()).collect()
            } else {
                p.issue_types
                    .iter()
                    .map(|n| {
                        issue_types
                            .iter()
                            .find(|t| t.name.eq_ignore_ascii_case(n) || t.id == *n)
                            .map(|t| t.id.clone())
                            .ok_or_else(|| {
                                format!("project {} names unknown issue type {n}", p.key)
                            })
                    })
                    .collect::<Result<_, _>>()?
            };
            projects.push(Project {
                id: p.id.clone(),
                key: p.key.clone(),
                name: p.name.clone(),
                issue_type_ids,
                workflow,
                workflow_name: p.workflow.clone(),
                lead: p.lead.clone().unwrap_or_else(|| first_account.clone()),
            });
        }
        for cf in &config.custom_fields {
            let digits = cf.id.strip_prefix("customfield_").unwrap_or("");
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "custom field id {} is not customfield_NNNNN",
                    cf.id
                ));
            }
        }
        let default_priority = match &config.default_priority {
            Some(name) => Some(
                priorities
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name) || p.id == *name)
                    .map(|p| p.id.clone())
                    .ok_or_else(|| format!("unknown default priority {name}"))?,
            ),
            None => None,
        };
        Ok(Self {
            mode: config.mode,
            base_url: base_url.trim_end_matches('/').to_owned(),
            projects,
            issue_types,
            priorities,
            default_priority,
            resolutions,
            custom_fields: config.custom_fields.clone(),
            indexed_properties: config.jql_indexed_properties.clone(),
        })
    }

    pub fn project(&self, key_or_id: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.key == key_or_id || p.id == key_or_id)
    }

    pub fn project_ci(&self, key_or_id: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.key.eq_ignore_ascii_case(key_or_id) || p.id == key_or_id)
    }

    pub fn issue_type(&self, id: &str) -> Option<&IssueType> {
        self.issue_types.iter().find(|t| t.id == id)
    }

    pub fn priority(&self, id: &str) -> Option<&Named> {
        self.priorities.iter().find(|p| p.id == id)
    }

    pub fn resolution(&self, id: &str) -> Option<&Named> {
        self.resolutions.iter().find(|p| p.id == id)
    }

    pub fn custom_field(&self, id: &str) -> Option<&CustomFieldConfig> {
        self.custom_fields.iter().find(|c| c.id == id)
    }

    pub fn custom_field_kind(&self, id: &str) -> Option<CustomFieldKind> {
        self.custom_field(id).map(|c| c.kind)
    }

    /// A status by id, in whichever workflow defines it.
    pub fn status(&self, id: &str) -> Option<&Status> {
        self.projects.iter().find_map(|p| p.workflow.status(id))
    }

    /// Every distinct status of every workflow.
    pub fn all_statuses(&self) -> Vec<&Status> {
        let mut out: Vec<&Status> = Vec::new();
        for p in &self.projects {
            for s in &p.workflow.statuses {
                if !out.iter().any(|o| o.id == s.id) {
                    out.push(s);
                }
            }
        }
        out
    }
}
