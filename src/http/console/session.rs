//! Console sessions: the admin token is exchanged once for a signed, expiring cookie.
//!
//! The cookie is stateless (`<expires>.<nonce>.<mac>`, HMAC-SHA256 under a key derived from the
//! admin token), so it holds on Lambda, where each request may reach another instance, and
//! needs no table. Rotating the admin token invalidates every session at once. Sign-out records
//! a hash of the nonce in the state store until the cookie would have expired anyway, so a copy
//! of a signed-out cookie is refused everywhere.
//!
//! The CSRF token is derived from the same nonce: it is handed to the page in a JSON body
//! (never in a cookie the browser sends by itself), and every state-changing request made with
//! the cookie must echo it in `X-CSRF-Token`.

use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{http::ApiError, secret::Secret, store::StateStore};

/// The session cookie's name.
pub const COOKIE: &str = "sjb_console";
/// The header a cookie-authenticated state change must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts: a working day, then the token is asked for again.
pub const LIFETIME_SECS: i64 = 8 * 3600;

const SIGNED_OUT_PREFIX: &str = "console.signed_out.";

/// A session the cookie proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub expires_at: i64,
    nonce: String,
}

/// Signs and checks session cookies and CSRF tokens with a key derived from the admin token.
pub struct SessionKeys {
    key: [u8; 32],
}

impl SessionKeys {
    pub fn new(admin_token: &Secret) -> SessionKeys {
        // A derived key, not the token itself: a MAC that leaked would say nothing about it.
        let mut mac = Hmac::<Sha256>::new_from_slice(admin_token.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(b"sir-jira-bridge console session v1");
        SessionKeys {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        for part in parts {
            mac.update(part);
            mac.update(b"|");
        }
        mac.finalize().into_bytes().into()
    }

    /// A new session expiring `LIFETIME_SECS` after `now`, and its cookie value.
    pub fn issue(&self, now: i64) -> (Session, String) {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let session = Session {
            expires_at: now + LIFETIME_SECS,
            nonce: hex::encode(nonce),
        };
        let value = format!(
            "{}.{}.{}",
            session.expires_at,
            session.nonce,
            hex::encode(self.session_mac(&session))
        );
        (session, value)
    }

    fn session_mac(&self, s: &Session) -> [u8; 32] {
        self.mac(&[
            b"session",
            s.expires_at.to_string().as_bytes(),
            s.nonce.as_bytes(),
        ])
    }

    /// The session a cookie value proves at `now`: signed by this key and not expired.
    pub fn verify(&self, value: &str, now: i64) -> Option<Session> {
        let mut parts = value.split('.');
        let (expires, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let session = Session {
            expires_at: expires.parse().ok()?,
            nonce: nonce.to_owned(),
        };
        let presented = hex::decode(mac).ok()?;
        let signed: bool = self.session_mac(&session).ct_eq(&presented[..]).into();
        (signed && session.expires_at > now).then_some(session)
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, session: &Session) -> String {
        hex::encode(self.mac(&[b"csrf", session.nonce.as_bytes()]))
    }

    pub fn csrf_matches(&self, session: &Session, presented: &[u8]) -> bool {
        self.csrf(session).as_bytes().ct_eq(presented).into()
    }
}

/// The value of the session cookie in a request, if any.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` of a new session. `Secure` whenever the page is served over https, where a
/// browser would otherwise send the cookie over plain http too; a plain-http loopback install
/// could not keep a `Secure` cookie at all.
pub fn set_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are hex, digits and dots")
}

/// The `Set-Cookie` that makes the browser forget the session.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    set_cookie("", 0, secure)
}

fn signed_out_key(session: &Session) -> String {
    // The store keeps a hash: what it holds cannot be turned back into a cookie.
    format!(
        "{SIGNED_OUT_PREFIX}{}",
        hex::encode(Sha256::digest(session.nonce.as_bytes()))
    )
}

/// Records that `session` was signed out.
pub async fn sign_out(store: &dyn StateStore, session: &Session) -> Result<(), ApiError> {
    store
        .put_checkpoint(&signed_out_key(session), &session.expires_at.to_string())
        .await?;
    Ok(())
}

pub async fn is_signed_out(store: &dyn StateStore, session: &Session) -> Result<bool, ApiError> {
    Ok(store.checkpoint(&signed_out_key(session)).await?.is_some())
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(&Secret::new("admin-token-0123456789"))
    }

    #[test]
    fn a_cookie_verifies_until_it_expires() {
        let (session, value) = keys().issue(1000);
        assert_eq!(keys().verify(&value, 1000), Some(session));
        assert_eq!(keys().verify(&value, 1000 + LIFETIME_SECS), None);
    }

    #[test]
    fn a_cookie_altered_or_signed_under_another_token_is_refused() {
        let (_, value) = keys().issue(1000);
        let later = value.replacen(&(1000 + LIFETIME_SECS).to_string(), "99999999999", 1);
        assert_eq!(keys().verify(&later, 1000), None);
        let other = SessionKeys::new(&Secret::new("another-admin-token-0123"));
        assert_eq!(other.verify(&value, 1000), None);
        assert_eq!(keys().verify("", 1000), None);
        assert_eq!(keys().verify("1.2.3.4", 1000), None);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let (a, _) = keys().issue(1000);
        let (b, _) = keys().issue(1000);
        assert!(keys().csrf_matches(&a, keys().csrf(&a).as_bytes()));
        assert!(!keys().csrf_matches(&a, keys().csrf(&b).as_bytes()));
        assert!(!keys().csrf_matches(&a, b""));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sjb_console=x.y.z; b=2"),
        );
        assert_eq!(cookie(&h), Some("x.y.z"));
    }
}
