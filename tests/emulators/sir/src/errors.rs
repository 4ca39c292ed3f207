//! Every error the emulator answers, shaped as the service shapes it, in one place.
//!
//! The SDK finds the error code in the `X-Amzn-ErrorType` header first (then `code`/`__type` in
//! the body), cutting it at `:` and after `#`; AWS's Coral front end appends a `:http://…` suffix,
//! so we do too, which keeps callers honest about reading the code through the SDK. The body
//! carries the modelled members (`message`, and for `ValidationException` `reason` and
//! `fieldList`), which the SDK reads into the typed error variant.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const CORAL_SUFFIX: &str = ":http://internal.amazon.com/coral/com.amazonaws.securityir/";

/// One entry of `ValidationException.fieldList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub name: String,
    pub message: String,
}

/// `ValidationExceptionReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationReason {
    UnknownOperation,
    CannotParse,
    FieldValidationFailed,
    Other,
}

impl ValidationReason {
    fn as_str(self) -> &'static str {
        match self {
            ValidationReason::UnknownOperation => "UNKNOWN_OPERATION",
            ValidationReason::CannotParse => "CANNOT_PARSE",
            ValidationReason::FieldValidationFailed => "FIELD_VALIDATION_FAILED",
            ValidationReason::Other => "OTHER",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Validation {
        message: String,
        reason: ValidationReason,
        fields: Vec<FieldError>,
    },
    ResourceNotFound(String),
    Conflict {
        message: String,
        resource_id: String,
        resource_type: String,
    },
    AccessDenied(String),
    Throttling {
        message: String,
        retry_after_seconds: Option<u32>,
    },
    InternalServer(String),
    /// 423: the service's answer to a `nextToken` it did not issue (our choice, see README).
    InvalidToken(String),
    /// Not a modelled error: the route does not exist. The SDK never sends these.
    UnknownOperation(String),
}

impl ApiError {
    /// A `ValidationException` about the request as a whole (a rule, not one member's shape).
    pub fn rule(message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            reason: ValidationReason::Other,
            fields: Vec::new(),
        }
    }

    pub fn cannot_parse(message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            reason: ValidationReason::CannotParse,
            fields: Vec::new(),
        }
    }

    /// Builds Coral's "N validation error(s) detected" message from the failed members.
    pub fn fields(fields: Vec<FieldError>) -> Self {
        let count = fields.len();
        let detail = fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let noun = if count == 1 { "error" } else { "errors" };
        ApiError::Validation {
            message: format!("{count} validation {noun} detected: {detail}"),
            reason: ValidationReason::FieldValidationFailed,
            fields,
        }
    }

    pub fn case_not_found(case_id: &str) -> Self {
        ApiError::ResourceNotFound(format!("Case {case_id} not found"))
    }

    pub fn conflict(message: impl Into<String>, resource_id: &str, resource_type: &str) -> Self {
        ApiError::Conflict {
            message: message.into(),
            resource_id: resource_id.to_string(),
            resource_type: resource_type.to_string(),
        }
    }

    /// The error code the SDK matches on.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "ValidationException",
            ApiError::ResourceNotFound(_) => "ResourceNotFoundException",
            ApiError::Conflict { .. } => "ConflictException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::Throttling { .. } => "ThrottlingException",
            ApiError::InternalServer(_) => "InternalServerException",
            ApiError::InvalidToken(_) => "InvalidTokenException",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
        }
    }

    /// The status codes of the service model's `@httpError` traits.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::ResourceNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::AccessDenied(_) => StatusCode::FORBIDDEN,
            ApiError::Throttling { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InternalServer(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::InvalidToken(_) => StatusCode::LOCKED,
            ApiError::UnknownOperation(_) => StatusCode::NOT_FOUND,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::Validation { message, .. }
            | ApiError::Conflict { message, .. }
            | ApiError::Throttling { message, .. } => message,
            ApiError::ResourceNotFound(m)
            | ApiError::AccessDenied(m)
            | ApiError::InternalServer(m)
            | ApiError::InvalidToken(m)
            | ApiError::UnknownOperation(m) => m,
        }
    }

    fn body(&self) -> Value {
        match self {
            ApiError::Validation {
                message,
                reason,
                fields,
            } => {
                let mut body = json!({ "message": message, "reason": reason.as_str() });
                if !fields.is_empty() {
                    body["fieldList"] = fields
                        .iter()
                        .map(|f| json!({ "name": f.name, "message": f.message }))
                        .collect();
                }
                body
            }
            ApiError::Conflict {
                message,
                resource_id,
                resource_type,
            } => json!({
                "message": message,
                "resourceId": resource_id,
                "resourceType": resource_type,
            }),
            ApiError::Throttling { message, .. } => json!({
                "message": message,
                "serviceCode": "security-ir",
                "quotaCode": "emulated-request-rate",
            }),
            other => json!({ "message": other.message() }),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message())
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("{}{}", self.error_type(), CORAL_SUFFIX)) {
            headers.insert("x-amzn-errortype", v);
        }
        // `retryAfterSeconds` is bound to the Retry-After header in the model, not the body.
        if let ApiError::Throttling {
            retry_after_seconds: Some(secs),
            ..
        } = &self
        {
            headers.insert("retry-after", HeaderValue::from(*secs));
        }
        response
    }
}
