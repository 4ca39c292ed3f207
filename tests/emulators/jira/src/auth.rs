//! Who is calling: Cloud `Basic base64(email:api_token)`, Data Center `Bearer <PAT>`. Anything
//! else, or a credential of a deactivated account, is a 401.

use axum::http::{HeaderMap, header};
use base64::Engine;

use crate::{error::JiraError, state::State};

/// The authenticated account of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: String,
    pub admin: bool,
}

pub fn authenticate(state: &State, headers: &HeaderMap) -> Result<Caller, JiraError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(JiraError::unauthorized(false));
    };
    let refused = || JiraError::unauthorized(true);
    let value = value.to_str().map_err(|_| refused())?;
    let (scheme, credential) = value.split_once(' ').ok_or_else(refused)?;
    let mode = state.site.mode;
    let account = if scheme.eq_ignore_ascii_case("basic") && mode.accepts_basic() {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credential.trim())
            .map_err(|_| refused())?;
        let decoded = String::from_utf8(decoded).map_err(|_| refused())?;
        let (email, token) = decoded.split_once(':').ok_or_else(refused)?;
        state
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email) && a.api_token.as_deref() == Some(token))
    } else if scheme.eq_ignore_ascii_case("bearer") && mode.accepts_bearer() {
        let token = credential.trim();
        state
            .accounts
            .iter()
            .find(|a| a.pat.as_deref() == Some(token))
    } else {
        None
    };
    match account {
        Some(a) if a.active => Ok(Caller {
            account_id: a.account_id.clone(),
            admin: a.admin,
        }),
        _ => Err(refused()),
    }
}

/// `Authorization` header value for Basic auth.
pub fn basic_header(email: &str, token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
    )
}
