//! The Jira REST client: Cloud v3 (ADF, `Basic email:token`) or Data Center v2 (wiki text,
//! `Bearer PAT`). Every call is counted by operation and status, and recorded in the peer
//! health the admin status shows. 429 and 503 are waited out here (`Retry-After`, at least 1 s,
//! with jitter and a cap); what still fails goes back to the caller classified by
//! [`JiraError`].

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use rand::Rng;
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use serde_json::{Value, json};

use super::{
    api::{
        Flavour, FoundIssue, IssueDetail, IssueEdit, IssueIds, IssueSnapshot, IssueType, JiraApi,
        JiraAttachment, JiraComment, JiraError, JiraUser, NewIssue, Position, SearchCursor,
        SearchPage, Transition,
    },
    wiki,
};
use crate::{
    event::{
        adf,
        jira::{CommentEvent, comment_from_rest},
    },
    metrics::{Metrics, PeerCallLabels},
    peers::{Peer, PeerHealth},
    secret::Secret,
};

/// How the client authenticates.
#[derive(Debug, Clone)]
pub enum JiraAuth {
    /// Cloud: an Atlassian account's e-mail and API token.
    Basic { email: String, token: Secret },
    /// Data Center: a personal access token.
    Bearer { token: Secret },
}

/// How long the client waits out 429/503 before giving the call back to the queue.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Shortest wait, whatever `Retry-After` says (Jira sends `0`).
    pub min_wait: Duration,
    /// Longest single wait; a longer `Retry-After` is cut to this.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct JiraClientConfig {
    /// `https://your-site.atlassian.net` or the Data Center base URL (context path included).
    pub base_url: String,
    pub flavour: Flavour,
    pub auth: JiraAuth,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

pub struct JiraClient {
    http: reqwest::Client,
    base: String,
    api: &'static str,
    flavour: Flavour,
    authorization: header::HeaderValue,
    retry: RetryPolicy,
    metrics: Arc<Metrics>,
    peers: Arc<PeerHealth>,
}

