//! The HTTP surface: the service's REST-JSON routes (paths and methods exactly as the SDK sends
//! them), the presigned-URL routes, and the gate every request passes through (who is calling,
//! injected throttling/faults, the request log).

mod admin;
mod attachments;
mod cases;
mod comments;
mod memberships;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{Principal, parse_authorization};
use crate::errors::ApiError;
use crate::log::{Operation, RequestRecord};
use crate::shared::Shared;
use crate::validate::{Validator, is_case_id};

pub(crate) type App = State<Arc<Shared>>;

/// The largest attachment the model allows (`ContentLength` ≤ 100 MiB), plus headroom.
const MAX_ATTACHMENT_BYTES: usize = 104_857_600 + 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/create-case", post(cases::create_case))
        .route("/v1/list-cases", post(cases::list_cases))
        .route("/v1/cases/{case_id}/get-case", get(cases::get_case))
        .route("/v1/cases/{case_id}/update-case", post(cases::update_case))
        .route(
            "/v1/cases/{case_id}/update-case-status",
            post(cases::update_case_status),
        )
        .route("/v1/cases/{case_id}/close-case", post(cases::close_case))
        .route(
            "/v1/cases/{case_id}/update-resolver-type",
            post(cases::update_resolver_type),
        )
        .route(
            "/v1/cases/{case_id}/list-case-edits",
            post(cases::list_case_edits),
        )
        .route(
            "/v1/cases/{case_id}/create-comment",
            post(comments::create_comment),
        )
        .route(
            "/v1/cases/{case_id}/list-comments",
            post(comments::list_comments),
        )
        .route(
            "/v1/cases/{case_id}/update-case-comment/{comment_id}",
            put(comments::update_comment),
        )
        .route(
            "/v1/cases/{case_id}/get-presigned-url",
            post(attachments::upload_url),
        )
        .route(
            "/v1/cases/{case_id}/get-presigned-url/{attachment_id}",
            get(attachments::download_url),
        )
        .route("/v1/memberships", post(memberships::list_memberships))
        .route(
            "/v1/membership/{membership_id}",
            get(memberships::get_membership),
        )
        .route(
            "/_presigned/{case_id}/{attachment_id}",
            put(attachments::presigned_put)
                .get(attachments::presigned_get)
                .layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES)),
        )
        .route(
            "/_emulator/requests",
            get(admin::requests).delete(admin::reset_requests),
        )
        .route("/_emulator/events", get(admin::events))
        .route("/_emulator/throttle", put(admin::set_throttle))
        .route("/_emulator/seed", post(admin::seed))
        .route(
            "/_emulator/analyst/cases/{case_id}/{action}",
            post(admin::analyst),
        )
        .fallback(unknown_operation)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Which operation a request is, and the case it names, from its method and path alone (so
/// that throttled and refused requests are logged with their operation too).
pub(crate) fn classify(method: &Method, path: &str) -> (Operation, Option<String>) {
    use Operation::*;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (op, case_id) = match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "create-case"]) => (CreateCase, None),
        ("POST", ["v1", "list-cases"]) => (ListCases, None),
        ("POST", ["v1", "memberships"]) => (ListMemberships, None),
        ("GET", ["v1", "membership", _]) => (GetMembership, None),
        ("GET", ["v1", "cases", id, "get-case"]) => (GetCase, Some(*id)),
        ("POST", ["v1", "cases", id, "update-case"]) => (UpdateCase, Some(*id)),
        ("POST", ["v1", "cases", id, "update-case-status"]) => (UpdateCaseStatus, Some(*id)),
        ("POST", ["v1", "cases", id, "close-case"]) => (CloseCase, Some(*id)),
        ("POST", ["v1", "cases", id, "update-resolver-type"]) => (UpdateResolverType, Some(*id)),
        ("POST", ["v1", "cases", id, "list-case-edits"]) => (ListCaseEdits, Some(*id)),
        ("POST", ["v1", "cases", id, "create-comment"]) => (CreateCaseComment, Some(*id)),
        ("POST", ["v1", "cases", id, "list-comments"]) => (ListComments, Some(*id)),
        ("PUT", ["v1", "cases", id, "update-case-comment", _]) => (UpdateCaseComment, Some(*id)),
        ("POST", ["v1", "cases", id, "get-presigned-url"]) => {
            (GetCaseAttachmentUploadUrl, Some(*id))
        }
        ("GET", ["v1", "cases", id, "get-presigned-url", _]) => {
            (GetCaseAttachmentDownloadUrl, Some(*id))
        }
        ("PUT", ["_presigned", id, _]) => (PresignedUpload, Some(*id)),
        ("GET", ["_presigned", id, _]) => (PresignedDownload, Some(*id)),
        _ => (Unknown, None),
    };
    (op, case_id.map(str::to_string))
}

