//! How a request made with the console's cookie is authorized on the admin API.

use axum::http::{HeaderMap, Method};

use super::session::{self, Session};
use crate::http::{ApiError, AppState};

/// The session a request's cookie proves: signed with this admin token, not expired, not
/// signed out.
pub async fn session(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let value =
        session::cookie(headers).ok_or_else(|| ApiError::Unauthorized("not signed in".into()))?;
    let keys = state
        .console
        .sessions
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("no admin token is configured".into()))?;
    let session = keys
        .verify(value, session::now())
        .ok_or_else(|| ApiError::Unauthorized("the session is invalid or has expired".into()))?;
    if session::is_signed_out(state.store.as_ref(), &session).await? {
        return Err(ApiError::Unauthorized("the session was signed out".into()));
    }
    Ok(session)
}

/// Every method that may change something needs the session's CSRF token in a header: a
/// cross-site page can make the browser send the cookie (SameSite aside, for older browsers)
/// but cannot read the token nor set the header without a CORS preflight, which is refused.
pub fn check_csrf(
    state: &AppState,
    session: &Session,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let presented = headers
        .get(session::CSRF_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let keys = state
        .console
        .sessions
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("no admin token is configured".into()))?;
    if keys.csrf_matches(session, presented) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("missing or wrong CSRF token".into()))
    }
}

/// The cookie path of the admin API's authorization: a session, and for a change its CSRF
/// token.
pub async fn authorize(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let session = session(state, headers).await?;
    check_csrf(state, &session, method, headers)
}
