//! The CloudFormation template (`deploy/template.yaml`, compiled in): what it declares, and the
//! packaged copy whose `CodeUri` names the uploaded artifact.

use std::collections::BTreeMap;

use serde_norway::Value;

/// The template as committed.
pub const TEMPLATE: &str = include_str!("../template.yaml");

/// The one line `deploy-integrations-solution` replaces: the local path `sam build` builds from.
const CODE_URI_LINE: &str = "    CodeUri: ..";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("the template has no `{0}` section")]
    Missing(&'static str),
    #[error("the template must contain the line `{CODE_URI_LINE}` exactly once (found {0})")]
    CodeUri(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    /// The template condition the resource depends on, if any.
    pub condition: Option<String>,
}

pub struct Template {
    pub parameters: Vec<Parameter>,
    pub resources: Vec<Resource>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let doc: Value = serde_norway::from_str(text)?;
        let section = |name: &'static str| {
            doc.get(name)
                .and_then(Value::as_mapping)
                .ok_or(TemplateError::Missing(name))
        };
        let parameters = section("Parameters")?
            .iter()
            .map(|(name, body)| Parameter {
                name: scalar(name),
                default: body.get("Default").map(scalar),
            })
            .collect();
        let resources = section("Resources")?
            .iter()
            .map(|(id, body)| Resource {
                logical_id: scalar(id),
                kind: body.get("Type").map(scalar).unwrap_or_default(),
                condition: body.get("Condition").map(scalar),
            })
            .collect();
        Ok(Template {
            parameters,
            resources,
        })
    }

    pub fn defaults(&self) -> BTreeMap<&str, Option<&str>> {
        self.parameters
            .iter()
            .map(|p| (p.name.as_str(), p.default.as_deref()))
            .collect()
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => serde_norway::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// The template with its code location pointing at the uploaded artifact, as
/// `sam package` / `aws cloudformation package` would write it.
pub fn packaged(text: &str, code_uri: &str) -> Result<String, TemplateError> {
    let found = text.lines().filter(|l| *l == CODE_URI_LINE).count();
    if found != 1 {
        return Err(TemplateError::CodeUri(found));
    }
    let mut out = String::with_capacity(text.len() + code_uri.len());
    for line in text.lines() {
        if line == CODE_URI_LINE {
            out.push_str("    CodeUri: ");
            out.push_str(code_uri);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_lists_its_parameters_and_resources() {
        let t = Template::parse(TEMPLATE).unwrap();
        assert!(
            t.parameters
                .iter()
                .any(|p| p.name == "JiraUrl" && p.default.is_none())
        );
        assert!(
            t.parameters
                .iter()
                .any(|p| p.name == "LogLevel" && p.default.as_deref() == Some("error"))
        );
        assert!(
            t.resources
                .iter()
                .any(|r| r.logical_id == "StateTable" && r.kind == "AWS::DynamoDB::Table")
        );
        assert!(
            t.resources
                .iter()
                .any(|r| r.logical_id == "JiraNotificationsTopic"
                    && r.condition.as_deref() == Some("CreateTopic"))
        );
    }

    #[test]
    fn packaging_points_the_code_at_the_artifact_and_changes_nothing_else() {
        let uri = "s3://bucket/sir-jira-bridge/abc.zip";
        let out = packaged(TEMPLATE, uri).unwrap();
        let doc: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(doc["Globals"]["Function"]["CodeUri"].as_str(), Some(uri));
        assert_eq!(out.lines().count(), TEMPLATE.lines().count());
        assert!(packaged("Resources: {}\n", uri).is_err());
    }
}
