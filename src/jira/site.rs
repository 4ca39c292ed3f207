//! What setting up and diagnosing the integration asks of Jira, beyond the sync's calls: the
//! project's issue types and statuses, the resolutions, the workflow's transitions, and the
//! admin webhooks (`/rest/webhooks/1.0/webhook`).

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    api::{JiraApi, JiraError},
    client::{JiraClient, str_at},
};
use crate::secret::Secret;

/// A project as `GET /project/{key}` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInfo {
    pub id: String,
    pub key: String,
    pub name: String,
}

/// An issue type of a project and the statuses its workflow has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueTypeStatuses {
    pub id: String,
    pub name: String,
    pub statuses: Vec<String>,
}

/// A workflow's statuses and transitions, by status id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowGraph {
    pub name: String,
    /// `(id, name)`.
    pub statuses: Vec<(String, String)>,
    pub transitions: Vec<WorkflowTransition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowTransition {
    pub name: String,
    /// Status ids it leaves from; empty for a global transition (from anywhere).
    pub from: Vec<String>,
    pub to: String,
    /// The transition that creates the issue: its target is where new issues start.
    pub initial: bool,
}

impl WorkflowGraph {
    fn status_id(&self, name: &str) -> Option<&str> {
        self.statuses
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(id, _)| id.as_str())
    }

    /// The status new issues start in, by name.
    pub fn initial_status(&self) -> Option<&str> {
        let id = &self.transitions.iter().find(|t| t.initial)?.to;
        self.statuses
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.as_str())
    }

    /// Whether a chain of transitions leads from status `from` to status `to` (names).
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        let (Some(from), Some(to)) = (self.status_id(from), self.status_id(to)) else {
            return false;
        };
        let mut seen = vec![from];
        let mut frontier = vec![from];
        while let Some(at) = frontier.pop() {
            if at == to {
                return true;
            }
            for t in self.transitions.iter().filter(|t| !t.initial) {
                let leaves = t.from.is_empty() || t.from.iter().any(|f| f == at);
                if leaves && !seen.contains(&t.to.as_str()) {
                    seen.push(&t.to);
                    frontier.push(&t.to);
                }
            }
        }
        false
    }
}

/// An admin webhook as Jira shows it (never with its secret: Jira does not return it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhook {
    pub id: String,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    /// The `issue-related-events-section` filter; empty for none.
    pub jql: String,
    pub exclude_body: bool,
    pub enabled: bool,
}

/// What to register: the visible fields and the signing secret.
#[derive(Debug, Clone)]
pub struct WebhookRegistration {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub jql: String,
    pub secret: Secret,
}

impl WebhookRegistration {
    fn body(&self) -> Value {
        json!({
            "name": self.name,
            "url": self.url,
            "events": self.events,
            "filters": {"issue-related-events-section": self.jql},
            "excludeBody": false,
            "enabled": true,
            "secret": self.secret.expose(),
        })
    }
}

/// The calls `setup jira` and `doctor` make. Implemented over HTTP by [`JiraClient`].
#[async_trait]
pub trait JiraSiteApi: JiraApi {
    async fn project(&self, key: &str) -> Result<ProjectInfo, JiraError>;
    /// The project's issue types, each with the statuses of its workflow.
    async fn project_statuses(&self, key: &str) -> Result<Vec<IssueTypeStatuses>, JiraError>;
    /// Names of the site's resolutions.
    async fn resolutions(&self) -> Result<Vec<String>, JiraError>;
    /// The workflow the project uses for the issue type (needs Jira administration rights;
    /// Cloud only: Data Center has no such REST resource, which is a `NotFound`).
    async fn workflow(
        &self,
        project: &ProjectInfo,
        issue_type_id: &str,
    ) -> Result<WorkflowGraph, JiraError>;
    /// Every admin webhook (administrators only: 403 otherwise).
    async fn webhooks(&self) -> Result<Vec<RegisteredWebhook>, JiraError>;
    async fn create_webhook(
        &self,
        webhook: &WebhookRegistration,
    ) -> Result<RegisteredWebhook, JiraError>;
    /// Replaces the webhook `id` with `webhook` (Jira's PUT replaces every field).
    async fn update_webhook(
        &self,
        id: &str,
        webhook: &WebhookRegistration,
    ) -> Result<RegisteredWebhook, JiraError>;
}

