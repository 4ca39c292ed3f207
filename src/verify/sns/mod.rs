//! Amazon SNS HTTP/S deliveries: every message is signed by SNS with the key of a certificate
//! it names in `SigningCertURL`. Verification rebuilds the signed string from the decoded
//! JSON strings, checks the URL before fetching anything, and verifies RSA PKCS#1 v1.5 with
//! SHA-1 (SignatureVersion 1) or SHA-256 (2).

mod cert;
mod fetch;
mod message;
mod url_rules;

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use prometheus_client::metrics::counter::Counter;
use rsa::Pkcs1v15Sign;
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub use cert::{CertCache, CertError, SigningCert};
pub use fetch::{FetchError, Fetcher, HttpFetcher};
pub use message::{MessageError, MessageType, SnsMessage};
pub use url_rules::{AllowedUrl, UrlRefused, UrlRules};

/// Largest SubscribeURL answer read (a small XML document).
const MAX_CONFIRM_BYTES: usize = 64 * 1024;

/// Why a message failed verification. Safe to return and log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsVerifyError {
    #[error("unsupported SignatureVersion `{0}` (1 and 2 are accepted)")]
    UnsupportedVersion(String),
    #[error("SigningCertURL refused: {0}")]
    CertUrl(UrlRefused),
    #[error("Signature is not valid base64")]
    MalformedSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error(transparent)]
    Certificate(CertError),
}

impl SnsVerifyError {
    /// A short label for logs and counters.
    pub fn reason(&self) -> &'static str {
        match self {
            SnsVerifyError::UnsupportedVersion(_) => "unsupported_signature_version",
            SnsVerifyError::CertUrl(_) => "cert_url_refused",
            SnsVerifyError::MalformedSignature => "malformed_signature",
            SnsVerifyError::BadSignature => "bad_signature",
            SnsVerifyError::Certificate(CertError::Fetch(_)) => "cert_fetch_failed",
            SnsVerifyError::Certificate(_) => "bad_certificate",
        }
    }

    /// True when the message may verify on a retry (the certificate host did not answer):
    /// the sender must be told to retry rather than that the message is forged.
    pub fn is_transient(&self) -> bool {
        matches!(self, SnsVerifyError::Certificate(CertError::Fetch(e)) if e.is_transient())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignatureVersion {
    /// SHA1withRSA.
    V1,
    /// SHA256withRSA.
    V2,
}

pub struct SnsVerifier {
    rules: UrlRules,
    certs: CertCache,
    fetcher: Arc<dyn Fetcher>,
}

impl SnsVerifier {
    pub fn new(
        rules: UrlRules,
        fetcher: Arc<dyn Fetcher>,
        cache_size: usize,
        cache_ttl: Duration,
        cert_fetches: Counter,
    ) -> SnsVerifier {
        SnsVerifier {
            rules,
            certs: CertCache::new(fetcher.clone(), cache_size, cache_ttl, cert_fetches),
            fetcher,
        }
    }

    /// Checks everything that needs no network: the signature version and the certificate
    /// URL. A message that fails here never causes a fetch.
    pub fn precheck(&self, msg: &SnsMessage) -> Result<AllowedUrl, SnsVerifyError> {
        signature_version(&msg.signature_version)?;
        self.rules
            .signing_cert_url(&msg.signing_cert_url)
            .map_err(SnsVerifyError::CertUrl)
    }

    /// Verifies the message's signature with the certificate its (checked) URL names.
    pub async fn verify(&self, msg: &SnsMessage) -> Result<(), SnsVerifyError> {
        let cert_url = self.precheck(msg)?;
        let version = signature_version(&msg.signature_version)?;
        let signature = STANDARD
            .decode(msg.signature.trim())
            .map_err(|_| SnsVerifyError::MalformedSignature)?;
        let cert = self
            .certs
            .get(&cert_url)
            .await
            .map_err(SnsVerifyError::Certificate)?;
        let signed = msg.string_to_sign();
        let result = match version {
            SignatureVersion::V1 => cert.key().verify(
                Pkcs1v15Sign::new::<Sha1>(),
                &Sha1::digest(signed.as_bytes()),
                &signature,
            ),
            SignatureVersion::V2 => cert.key().verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signed.as_bytes()),
                &signature,
            ),
        };
        result.map_err(|_| SnsVerifyError::BadSignature)
    }

    /// The SubscribeURL of a verified confirmation, if it passes the host rules.
    pub fn subscribe_url(&self, msg: &SnsMessage) -> Result<AllowedUrl, UrlRefused> {
        let raw = msg.subscribe_url.as_deref().unwrap_or_default();
        self.rules.subscribe_url(raw, &msg.topic_arn)
    }

    /// Confirms a subscription by visiting its (checked) SubscribeURL.
    pub async fn confirm(&self, url: &AllowedUrl) -> Result<(), FetchError> {
        self.fetcher.get(url, MAX_CONFIRM_BYTES).await.map(drop)
    }

    /// How many certificate fetches were started since start-up.
    pub fn cert_fetches(&self) -> u64 {
        self.certs.fetches()
    }
}

