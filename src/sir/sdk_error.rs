//! SDK errors (after the SDK's own retries) classified into [`SirError`], with what the
//! service said: its message and, for validation errors, every field it refused.

use aws_sdk_securityir::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde_json::Value;

use super::SirError;

/// Classifies a failed call. Retryable: throttling, server errors, anything that never got an
/// answer, and access denied (permissions get fixed; the work must not be dropped meanwhile).
pub fn classify<E>(err: SdkError<E>) -> SirError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let SdkError::ServiceError(service) = &err else {
        return match err {
            // The request could not even be built: no retry changes that.
            SdkError::ConstructionFailure(_) => {
                SirError::Validation(DisplayErrorContext(&err).to_string())
            }
            _ => SirError::Unavailable(DisplayErrorContext(&err).to_string()),
        };
    };
    let code = service.err().code().unwrap_or("");
    let message = service.err().message().unwrap_or("").to_owned();
    let status = service.raw().status().as_u16();
    let described = |extra: String| {
        let mut text = if code.is_empty() {
            format!("HTTP {status}")
        } else {
            code.to_owned()
        };
        if !message.is_empty() {
            text.push_str(": ");
            text.push_str(&message);
        }
        text + &extra
    };
    match code {
        "ThrottlingException" => SirError::Throttled(described(String::new())),
        "ValidationException" => {
            SirError::Validation(described(field_list(service.raw().body().bytes())))
        }
        "ResourceNotFoundException" => SirError::NotFound(described(String::new())),
        "ConflictException" => SirError::Conflict(described(String::new())),
        "AccessDeniedException" => SirError::AccessDenied(described(String::new())),
        _ if status == 429 => SirError::Throttled(described(String::new())),
        _ if status >= 500 => SirError::Unavailable(described(String::new())),
        // InvalidTokenException, ServiceQuotaExceededException, anything new: the request
        // is what is wrong, so it goes to the dead letters with the service's words.
        _ => SirError::Validation(described(String::new())),
    }
}

/// ` (title: …; watchers.2.member.email: …)` from a ValidationException body, or nothing.
fn field_list(body: Option<&[u8]>) -> String {
    let fields = body
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|v| v.get("fieldList").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let parts: Vec<String> = fields
        .iter()
        .filter_map(|f| {
            let name = f.get("name")?.as_str()?;
            let message = f.get("message").and_then(Value::as_str).unwrap_or("");
            Some(format!("{name}: {message}"))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_name_every_refused_member() {
        let body = br#"{"message":"1 validation error","reason":"FIELD_VALIDATION_FAILED",
            "fieldList":[{"name":"title","message":"Member must have length less than or equal to 300"},
                         {"name":"watchers.2.member.email","message":"bad"}]}"#;
        assert_eq!(
            field_list(Some(body)),
            " (title: Member must have length less than or equal to 300; watchers.2.member.email: bad)"
        );
        assert_eq!(field_list(Some(b"{}")), "");
        assert_eq!(field_list(None), "");
    }
}
