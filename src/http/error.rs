//! The one error type of the HTTP layer and its mapping to responses. Every error body has
//! the same shape: `{"error": {"code": "...", "message": "..."}}`.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::intake::IntakeError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Authentication failed (signature, secret, SNS certificate); the text never holds secrets.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed here (an SNS topic outside the allow-list).
    #[error("{0}")]
    Forbidden(String),
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Intake(#[from] IntakeError),
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Intake(IntakeError::InFlight) => (StatusCode::CONFLICT, "in_flight"),
            ApiError::Intake(IntakeError::Store(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
            }
            ApiError::Intake(IntakeError::Bus(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "bus_unavailable")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, code, "request failed");
        } else {
            tracing::warn!(error = %self, code, "request refused");
        }
        let mut response = (
            status,
            Json(json!({"error": {"code": code, "message": self.to_string()}})),
        )
            .into_response();
        // Both are retried by Jira and SNS; say when.
        if status == StatusCode::CONFLICT || status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