impl JiraClient {
    pub fn new(
        config: JiraClientConfig,
        metrics: Arc<Metrics>,
        peers: Arc<PeerHealth>,
    ) -> Result<JiraClient, JiraError> {
        let credentials = match &config.auth {
            JiraAuth::Basic { email, token } => {
                let pair = format!("{email}:{}", token.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            JiraAuth::Bearer { token } => format!("Bearer {}", token.expose()),
        };
        let mut authorization =
            header::HeaderValue::from_str(&credentials).map_err(|_| JiraError::Unexpected {
                operation: "configure",
                message: "the credentials contain characters a header cannot carry".into(),
            })?;
        // Keeps the value out of reqwest's and hyper's debug output.
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("sir-jira-bridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JiraError::Unexpected {
                operation: "configure",
                message: e.to_string(),
            })?;
        Ok(JiraClient {
            http,
            base: config.base_url.trim_end_matches('/').to_owned(),
            api: match config.flavour {
                Flavour::Cloud => "/rest/api/3",
                Flavour::DataCenter => "/rest/api/2",
            },
            flavour: config.flavour,
            authorization,
            retry: config.retry,
            metrics,
            peers,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.base, self.api, path)
    }

    /// A request to a path outside the REST API version (`/rest/webhooks/1.0/…`).
    pub(super) fn site_request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A rich-text body in the flavour's format.
    fn rich(&self, doc: &Value) -> Value {
        match self.flavour {
            Flavour::Cloud => doc.clone(),
            Flavour::DataCenter => Value::String(wiki::from_adf(doc)),
        }
    }

    /// Sends the request `build` makes, waiting out 429/503, and classifies the outcome.
    pub(super) async fn send(
        &self,
        operation: &'static str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, JiraError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = build()
                .header(header::AUTHORIZATION, self.authorization.clone())
                .header(header::ACCEPT, "application/json")
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    self.count(operation, 0);
                    let message = transport_message(&e);
                    self.peers
                        .record_error(Peer::Jira, format!("{operation}: {message}"));
                    tracing::warn!(operation, error = %message, "jira call failed");
                    return Err(JiraError::Unavailable { operation, message });
                }
            };
            let status = response.status();
            self.count(operation, status.as_u16());
            if status.is_success() || status.is_redirection() {
                self.peers.record_success(Peer::Jira);
                return Ok(response);
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
            {
                let wait = self.wait_for(&response, attempt);
                if attempt >= self.retry.max_attempts {
                    let error = JiraError::RateLimited {
                        operation,
                        status: status.as_u16(),
                        attempts: attempt,
                    };
                    self.peers.record_error(Peer::Jira, error.to_string());
                    tracing::warn!(
                        operation,
                        status = status.as_u16(),
                        attempts = attempt,
                        "jira kept refusing: the event will be retried"
                    );
                    return Err(error);
                }
                tracing::info!(
                    operation,
                    status = status.as_u16(),
                    reason = response
                        .headers()
                        .get("ratelimit-reason")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or(""),
                    wait_ms = wait.as_millis() as u64,
                    attempt,
                    "jira asked us to slow down"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let message = error_message(response).await;
            let error = match status.as_u16() {
                401 | 403 => {
                    tracing::error!(
                        operation,
                        status = status.as_u16(),
                        error = %message,
                        "jira refused the integration's credentials: check jira_email/jira_api_token (expired token?) and the account's permissions"
                    );
                    JiraError::Auth {
                        operation,
                        status: status.as_u16(),
                        message,
                    }
                }
                400 => JiraError::Rejected { operation, message },
                404 => JiraError::NotFound { operation, message },
                413 => JiraError::TooLarge,
                s if s >= 500 => JiraError::Unavailable {
                    operation,
                    message: format!("{s}: {message}"),
                },
                s => JiraError::Unexpected {
                    operation,
                    message: format!("{s}: {message}"),
                },
            };
            match &error {
                // A 404 answers a question (no such property); it says nothing about Jira.
                JiraError::NotFound { .. } => {}
                JiraError::Auth { .. } => self
                    .peers
                    .record_credentials_refused(Peer::Jira, error.to_string()),
                _ => self.peers.record_error(Peer::Jira, error.to_string()),
            }
            return Err(error);
        }
    }

    /// `Retry-After` (seconds), at least `min_wait`, plus up to 25 % jitter, at most `max_wait`.
    /// Without the header: exponential from `min_wait`.
    fn wait_for(&self, response: &Response, attempt: u32) -> Duration {
        let told = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let base = told
            .unwrap_or_else(|| self.retry.min_wait * 2u32.saturating_pow(attempt.saturating_sub(1)))
            .max(self.retry.min_wait);
        let jitter_cap = (base.as_millis() as u64 / 4).max(1);
        let jitter = Duration::from_millis(rand::rng().random_range(0..=jitter_cap));
        (base + jitter).min(self.retry.max_wait)
    }

    fn count(&self, operation: &'static str, status: u16) {
        self.metrics
            .peer_calls
            .get_or_create(&PeerCallLabels {
                peer: "jira",
                operation,
                status,
            })
            .inc();
    }

    pub(super) async fn json(
        &self,
        operation: &'static str,
        response: Response,
    ) -> Result<Value, JiraError> {
        response
            .json::<Value>()
            .await
            .map_err(|e| JiraError::Unexpected {
                operation,
                message: format!("body is not JSON: {e}"),
            })
    }

    pub(super) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request with query parameters, encoded here (reqwest's `query` needs a feature).
    /// `GET /issue/{key}` with `query`, as JSON: the one read behind the issue views.
    async fn get_issue(&self, key: &str, query: &[(&str, String)]) -> Result<Value, JiraError> {
        const OP: &str = "get_issue";
        let path = format!("/issue/{key}");
        let r = self
            .send(OP, || self.request_q(Method::GET, &path, query))
            .await?;
        self.json(OP, r).await
    }

    /// Every comment of the issue as Jira returns them (all pages), oldest first.
    async fn comment_values(&self, key: &str) -> Result<Vec<Value>, JiraError> {
        const OP: &str = "get_comments";
        let path = format!("/issue/{key}/comment");
        let mut found = Vec::new();
        loop {
            let start_at = found.len();
            let r = self
                .send(OP, || {
                    self.request_q(
                        Method::GET,
                        &path,
                        &[
                            ("startAt", start_at.to_string()),
                            ("maxResults", "100".to_owned()),
                            ("orderBy", "created".to_owned()),
                        ],
                    )
                })
                .await?;
            let mut v = self.json(OP, r).await?;
            let total = v.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
            let page = match v.get_mut("comments").map(Value::take) {
                Some(Value::Array(page)) => page,
                _ => Vec::new(),
            };
            let empty = page.is_empty();
            found.extend(page);
            // Pages may be smaller than asked for: page on `total`.
            if empty || found.len() >= total {
                return Ok(found);
            }
        }
    }

    pub(super) fn request_q(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
    ) -> RequestBuilder {
        let mut url = self.url(path);
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        if !encoded.is_empty() {
            url.push('?');
            url.push_str(&encoded);
        }
        self.http.request(method, url)
    }
}

/// What a reconciling search asks for: the fields the issue → case sync applies, with the
/// comments and attachments it compares. Nothing else, so pages stay small.
const SEARCH_FIELDS: &str = "summary,description,status,resolution,labels,project,issuetype,\
                             priority,created,updated,attachment,comment";

fn transport_message(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL, never headers: no credentials in it.
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{kind}: {e}")
}

/// Jira's error body (`errorMessages` and `errors`) as one line; the raw text otherwise.
async fn error_message(response: Response) -> String {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let Ok(body) = serde_json::from_str::<Value>(&text) else {
        let t: String = text.chars().take(300).collect();
        return if t.trim().is_empty() {
            status.to_string()
        } else {
            t
        };
    };
    let mut parts: Vec<String> = body
        .get("errorMessages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if let Some(errors) = body.get("errors").and_then(Value::as_object) {
        parts.extend(
            errors
                .iter()
                .map(|(field, m)| format!("{field}: {}", m.as_str().unwrap_or(&m.to_string()))),
        );
    }
    if parts.is_empty() {
        text.chars().take(300).collect()
    } else {
        parts.join("; ")
    }
}

pub(super) fn str_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn unexpected(operation: &'static str, what: &str) -> JiraError {
    JiraError::Unexpected {
        operation,
        message: format!("missing {what}"),
    }
}

/// An issue's `fields.attachment` list.
/// The `transitions` of a transitions answer, or of an issue read with them expanded.
fn transitions(v: &Value) -> Vec<Transition> {
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

fn attachments(issue: &Value) -> Vec<JiraAttachment> {
    issue
        .pointer("/fields/attachment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(attachment)
        .collect()
}

fn attachment(v: &Value) -> Option<JiraAttachment> {
    Some(JiraAttachment {
        id: str_at(v, "/id")?,
        filename: str_at(v, "/filename")?,
        size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        author: str_at(v, "/author/accountId").or_else(|| str_at(v, "/author/name")),
    })
}

/// Multipart form with one `file` part, built by hand so the body can be resent on a retry.
fn multipart(file_name: &str, content_type: &str, bytes: &Bytes) -> (String, Bytes) {
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

fn issue_type_json(t: &IssueType) -> Value {
    match t {
        IssueType::Id(id) => json!({"id": id}),
        IssueType::Name(name) => json!({"name": name}),
    }
}

#[async_trait]
impl JiraApi for JiraClient {
    fn flavour(&self) -> Flavour {
        self.flavour
    }

    async fn myself(&self) -> Result<JiraUser, JiraError> {
        const OP: &str = "get_myself";
        let r = self
            .send(OP, || self.request(Method::GET, "/myself"))
            .await?;
        let v = self.json(OP, r).await?;
        let id = match self.flavour {
            Flavour::Cloud => str_at(&v, "/accountId"),
            Flavour::DataCenter => str_at(&v, "/name").or_else(|| str_at(&v, "/key")),
        }
        .ok_or_else(|| unexpected(OP, "accountId/name"))?;
        Ok(JiraUser {
            id,
            display_name: str_at(&v, "/displayName"),
        })
    }

    async fn create_issue(&self, issue: &NewIssue) -> Result<IssueIds, JiraError> {
        const OP: &str = "create_issue";
        let mut fields = json!({
            "project": {"key": issue.project_key},
            "issuetype": issue_type_json(&issue.issue_type),
            "summary": issue.summary,
            "description": self.rich(&issue.description),
            "labels": issue.labels,
        });
        for (id, value) in &issue.custom_fields {
            fields[id] = value.clone();
        }
        let body = json!({ "fields": fields });
        let r = self
            .send(OP, || self.request(Method::POST, "/issue").json(&body))
            .await?;
        let v = self.json(OP, r).await?;
        Ok(IssueIds {
            id: str_at(&v, "/id").ok_or_else(|| unexpected(OP, "id"))?,
            key: str_at(&v, "/key").ok_or_else(|| unexpected(OP, "key"))?,
        })
    }

    async fn edit_issue(&self, key: &str, edit: &IssueEdit) -> Result<(), JiraError> {
        const OP: &str = "edit_issue";
        if edit.is_empty() {
            return Ok(());
        }
        let mut fields = serde_json::Map::new();
        if let Some(summary) = &edit.summary {
            fields.insert("summary".into(), json!(summary));
        }
        if let Some(description) = &edit.description {
            fields.insert("description".into(), self.rich(description));
        }
        for (id, value) in &edit.custom_fields {
            fields.insert(id.clone(), value.clone());
        }
        let mut body = json!({ "fields": fields });
        if !edit.add_labels.is_empty() {
            let adds: Vec<Value> = edit.add_labels.iter().map(|l| json!({"add": l})).collect();
            body["update"] = json!({ "labels": adds });
        }
        let path = format!("/issue/{key}");
        self.send(OP, || self.request(Method::PUT, &path).json(&body))
            .await?;
        Ok(())
    }

    async fn issue(&self, key: &str) -> Result<IssueSnapshot, JiraError> {
        const OP: &str = "get_issue";
        let v = self
            .get_issue(key, &[("fields", "status,labels,attachment".into())])
            .await?;
        Ok(IssueSnapshot {
            id: str_at(&v, "/id").ok_or_else(|| unexpected(OP, "id"))?,
            key: str_at(&v, "/key").ok_or_else(|| unexpected(OP, "key"))?,
            status: str_at(&v, "/fields/status/name").unwrap_or_default(),
            labels: v
                .pointer("/fields/labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            attachments: attachments(&v),
        })
    }

    async fn issue_detail(&self, key: &str) -> Result<IssueDetail, JiraError> {
        const OP: &str = "get_issue";
        let fields = "summary,description,status,resolution,labels,project,issuetype,priority,\
                      created,updated,attachment";
        let v = self.get_issue(key, &[("fields", fields.into())]).await?;
        let issue = crate::event::jira::issue_from_rest(&v).map_err(|e| JiraError::Unexpected {
            operation: OP,
            message: e.to_string(),
        })?;
        Ok(IssueDetail {
            issue,
            resolution: str_at(&v, "/fields/resolution/name"),
            attachments: attachments(&v),
        })
    }

    async fn search(&self, jql: &str) -> Result<Vec<IssueIds>, JiraError> {
        const OP: &str = "search_issues";
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        let mut start_at = 0usize;
        // Bounded: a search for one case's label matches a handful of issues at most.
        for _ in 0..50 {
            let v = match self.flavour {
                Flavour::Cloud => {
                    let r = self
                        .send(OP, || {
                            let mut q = vec![
                                ("jql", jql.to_owned()),
                                ("fields", "key".to_owned()),
                                ("maxResults", "100".to_owned()),
                            ];
                            if let Some(t) = &token {
                                q.push(("nextPageToken", t.clone()));
                            }
                            self.request_q(Method::GET, "/search/jql", &q)
                        })
                        .await?;
                    self.json(OP, r).await?
                }
                Flavour::DataCenter => {
                    let r = self
                        .send(OP, || {
                            self.request_q(
                                Method::GET,
                                "/search",
                                &[
                                    ("jql", jql.to_owned()),
                                    ("fields", "key".to_owned()),
                                    ("maxResults", "100".to_owned()),
                                    ("startAt", start_at.to_string()),
                                ],
                            )
                        })
                        .await?;
                    self.json(OP, r).await?
                }
            };
            let issues = v.get("issues").and_then(Value::as_array).cloned();
            let page: Vec<IssueIds> = issues
                .iter()
                .flatten()
                .filter_map(|i| {
                    Some(IssueIds {
                        id: str_at(i, "/id")?,
                        key: str_at(i, "/key")?,
                    })
                })
                .collect();
            let n = page.len();
            found.extend(page);
            let more = match self.flavour {
                Flavour::Cloud => {
                    token = str_at(&v, "/nextPageToken");
                    !v.get("isLast").and_then(Value::as_bool).unwrap_or(true) && token.is_some()
                }
                Flavour::DataCenter => {
                    start_at += n;
                    let total = v.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
                    n > 0 && start_at < total
                }
            };
            if !more {
                break;
            }
        }
        found.sort_by_key(|i| i.id.parse::<u64>().unwrap_or(u64::MAX));
        Ok(found)
    }

    async fn transitions(&self, key: &str) -> Result<Vec<Transition>, JiraError> {
        const OP: &str = "get_transitions";
        let path = format!("/issue/{key}/transitions");
        let r = self
            .send(OP, || {
                self.request_q(
                    Method::GET,
                    &path,
                    &[("expand", "transitions.fields".into())],
                )
            })
            .await?;
        let v = self.json(OP, r).await?;
        Ok(transitions(&v))
    }

    async fn status_changed_at(
        &self,
        key: &str,
    ) -> Result<Option<time::OffsetDateTime>, JiraError> {
        let v = self
            .get_issue(
                key,
                &[("fields", "status".into()), ("expand", "changelog".into())],
            )
            .await?;
        // Jira lists the most recent changes first.
        let histories = v.pointer("/changelog/histories").and_then(Value::as_array);
        Ok(histories
            .into_iter()
            .flatten()
            .find(|h| {
                h.get("items")
                    .and_then(Value::as_array)
                    .is_some_and(|items| items.iter().any(|i| i["field"] == "status"))
            })
            .and_then(|h| h.get("created").and_then(Value::as_str))
            .and_then(super::api::parse_time))
    }

    async fn position(&self, key: &str) -> Result<Position, JiraError> {
        let query = [
            ("fields", "status".into()),
            ("expand", "transitions.fields".into()),
        ];
        let v = self.get_issue(key, &query).await?;
        Ok(Position {
            status: str_at(&v, "/fields/status/name")
                .ok_or_else(|| unexpected("get_issue", "status"))?,
            transitions: transitions(&v),
        })
    }

    async fn transition(
        &self,
        key: &str,
        transition_id: &str,
        resolution: Option<&str>,
    ) -> Result<(), JiraError> {
        const OP: &str = "transition_issue";
        let mut body = json!({"transition": {"id": transition_id}});
        if let Some(name) = resolution {
            body["fields"] = json!({"resolution": {"name": name}});
        }
        let path = format!("/issue/{key}/transitions");
        self.send(OP, || self.request(Method::POST, &path).json(&body))
            .await?;
        Ok(())
    }

    async fn comments(&self, key: &str) -> Result<Vec<JiraComment>, JiraError> {
        Ok(self
            .comment_values(key)
            .await?
            .iter()
            .filter_map(|c| {
                let body = c.get("body")?;
                Some(JiraComment {
                    id: str_at(c, "/id")?,
                    text: match body {
                        Value::String(s) => s.clone(),
                        other => adf::to_text(other),
                    },
                    author: str_at(c, "/author/accountId").or_else(|| str_at(c, "/author/name")),
                })
            })
            .collect())
    }

    async fn comment_events(&self, key: &str) -> Result<Vec<CommentEvent>, JiraError> {
        let issue = json!({ "key": key });
        Ok(self
            .comment_values(key)
            .await?
            .iter()
            .filter_map(|c| comment_from_rest(&issue, c).ok())
            .collect())
    }

    async fn search_page(
        &self,
        jql: &str,
        cursor: Option<&SearchCursor>,
    ) -> Result<SearchPage, JiraError> {
        const OP: &str = "search_issues";
        let mut query = vec![
            ("jql", jql.to_owned()),
            ("fields", SEARCH_FIELDS.to_owned()),
            ("maxResults", "100".to_owned()),
        ];
        let (path, start_at) = match self.flavour {
            Flavour::Cloud => {
                if let Some(SearchCursor::Token(t)) = cursor {
                    query.push(("nextPageToken", t.clone()));
                }
                ("/search/jql", 0)
            }
            Flavour::DataCenter => {
                let start_at = match cursor {
                    Some(SearchCursor::StartAt(n)) => *n,
                    _ => 0,
                };
                query.push(("startAt", start_at.to_string()));
                ("/search", start_at)
            }
        };
        let r = self
            .send(OP, || self.request_q(Method::GET, path, &query))
            .await?;
        let v = self.json(OP, r).await?;
        let mut issues = Vec::new();
        for found in v
            .get("issues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let issue =
                crate::event::jira::issue_from_rest(found).map_err(|e| JiraError::Unexpected {
                    operation: OP,
                    message: e.to_string(),
                })?;
            let listed = found
                .pointer("/fields/comment/comments")
                .and_then(Value::as_array);
            let comments: Vec<CommentEvent> = listed
                .into_iter()
                .flatten()
                .filter_map(|c| comment_from_rest(found, c).ok())
                .collect();
            let total = found
                .pointer("/fields/comment/total")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            issues.push(FoundIssue {
                comments_complete: listed.is_some() && total <= comments.len() as u64,
                comments,
                detail: IssueDetail {
                    issue,
                    resolution: str_at(found, "/fields/resolution/name"),
                    attachments: attachments(found),
                },
            });
        }
        let next = match self.flavour {
            Flavour::Cloud => str_at(&v, "/nextPageToken")
                .filter(|_| !v.get("isLast").and_then(Value::as_bool).unwrap_or(true))
                .map(SearchCursor::Token),
            Flavour::DataCenter => {
                let seen = start_at + issues.len() as u64;
                let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
                (!issues.is_empty() && seen < total).then_some(SearchCursor::StartAt(seen))
            }
        };
        Ok(SearchPage { issues, next })
    }

    async fn add_comment(&self, key: &str, body: &Value) -> Result<String, JiraError> {
        const OP: &str = "add_comment";
        let payload = json!({"body": self.rich(body)});
        let path = format!("/issue/{key}/comment");
        let r = self
            .send(OP, || self.request(Method::POST, &path).json(&payload))
            .await?;
        let v = self.json(OP, r).await?;
        str_at(&v, "/id").ok_or_else(|| unexpected(OP, "id"))
    }

    async fn update_comment(&self, key: &str, id: &str, body: &Value) -> Result<(), JiraError> {
        const OP: &str = "update_comment";
        let payload = json!({"body": self.rich(body)});
        let path = format!("/issue/{key}/comment/{id}");
        self.send(OP, || self.request(Method::PUT, &path).json(&payload))
            .await?;
        Ok(())
    }

    async fn add_attachment(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<Vec<JiraAttachment>, JiraError> {
        const OP: &str = "add_attachment";
        let (form_type, body) = multipart(file_name, content_type, &bytes);
        let path = format!("/issue/{key}/attachments");
        let r = self
            .send(OP, || {
                self.request(Method::POST, &path)
                    // Without it Jira answers 403 "XSRF check failed".
                    .header("X-Atlassian-Token", "no-check")
                    .header(header::CONTENT_TYPE, form_type.clone())
                    .body(body.clone())
            })
            .await?;
        let v = self.json(OP, r).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(attachment)
            .collect())
    }

    async fn download_attachment(
        &self,
        attachment: &JiraAttachment,
        max_bytes: u64,
    ) -> Result<Option<Bytes>, JiraError> {
        const OP: &str = "download_attachment";
        if attachment.size > max_bytes {
            return Ok(None);
        }
        // Cloud answers with a redirect to its media host (followed, without our credentials);
        // Data Center serves the file at its own path outside the REST API.
        let url = match self.flavour {
            Flavour::Cloud => self.url(&format!("/attachment/content/{}", attachment.id)),
            Flavour::DataCenter => format!(
                "{}/secure/attachment/{}/{}",
                self.base,
                attachment.id,
                url::form_urlencoded::byte_serialize(attachment.filename.as_bytes())
                    .collect::<String>()
            ),
        };
        let mut response = self
            .send(OP, || self.http.request(Method::GET, &url))
            .await?;
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Ok(None);
        }
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| JiraError::Unavailable {
            operation: OP,
            message: transport_message(&e),
        })? {
            buf.extend_from_slice(&chunk);
            if buf.len() as u64 > max_bytes {
                return Ok(None);
            }
        }
        Ok(Some(buf.freeze()))
    }

    async fn set_issue_property(
        &self,
        key: &str,
        property: &str,
        value: &Value,
    ) -> Result<(), JiraError> {
        const OP: &str = "set_issue_property";
        let path = format!("/issue/{key}/properties/{property}");
        self.send(OP, || self.request(Method::PUT, &path).json(value))
            .await?;
        Ok(())
    }

    async fn issue_property(&self, key: &str, property: &str) -> Result<Option<Value>, JiraError> {
        const OP: &str = "get_issue_property";
        let path = format!("/issue/{key}/properties/{property}");
        match self.send(OP, || self.request(Method::GET, &path)).await {
            Ok(r) => Ok(self.json(OP, r).await?.get("value").cloned()),
            Err(JiraError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
