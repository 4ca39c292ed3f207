//! The one error type of the emulator, rendered the way Jira renders its errors:
//! `{"errorMessages":[…],"errors":{field: message}}` with the matching status.

use std::collections::BTreeMap;

use axum::{
    Json,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
pub struct JiraError {
    pub status: StatusCode,
    pub messages: Vec<String>,
    pub errors: BTreeMap<String, String>,
    /// Extra response headers (Retry-After, X-Seraph-LoginReason, …).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Some Jira filters (XSRF) answer plain text, not JSON.
    pub plain_text: Option<String>,
}

pub type JiraResult<T> = Result<T, JiraError>;

impl JiraError {
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            messages: Vec::new(),
            errors: BTreeMap::new(),
            headers: Vec::new(),
            plain_text: None,
        }
    }

    pub fn message(status: StatusCode, message: impl Into<String>) -> Self {
        let mut e = Self::new(status);
        e.messages.push(message.into());
        e
    }

    /// A 400 naming the field at fault, as field validation errors are reported.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST);
        e.errors.insert(field.into(), message.into());
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::message(StatusCode::BAD_REQUEST, message)
    }

    pub fn cannot_set(field: &str) -> Self {
        Self::field(
            field,
            format!(
                "Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."
            ),
        )
    }

    pub fn issue_not_found() -> Self {
        Self::message(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::message(StatusCode::NOT_FOUND, message)
    }

    pub fn unauthorized(credentials_were_sent: bool) -> Self {
        let mut e = Self::message(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        );
        // Jira reports why through Seraph; clients key their "token expired" alarms off it.
        let reason = if credentials_were_sent {
            "AUTHENTICATED_FAILED"
        } else {
            "AUTHENTICATION_DENIED"
        };
        e.headers.push((
            HeaderName::from_static("x-seraph-loginreason"),
            HeaderValue::from_static(reason),
        ));
        e.headers.push((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"protected-area\""),
        ));
        e
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::message(StatusCode::FORBIDDEN, message)
    }

    pub fn xsrf_failed() -> Self {
        let mut e = Self::new(StatusCode::FORBIDDEN);
        e.plain_text = Some("XSRF check failed".into());
        e
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        if let Ok(v) = HeaderValue::from_str(&value) {
            self.headers.push((HeaderName::from_static(name), v));
        }
        self
    }

    /// Merges the field errors and messages of `other` into `self` (both 400s).
    pub fn merge(&mut self, other: JiraError) {
        self.messages.extend(other.messages);
        self.errors.extend(other.errors);
    }
}

impl std::fmt::Display for JiraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        for m in &self.messages {
            write!(f, " {m}")?;
        }
        for (k, v) in &self.errors {
            write!(f, " {k}: {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for JiraError {}

impl IntoResponse for JiraError {
    fn into_response(self) -> Response {
        let mut response = match self.plain_text {
            Some(text) => (
                self.status,
                [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
                text,
            )
                .into_response(),
            None => (
                self.status,
                Json(json!({"errorMessages": self.messages, "errors": self.errors})),
            )
                .into_response(),
        };
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
