//! The Jira REST client: Cloud v3 (ADF, `Basic email:token`) or Data Center v2 (wiki text,
//! `Bearer PAT`). Every call is counted by operation and status, and recorded in the peer
//! health the admin status shows. 429 and 503 are waited out here (`Retry-After`, at least 1 s,
//! with jitter and a cap); what still fails goes back to the caller classified by
//! [`JiraError`].

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
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
    retry::Backoff,
    secret::Secret,
};

mod endpoints;
mod json;

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
            .map_err(|e| JiraError::client("configure", None, e))?;
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

    /// `Retry-After` (seconds) when Jira sent it, otherwise exponential from `min_wait`; at
    /// most `max_wait` ([`Backoff::delay_or_told`]).
    fn wait_for(&self, response: &Response, attempt: u32) -> Duration {
        let told = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Backoff::new(self.retry.min_wait, self.retry.max_wait).delay_or_told(attempt, told)
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
            .map_err(|e| JiraError::client(operation, Some("body is not JSON"), e))
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
