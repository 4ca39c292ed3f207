//! Jira deliveries: admin webhooks sign the body (`X-Hub-Signature: sha256=<hex>`); Automation
//! "Send web request" cannot sign, so it carries a shared secret in a configured header.

use axum::http::{HeaderMap, HeaderName};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

pub const SIGNATURE_HEADER: &str = "x-hub-signature";

/// How a delivery proved where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryProof {
    AdminWebhook,
    Automation,
}

/// Why a delivery was refused. The reason is safe to return and log: it never holds secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing X-Hub-Signature or automation secret header")]
    Missing,
    #[error("unsupported signature method (only sha256 is accepted)")]
    UnsupportedMethod,
    #[error("malformed X-Hub-Signature (expected sha256=<64 hex digits>)")]
    Malformed,
    #[error("signature does not match")]
    BadSignature,
    #[error("automation secret does not match")]
    BadSecret,
}

impl VerifyError {
    /// A short label for logs and counters.
    pub fn reason(self) -> &'static str {
        match self {
            VerifyError::Missing => "missing",
            VerifyError::UnsupportedMethod => "unsupported_method",
            VerifyError::Malformed => "malformed",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::BadSecret => "bad_secret",
        }
    }
}

pub struct JiraVerifier {
    secrets: Vec<Secret>,
    automation_header: HeaderName,
    automation_secret: Option<Secret>,
}

impl JiraVerifier {
    pub fn new(
        secrets: Vec<Secret>,
        automation_header: HeaderName,
        automation_secret: Option<Secret>,
    ) -> Self {
        Self {
            secrets,
            automation_header,
            automation_secret,
        }
    }

    /// A signature header wins over the automation header: a signed delivery is verified as
    /// signed, never downgraded to the weaker check.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<DeliveryProof, VerifyError> {
        if let Some(value) = headers.get(SIGNATURE_HEADER) {
            let value = value.to_str().map_err(|_| VerifyError::Malformed)?;
            return self
                .verify_signature(value, body)
                .map(|()| DeliveryProof::AdminWebhook);
        }
        if let (Some(expected), Some(got)) = (
            &self.automation_secret,
            headers.get(&self.automation_header),
        ) {
            return if expected.ct_eq(got.as_bytes()) {
                Ok(DeliveryProof::Automation)
            } else {
                Err(VerifyError::BadSecret)
            };
        }
        Err(VerifyError::Missing)
    }

    /// True when the automation header is present: the caller may authenticate before reading
    /// the body.
    pub fn automation_header(&self) -> &HeaderName {
        &self.automation_header
    }

    fn verify_signature(&self, header: &str, body: &[u8]) -> Result<(), VerifyError> {
        let (method, hex_sig) = header.split_once('=').ok_or(VerifyError::Malformed)?;
        if !method.trim().eq_ignore_ascii_case("sha256") {
            return Err(VerifyError::UnsupportedMethod);
        }
        let mut sig = [0u8; 32];
        hex::decode_to_slice(hex_sig.trim(), &mut sig).map_err(|_| VerifyError::Malformed)?;
        // Check every active secret; rotation keeps old and new valid together.
        let mut matched = false;
        for secret in &self.secrets {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(body);
            matched |= mac.verify_slice(&sig).is_ok();
        }
        if matched {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }
}

/// `sha256=<hex>` for `body` under `secret`: what Jira sends, and what `send-test-webhook` and
/// the tests send.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> JiraVerifier {
        JiraVerifier::new(
            vec![
                Secret::new("old-secret-0123456789"),
                Secret::new("new-secret-0123456789"),
            ],
            HeaderName::from_static("x-automation-secret"),
            Some(Secret::new("automation-secret-0123")),
        )
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn any_active_secret_verifies() {
        let v = verifier();
        for secret in ["old-secret-0123456789", "new-secret-0123456789"] {
            let h = headers(&[(SIGNATURE_HEADER, &sign(secret, b"{}"))]);
            assert_eq!(v.verify(&h, b"{}"), Ok(DeliveryProof::AdminWebhook));
        }
        let h = headers(&[(SIGNATURE_HEADER, &sign("retired-secret-0123", b"{}"))]);
        assert_eq!(v.verify(&h, b"{}"), Err(VerifyError::BadSignature));
    }

    #[test]
    fn signature_covers_the_exact_bytes() {
        let v = verifier();
        let h = headers(&[(SIGNATURE_HEADER, &sign("new-secret-0123456789", b"{}"))]);
        assert_eq!(v.verify(&h, b"{} "), Err(VerifyError::BadSignature));
    }

    #[test]
    fn rejects_other_methods_and_malformed_values() {
        let v = verifier();
        let cases = [
            ("sha1=abcd", VerifyError::UnsupportedMethod),
            ("md5=abcd", VerifyError::UnsupportedMethod),
            ("sha256=zz", VerifyError::Malformed),
            ("sha256=abcd", VerifyError::Malformed),
            ("nonsense", VerifyError::Malformed),
        ];
        for (value, want) in cases {
            assert_eq!(
                v.verify(&headers(&[(SIGNATURE_HEADER, value)]), b"{}"),
                Err(want)
            );
        }
    }

    #[test]
    fn automation_header_is_checked_and_never_beats_a_bad_signature() {
        let v = verifier();
        let ok = headers(&[("x-automation-secret", "automation-secret-0123")]);
        assert_eq!(v.verify(&ok, b"{}"), Ok(DeliveryProof::Automation));
        let bad = headers(&[("x-automation-secret", "automation-secret-0124")]);
        assert_eq!(v.verify(&bad, b"{}"), Err(VerifyError::BadSecret));
        let both = headers(&[
            ("x-automation-secret", "automation-secret-0123"),
            (SIGNATURE_HEADER, "sha256=00"),
        ]);
        assert_eq!(v.verify(&both, b"{}"), Err(VerifyError::Malformed));
        assert_eq!(
            v.verify(&HeaderMap::new(), b"{}"),
            Err(VerifyError::Missing)
        );
    }

    #[test]
    fn automation_is_closed_without_a_configured_secret() {
        let v = JiraVerifier::new(
            vec![Secret::new("new-secret-0123456789")],
            HeaderName::from_static("x-automation-secret"),
            None,
        );
        let h = headers(&[("x-automation-secret", "")]);
        assert_eq!(v.verify(&h, b"{}"), Err(VerifyError::Missing));
    }
}