fn signature_version(value: &str) -> Result<SignatureVersion, SnsVerifyError> {
    match value {
        "1" => Ok(SignatureVersion::V1),
        "2" => Ok(SignatureVersion::V2),
        other => Err(SnsVerifyError::UnsupportedVersion(
            other.chars().take(16).collect(),
        )),
    }
}

#[cfg(test)]
mod testkit;

#[cfg(test)]
mod tests {
    use super::{testkit::*, *};

    fn verifier(fetcher: Arc<FakeFetcher>) -> SnsVerifier {
        SnsVerifier::new(
            UrlRules::default(),
            fetcher,
            8,
            Duration::from_secs(3600),
            Counter::default(),
        )
    }

    #[tokio::test]
    async fn both_signature_versions_verify_with_and_without_subject() {
        let fetcher = FakeFetcher::serving(CERT_URL, &key().cert_pem);
        let v = verifier(fetcher.clone());
        for version in ["1", "2"] {
            for subject in [None, Some("Jira Automation")] {
                let msg = notification("m-1", subject, version);
                assert_eq!(v.verify(&msg).await, Ok(()), "v{version} {subject:?}");
            }
        }
        assert_eq!(fetcher.requests(), 1);
    }

    #[tokio::test]
    async fn a_one_byte_change_in_any_signed_field_fails() {
        let v = verifier(FakeFetcher::serving(CERT_URL, &key().cert_pem));
        let good = notification("m-1", Some("S"), "2");
        let flip = |s: &mut String| {
            let mut bytes = std::mem::take(s).into_bytes();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
            *s = String::from_utf8(bytes).unwrap();
        };
        type Field = fn(&mut SnsMessage) -> &mut String;
        let edits: [(&str, Field); 5] = [
            ("Message", |m| &mut m.message),
            ("MessageId", |m| &mut m.message_id),
            ("Subject", |m| m.subject.as_mut().unwrap()),
            ("Timestamp", |m| &mut m.timestamp),
            ("TopicArn", |m| &mut m.topic_arn),
        ];
        for (name, field) in edits {
            let mut msg = good.clone();
            flip(field(&mut msg));
            assert_eq!(
                v.verify(&msg).await,
                Err(SnsVerifyError::BadSignature),
                "{name}"
            );
        }
        let mut dropped_subject = good.clone();
        dropped_subject.subject = None;
        assert_eq!(
            v.verify(&dropped_subject).await,
            Err(SnsVerifyError::BadSignature)
        );
        let mut other_type = good.clone();
        other_type.kind = MessageType::UnsubscribeConfirmation;
        assert_eq!(
            v.verify(&other_type).await,
            Err(SnsVerifyError::BadSignature)
        );
        let mut other_version = good.clone();
        other_version.signature_version = "1".into();
        assert_eq!(
            v.verify(&other_version).await,
            Err(SnsVerifyError::BadSignature)
        );
        let mut garbled = good;
        garbled.signature = "not base64!".into();
        assert_eq!(
            v.verify(&garbled).await,
            Err(SnsVerifyError::MalformedSignature)
        );
    }

