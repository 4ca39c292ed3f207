//! SDK errors (after the SDK's own retries) classified into [`SirError`], with what the
//! service said: its message and, for validation errors, every field it refused.

use aws_sdk_securityir::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde_json::Value;

use super::{SirCause, SirError};

/// Classifies a failed call. Retryable: throttling, server errors, anything that never got an
/// answer, and access denied (permissions get fixed; the work must not be dropped meanwhile).
/// The classified error keeps the service's own error (or, when there was no answer, the SDK's)
/// as its source.
pub fn classify<E>(err: SdkError<E>) -> SirError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let service = match err {
        SdkError::ServiceError(service) => service,
        unanswered => {
            let message = DisplayErrorContext(&unanswered).to_string();
            // The request could not even be built: no retry changes that.
            let refused = matches!(unanswered, SdkError::ConstructionFailure(_));
            let source: Option<SirCause> = Some(Box::new(unanswered));
            return if refused {
                SirError::Validation { message, source }
            } else {
                SirError::Unavailable { message, source }
            };
        }
    };
    let code = service.err().code().unwrap_or("").to_owned();
    let status = service.raw().status().as_u16();
    let mut message = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        code.clone()
    };
    if let Some(said) = service.err().message().filter(|m| !m.is_empty()) {
        message.push_str(": ");
        message.push_str(said);
    }
    if code == "ValidationException" {
        message.push_str(&field_list(service.raw().body().bytes()));
    }
    let source: Option<SirCause> = Some(Box::new(service.into_err()));
    match code.as_str() {
        "ThrottlingException" => SirError::Throttled { message, source },
        "ValidationException" => SirError::Validation { message, source },
        "ResourceNotFoundException" => SirError::NotFound { message, source },
        "ConflictException" => SirError::Conflict { message, source },
        "AccessDeniedException" => SirError::AccessDenied { message, source },
        _ if status == 429 => SirError::Throttled { message, source },
        _ if status >= 500 => SirError::Unavailable { message, source },
        // InvalidTokenException, ServiceQuotaExceededException, anything new: the request
        // is what is wrong, so it goes to the dead letters with the service's words.
        _ => SirError::Validation { message, source },
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
    use aws_sdk_securityir::{
        config::http::HttpResponse, error::ErrorMetadata, operation::get_case::GetCaseError,
    };
    use std::error::Error as _;

    use super::*;

    /// What the SDK hands back when SIR answered `status` with an error of type `code`.
    fn answered(code: &str, said: &str, status: u16, body: &str) -> SdkError<GetCaseError> {
        let err = GetCaseError::generic(ErrorMetadata::builder().code(code).message(said).build());
        let status = status.try_into().expect("an HTTP status");
        SdkError::service_error(err, HttpResponse::new(status, body.to_owned().into()))
    }

    #[test]
    fn service_errors_keep_the_services_own_error_as_their_source() {
        let refused = r#"{"message":"1 validation error","fieldList":[{"name":"title","message":"too long"}]}"#;
        let cases = [
            (
                answered("ThrottlingException", "slow down", 400, "{}"),
                "SIR throttled the call: ThrottlingException: slow down",
            ),
            (
                answered("ValidationException", "1 validation error", 400, refused),
                "SIR refused the request: ValidationException: 1 validation error (title: too long)",
            ),
            (
                answered("ResourceNotFoundException", "no case 42", 404, "{}"),
                "SIR case or resource not found: ResourceNotFoundException: no case 42",
            ),
            (
                answered("ConflictException", "token reused", 409, "{}"),
                "SIR reported a conflict: ConflictException: token reused",
            ),
            (
                answered("AccessDeniedException", "no", 403, "{}"),
                "SIR denied access: AccessDeniedException: no",
            ),
            (answered("", "", 502, ""), "SIR unavailable: HTTP 502"),
        ];
        for (err, shown) in cases {
            let e = classify(err);
            assert_eq!(e.to_string(), shown);
            let source = e.source().unwrap_or_else(|| panic!("no source: {e:?}"));
            assert!(source.is::<GetCaseError>(), "{source:?}");
        }
    }

    #[test]
    fn calls_without_an_answer_keep_the_sdk_error_as_their_source() {
        let timed_out = || SdkError::<GetCaseError>::timeout_error("no answer within 5 s");
        let e = classify(timed_out());
        assert_eq!(
            e.to_string(),
            format!("SIR unavailable: {}", DisplayErrorContext(&timed_out()))
        );
        assert!(e.is_retryable());
        let source = e.source().unwrap_or_else(|| panic!("no source: {e:?}"));
        assert!(source.is::<SdkError<GetCaseError>>(), "{source:?}");

        let unbuildable = || SdkError::<GetCaseError>::construction_failure("no case id");
        let e = classify(unbuildable());
        assert_eq!(
            e.to_string(),
            format!(
                "SIR refused the request: {}",
                DisplayErrorContext(&unbuildable())
            )
        );
        assert!(e.source().is_some(), "{e:?}");
    }

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
