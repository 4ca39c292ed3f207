//! `/console/session`: sign in with the admin token, see the current session, sign out.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::{auth, session};
use crate::http::{ApiError, AppState, extract::Json as JsonBody};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    token: String,
}

/// What the page keeps in memory (never in storage) while signed in.
#[derive(Serialize)]
pub struct SessionView {
    /// Echo in `X-CSRF-Token` on every state-changing request.
    csrf_token: String,
    /// Unix seconds.
    expires_at: i64,
}

/// Whether the page reached us over https: the configured public URL says so, or the TLS
/// proxy (a Lambda Function URL, a load balancer) says so in `X-Forwarded-Proto`. A client
/// forging the header only makes its own cookie stricter.
fn over_https(state: &AppState, headers: &HeaderMap, uri: &Uri) -> bool {
    state.console.https
        || uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// The body is JSON, so a cross-site form cannot post it without a CORS preflight, which is
/// refused: nobody can sign a browser into their own session (login CSRF).
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    JsonBody(body): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    let expected = state.admin_token.as_ref();
    let keys = state.console.sessions.as_ref();
    let (Some(expected), Some(keys)) = (expected, keys) else {
        return Err(ApiError::Unauthorized(
            "no admin token is configured".into(),
        ));
    };
    if !expected.ct_eq(body.token.as_bytes()) {
        tracing::warn!(
            event = "console_sign_in_refused",
            "console sign-in with a wrong token"
        );
        return Err(ApiError::Unauthorized("wrong admin token".into()));
    }
    let (session, value) = keys.issue(session::now());
    let secure = over_https(&state, &headers, &uri);
    tracing::info!(
        event = "console_sign_in",
        expires_at = session.expires_at,
        secure,
        "console session started"
    );
    let view = SessionView {
        csrf_token: keys.csrf(&session),
        expires_at: session.expires_at,
    };
    Ok((
        StatusCode::CREATED,
        [
            (
                header::SET_COOKIE,
                session::set_cookie(&value, session::LIFETIME_SECS, secure),
            ),
            (header::CACHE_CONTROL, "no-store".parse().expect("valid")),
        ],
        Json(view),
    )
        .into_response())
}

/// The current session: how the page, loaded again, learns it is signed in and its CSRF token.
pub async fn current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = auth::session(&state, &headers).await?;
    let keys = state
        .console
        .sessions
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("no admin token is configured".into()))?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(SessionView {
            csrf_token: keys.csrf(&session),
            expires_at: session.expires_at,
        }),
    )
        .into_response())
}

/// Ends the session everywhere, not only in this browser: the store remembers it was signed
/// out until it would have expired.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let session = auth::session(&state, &headers).await?;
    auth::check_csrf(&state, &session, &Method::DELETE, &headers)?;
    session::sign_out(state.store.as_ref(), &session).await?;
    tracing::info!(event = "console_sign_out", "console session ended");
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            session::clear_cookie(over_https(&state, &headers, &uri)),
        )],
    )
        .into_response())
}