fn authenticate(app: &Shared, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let scope = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization)
        .ok_or_else(|| {
            ApiError::AccessDenied(
                "Missing or malformed SigV4 Authorization header (the emulator needs one to know the caller)"
                    .into(),
            )
        })?;
    if app
        .denied
        .lock()
        .expect("denied poisoned")
        .contains(&scope.access_key_id)
    {
        return Err(ApiError::AccessDenied(format!(
            "User with access key {} is not authorized to perform this action",
            scope.access_key_id
        )));
    }
    Ok(app.read(|s| s.principals.resolve(&scope.access_key_id)))
}

async fn gate(State(app): App, mut req: Request, next: Next) -> Response {
    let received = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if path.starts_with("/_emulator/") {
        return next.run(req).await;
    }
    let (operation, case_id) = classify(&method, &path);
    let mut principal = None;
    let mut injected = None;
    let mut response = if operation.is_api_call() {
        match authenticate(&app, req.headers()) {
            Err(e) => e.into_response(),
            Ok(p) => {
                principal = Some(p.clone());
                let verdict = app
                    .injector
                    .lock()
                    .expect("injector poisoned")
                    .check(operation);
                match verdict {
                    Some((err, why)) => {
                        injected = Some(why);
                        err.into_response()
                    }
                    None => {
                        req.extensions_mut().insert(p);
                        next.run(req).await
                    }
                }
            }
        }
    } else {
        next.run(req).await
    };
    if operation.is_api_call() || operation == Operation::Unknown {
        let request_id = uuid::Uuid::new_v4().to_string();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
    }
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).to_string());
    let at = app.read(|s| s.now());
    app.log.push(RequestRecord {
        seq: 0,
        at,
        operation,
        method: method.to_string(),
        path,
        case_id,
        status: response.status().as_u16(),
        error_type,
        principal,
        injected,
        received,
    });
    response
}

async fn unknown_operation(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::UnknownOperation(format!("No operation matches {method} {}", uri.path()))
        .into_response()
}

/// Parses a JSON request body into the operation's input; an empty body is `{}`.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let bytes: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::cannot_parse(format!("Could not parse the request body: {e}")))
}

/// The body minus its `clientToken`, for comparing a retried idempotent call with the first.
pub(crate) fn fingerprint(body: &Bytes) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.remove("clientToken");
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::to_string(&entries).unwrap_or_default()
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

pub(crate) fn check_case_id(case_id: &str) -> Result<(), ApiError> {
    let mut v = Validator::new();
    if (10..=32).contains(&case_id.chars().count()) {
        v.pattern("caseId", is_case_id(case_id), "\\d{10,32}.*");
    } else {
        v.length("caseId", case_id, 10, 32);
    }
    v.finish()
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_route() {
        let cases = [
            ("POST", "/v1/create-case", Operation::CreateCase),
            ("POST", "/v1/list-cases", Operation::ListCases),
            ("GET", "/v1/cases/1234567890/get-case", Operation::GetCase),
            (
                "PUT",
                "/v1/cases/1234567890/update-case-comment/123456",
                Operation::UpdateCaseComment,
            ),
            (
                "GET",
                "/v1/cases/1234567890/get-presigned-url/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                Operation::GetCaseAttachmentDownloadUrl,
            ),
            (
                "GET",
                "/v1/cases/1234567890/update-case",
                Operation::Unknown,
            ),
        ];
        for (m, p, op) in cases {
            let (got, _) = classify(&Method::from_bytes(m.as_bytes()).unwrap(), p);
            assert_eq!(got, op, "{m} {p}");
        }
        let (_, id) = classify(&Method::POST, "/v1/cases/1234567890/close-case");
        assert_eq!(id.as_deref(), Some("1234567890"));
    }
}