const WEBHOOKS: &str = "/rest/webhooks/1.0/webhook";

fn webhook(v: &Value) -> Option<RegisteredWebhook> {
    // The id is the last segment of `self`; Jira's list has no `id` field.
    let id = str_at(v, "/id")
        .or_else(|| str_at(v, "/self").and_then(|s| s.rsplit('/').next().map(str::to_owned)))?;
    Some(RegisteredWebhook {
        id,
        name: str_at(v, "/name").unwrap_or_default(),
        url: str_at(v, "/url")?,
        events: strings(v.get("events")),
        jql: str_at(v, "/filters/issue-related-events-section").unwrap_or_default(),
        exclude_body: v
            .get("excludeBody")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        enabled: v.get("enabled").and_then(Value::as_bool).unwrap_or(true),
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn unexpected(operation: &'static str, what: &str) -> JiraError {
    JiraError::Unexpected {
        operation,
        message: format!("missing {what}"),
    }
}

#[async_trait]
impl JiraSiteApi for JiraClient {
    async fn project(&self, key: &str) -> Result<ProjectInfo, JiraError> {
        const OP: &str = "get_project";
        let path = format!("/project/{key}");
        let r = self.send(OP, || self.request(Method::GET, &path)).await?;
        let v = self.json(OP, r).await?;
        Ok(ProjectInfo {
            id: str_at(&v, "/id").ok_or_else(|| unexpected(OP, "id"))?,
            key: str_at(&v, "/key").ok_or_else(|| unexpected(OP, "key"))?,
            name: str_at(&v, "/name").unwrap_or_default(),
        })
    }

    async fn project_statuses(&self, key: &str) -> Result<Vec<IssueTypeStatuses>, JiraError> {
        const OP: &str = "get_project_statuses";
        let path = format!("/project/{key}/statuses");
        let r = self.send(OP, || self.request(Method::GET, &path)).await?;
        let v = self.json(OP, r).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some(IssueTypeStatuses {
                    id: str_at(t, "/id")?,
                    name: str_at(t, "/name").unwrap_or_default(),
                    statuses: t
                        .get("statuses")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|s| str_at(s, "/name"))
                        .collect(),
                })
            })
            .collect())
    }

    async fn resolutions(&self) -> Result<Vec<String>, JiraError> {
        const OP: &str = "get_resolutions";
        let r = self
            .send(OP, || self.request(Method::GET, "/resolution"))
            .await?;
        let v = self.json(OP, r).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| str_at(r, "/name"))
            .collect())
    }

    async fn workflow(
        &self,
        project: &ProjectInfo,
        issue_type_id: &str,
    ) -> Result<WorkflowGraph, JiraError> {
        const OP: &str = "get_workflow";
        let r = self
            .send(OP, || {
                self.request_q(
                    Method::GET,
                    "/workflowscheme/project",
                    &[("projectId", project.id.clone())],
                )
            })
            .await?;
        let v = self.json(OP, r).await?;
        let scheme = v
            .pointer("/values/0/workflowScheme")
            .ok_or_else(|| unexpected(OP, "values[0].workflowScheme"))?;
        let name = scheme
            .pointer(&format!("/issueTypeMappings/{issue_type_id}"))
            .and_then(Value::as_str)
            .or_else(|| scheme.get("defaultWorkflow").and_then(Value::as_str))
            .ok_or_else(|| unexpected(OP, "the workflow of the issue type"))?
            .to_owned();
        let r = self
            .send(OP, || {
                self.request_q(
                    Method::GET,
                    "/workflow/search",
                    &[
                        ("workflowName", name.clone()),
                        ("expand", "transitions,statuses".into()),
                    ],
                )
            })
            .await?;
        let v = self.json(OP, r).await?;
        let wf = v
            .pointer("/values/0")
            .ok_or_else(|| unexpected(OP, "the workflow"))?;
        Ok(WorkflowGraph {
            name,
            statuses: wf
                .get("statuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| Some((str_at(s, "/id")?, str_at(s, "/name")?)))
                .collect(),
            transitions: wf
                .get("transitions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some(WorkflowTransition {
                        name: str_at(t, "/name").unwrap_or_default(),
                        from: strings(t.get("from")),
                        to: str_at(t, "/to")?,
                        initial: t.get("type").and_then(Value::as_str) == Some("initial"),
                    })
                })
                .collect(),
        })
    }

    async fn webhooks(&self) -> Result<Vec<RegisteredWebhook>, JiraError> {
        const OP: &str = "list_webhooks";
        let r = self
            .send(OP, || self.site_request(Method::GET, WEBHOOKS))
            .await?;
        let v = self.json(OP, r).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(webhook)
            .collect())
    }

    async fn create_webhook(
        &self,
        registration: &WebhookRegistration,
    ) -> Result<RegisteredWebhook, JiraError> {
        const OP: &str = "create_webhook";
        let body = registration.body();
        let r = self
            .send(OP, || self.site_request(Method::POST, WEBHOOKS).json(&body))
            .await?;
        let v = self.json(OP, r).await?;
        webhook(&v).ok_or_else(|| unexpected(OP, "the webhook's self and url"))
    }

    async fn update_webhook(
        &self,
        id: &str,
        registration: &WebhookRegistration,
    ) -> Result<RegisteredWebhook, JiraError> {
        const OP: &str = "update_webhook";
        let body = registration.body();
        let path = format!("{WEBHOOKS}/{id}");
        let r = self
            .send(OP, || self.site_request(Method::PUT, &path).json(&body))
            .await?;
        let v = self.json(OP, r).await?;
        webhook(&v).ok_or_else(|| unexpected(OP, "the webhook's self and url"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> WorkflowGraph {
        let t = |from: &[&str], to: &str, initial| WorkflowTransition {
            name: String::new(),
            from: from.iter().map(|s| (*s).to_owned()).collect(),
            to: to.into(),
            initial,
        };
        WorkflowGraph {
            name: "wf".into(),
            statuses: vec![
                ("1".into(), "To Do".into()),
                ("2".into(), "In Progress".into()),
                ("3".into(), "Done".into()),
                ("4".into(), "Parked".into()),
            ],
            transitions: vec![
                t(&[], "1", true),
                t(&["1"], "2", false),
                t(&["2"], "3", false),
                t(&[], "2", false),
            ],
        }
    }

    /// A server that answers every request 200 with an HTML page, as a login page or a
    /// misrouted proxy does.
    async fn html_server() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<html>Log in</html>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(response.as_bytes()).await;
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn an_answer_that_is_not_json_keeps_the_decoding_error_as_source() {
        use std::{error::Error as _, sync::Arc, time::Duration};

        use crate::jira::{Flavour, JiraAuth, JiraClientConfig, RetryPolicy};

        let client = JiraClient::new(
            JiraClientConfig {
                base_url: html_server().await,
                flavour: Flavour::Cloud,
                auth: JiraAuth::Basic {
                    email: "bridge@example.com".into(),
                    token: Secret::new("token"),
                },
                timeout: Duration::from_secs(10),
                retry: RetryPolicy::default(),
            },
            Arc::new(crate::metrics::Metrics::new()),
            Arc::new(crate::peers::PeerHealth::default()),
        )
        .unwrap();

        let err = client.project("SEC").await.unwrap_err();

        assert!(matches!(err, JiraError::Client { .. }), "{err:?}");
        let source = err.source().unwrap_or_else(|| panic!("no source: {err:?}"));
        assert!(source.is::<reqwest::Error>(), "{source:?}");
        assert_eq!(
            err.to_string(),
            format!("unexpected answer from Jira on get_project: body is not JSON: {source}")
        );
    }

    #[test]
    fn reachability_follows_directed_and_global_transitions() {
        let g = graph();
        assert_eq!(g.initial_status(), Some("To Do"));
        assert!(g.reaches("To Do", "done"));
        // Global "→ In Progress" leaves from Done too.
        assert!(g.reaches("Done", "In Progress"));
        assert!(!g.reaches("To Do", "Parked"));
        assert!(!g.reaches("Done", "To Do"));
        assert!(!g.reaches("To Do", "Nowhere"));
    }
}