    #[tokio::test]
    async fn unsupported_versions_and_bad_urls_are_refused_without_a_fetch() {
        let fetcher = FakeFetcher::serving(CERT_URL, &key().cert_pem);
        let v = verifier(fetcher.clone());
        for version in ["3", "", "1 ", "01", "SHA256"] {
            let mut msg = notification("m-1", None, "2");
            msg.signature_version = version.into();
            assert!(matches!(
                v.verify(&msg).await,
                Err(SnsVerifyError::UnsupportedVersion(_))
            ));
        }
        for url in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.pem?a=b",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://127.0.0.1/x.pem",
        ] {
            let mut msg = notification("m-1", None, "2");
            msg.signing_cert_url = url.into();
            let err = v.verify(&msg).await.unwrap_err();
            assert_eq!(err.reason(), "cert_url_refused", "{url}");
        }
        assert_eq!(fetcher.requests(), 0);
        assert_eq!(v.cert_fetches(), 0);
    }

    #[tokio::test]
    async fn a_concurrent_burst_shares_one_fetch() {
        let fetcher = FakeFetcher {
            delay: Some(Duration::from_millis(50)),
            ..FakeFetcher::default()
        };
        fetcher.answer(CERT_URL, Ok(key().cert_pem.clone().into()));
        let fetcher = Arc::new(fetcher);
        let v = Arc::new(verifier(fetcher.clone()));
        let messages: Vec<_> = (0..100)
            .map(|i| notification(&format!("m-{i}"), None, "2"))
            .collect();
        let tasks: Vec<_> = messages
            .into_iter()
            .map(|msg| {
                let v = v.clone();
                tokio::spawn(async move { v.verify(&msg).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
        assert_eq!(fetcher.requests(), 1);
    }

    #[tokio::test]
    async fn unusable_certificates_are_refused() {
        let expired = make_key(-time::Duration::days(30), -time::Duration::days(1));
        let future = make_key(time::Duration::days(1), time::Duration::days(30));
        for (pem, want) in [
            (expired.cert_pem.as_str(), CertError::Expired),
            (future.cert_pem.as_str(), CertError::NotYetValid),
        ] {
            let v = verifier(FakeFetcher::serving(CERT_URL, pem));
            let msg = notification("m-1", None, "2");
            assert_eq!(v.verify(&msg).await, Err(SnsVerifyError::Certificate(want)));
        }
        let v = verifier(FakeFetcher::serving(CERT_URL, "not a certificate"));
        let err = v.verify(&notification("m-1", None, "2")).await.unwrap_err();
        assert!(matches!(
            err,
            SnsVerifyError::Certificate(CertError::Parse(_))
        ));
        assert!(!err.is_transient());
        // Another key's certificate: parses, but the signature does not match it.
        let v = verifier(FakeFetcher::serving(CERT_URL, &other_key().cert_pem));
        assert_eq!(
            v.verify(&notification("m-1", None, "2")).await,
            Err(SnsVerifyError::BadSignature)
        );
    }

    fn other_key() -> TestKey {
        make_key(-time::Duration::days(1), time::Duration::days(1))
    }

    #[tokio::test(start_paused = true)]
    async fn certificates_expire_from_the_cache_and_the_cache_is_bounded() {
        let fetcher = FakeFetcher::serving(CERT_URL, &key().cert_pem);
        let other = CERT_URL.replace("test.pem", "other.pem");
        let third = CERT_URL.replace("test.pem", "third.pem");
        fetcher.answer(&other, Ok(key().cert_pem.clone().into()));
        fetcher.answer(&third, Ok(key().cert_pem.clone().into()));
        let cache = CertCache::new(
            fetcher.clone(),
            2,
            Duration::from_secs(60),
            Counter::default(),
        );
        let rules = UrlRules::default();
        let url = |u: &str| rules.signing_cert_url(u).unwrap();

        cache.get(&url(CERT_URL)).await.unwrap();
        cache.get(&url(CERT_URL)).await.unwrap();
        assert_eq!(fetcher.requests(), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        cache.get(&url(CERT_URL)).await.unwrap();
        assert_eq!(fetcher.requests(), 2, "expired entry is fetched again");

        tokio::time::advance(Duration::from_secs(1)).await;
        cache.get(&url(&other)).await.unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        cache.get(&url(&third)).await.unwrap();
        assert_eq!(fetcher.requests(), 4);
        cache.get(&url(&third)).await.unwrap();
        cache.get(&url(&other)).await.unwrap();
        assert_eq!(fetcher.requests(), 4);
        cache.get(&url(CERT_URL)).await.unwrap();
        assert_eq!(fetcher.requests(), 5, "the oldest entry was evicted");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_is_shared_briefly_then_retried() {
        let fetcher = Arc::new(FakeFetcher::default());
        fetcher.answer(CERT_URL, Err(FetchError::Status(503)));
        let v = verifier(fetcher.clone());
        let msg = notification("m-1", None, "2");
        let err = v.verify(&msg).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(err.reason(), "cert_fetch_failed");
        assert!(v.verify(&msg).await.is_err());
        assert_eq!(fetcher.requests(), 1);

        fetcher.answer(CERT_URL, Ok(key().cert_pem.clone().into()));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(v.verify(&msg).await, Ok(()));
        assert_eq!(fetcher.requests(), 2);

        // Not found on an AWS host: the message named a certificate that does not exist.
        fetcher.answer(CERT_URL, Err(FetchError::Status(404)));
        let missing = FetchError::Status(404);
        assert!(!SnsVerifyError::Certificate(CertError::Fetch(missing)).is_transient());
    }

    #[tokio::test]
    async fn subscribe_urls_are_checked_and_fetched_through_the_fetcher() {
        let confirm = format!(
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t"
        );
        let fetcher = FakeFetcher::serving(&confirm, "<ConfirmSubscriptionResponse/>");
        let v = verifier(fetcher.clone());
        let mut msg = notification("m-1", None, "1");
        msg.kind = MessageType::SubscriptionConfirmation;
        msg.subscribe_url = Some(confirm.clone());
        let url = v.subscribe_url(&msg).unwrap();
        v.confirm(&url).await.unwrap();
        assert_eq!(fetcher.requests(), 1);
        msg.subscribe_url = Some("https://evil.example/?Action=ConfirmSubscription".into());
        assert_eq!(v.subscribe_url(&msg), Err(UrlRefused::Host));
    }
}
