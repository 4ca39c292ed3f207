//! The admin API under `/v1`: see and repair what the integration did. Every route needs the
//! admin bearer token, or the operator console's session cookie.

pub mod dead_letters;
pub mod doctor;
pub mod events;
pub mod mappings;
pub mod resync;
pub mod status;

use axum::{
    Extension,
    extract::Request,
    http::{HeaderMap, header},
    middleware::Next,
    response::Response,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, AppState, console};
use crate::secret::Secret;

/// Largest page any list endpoint returns.
pub const MAX_PAGE: usize = 500;
pub const DEFAULT_PAGE: usize = 50;

/// Admits requests with `Authorization: Bearer <admin token>` (constant-time comparison), or
/// with a console session cookie (and, to change anything, the session's CSRF token). A
/// request that presents a bearer token is judged by it alone.
pub async fn require_admin(
    Extension(state): Extension<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = request.headers();
    if !headers.contains_key(header::AUTHORIZATION) && console::session::cookie(headers).is_some() {
        console::auth::authorize(&state, request.method(), headers).await?;
    } else {
        check_token(headers, state.admin_token.as_ref())?;
    }
    Ok(next.run(request).await)
}

/// Whether `headers` carry `Authorization: Bearer <expected>`; no expected token refuses all.
pub fn check_token(headers: &HeaderMap, expected: Option<&Secret>) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    match (presented, expected) {
        (Some(token), Some(expected)) if expected.ct_eq(token) => Ok(()),
        (None, _) => Err(ApiError::Unauthorized("missing bearer token".into())),
        _ => Err(ApiError::Unauthorized("invalid bearer token".into())),
    }
}

/// Checks a `limit` query parameter against the documented range.
pub fn page_size(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        ))),
    }
}

/// One page of a list, with the cursor of the next page when there may be one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` (or `before`) to get the next page; absent on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page of `limit` rows read from the store: full, there may be more after its last row,
    /// whose cursor `cursor_of` gives; short, it is the last.
    pub fn of<S>(rows: Vec<S>, limit: usize, cursor_of: impl Fn(&S) -> String) -> Page<T>
    where
        T: From<S>,
    {
        let next = (rows.len() == limit)
            .then(|| rows.last().map(&cursor_of))
            .flatten();
        Page {
            items: rows.into_iter().map(T::from).collect(),
            next,
        }
    }
}

/// Unix milliseconds as RFC 3339; empty when out of range.
pub fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A case id as SIR writes it: 10 to 32 digits.
pub fn case_id(value: &str) -> Result<&str, ApiError> {
    if (10..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(ApiError::BadRequest(
            "case id must be 10 to 32 digits".into(),
        ))
    }
}

/// A Jira issue key such as `SEC-42`.
pub fn issue_key(value: &str) -> Result<&str, ApiError> {
    match crate::domain::ProjectKey::of_issue_key(value) {
        Some(_) => Ok(value),
        None => Err(ApiError::BadRequest(
            "issue key must look like PROJ-123".into(),
        )),
    }
}
