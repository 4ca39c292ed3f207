//! Test helpers: a key and self-signed certificate made on the spot, signing exactly as SNS
//! does, and a fetcher that serves canned answers and counts requests.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, pkcs8::DecodePrivateKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AllowedUrl, FetchError, Fetcher, SnsMessage};

pub const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";
pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:JiraNotificationsTopic";

pub struct TestKey {
    pub private: RsaPrivateKey,
    pub cert_pem: String,
}

/// A key whose certificate is valid from `from` to `until` (relative to now).
pub fn make_key(from: time::Duration, until: time::Duration) -> TestKey {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["sns.amazonaws.com".into()]).unwrap();
    let now = OffsetDateTime::now_utc();
    params.not_before = now + from;
    params.not_after = now + until;
    let cert = params.self_signed(&key).unwrap();
    TestKey {
        private: RsaPrivateKey::from_pkcs8_der(&key.serialize_der()).unwrap(),
        cert_pem: cert.pem(),
    }
}

/// One valid key for the whole test binary (RSA key generation is not free).
pub fn key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| make_key(-time::Duration::days(1), time::Duration::days(30)))
}

pub fn sign(key: &TestKey, version: &str, string_to_sign: &str) -> String {
    let data = string_to_sign.as_bytes();
    let signature = match version {
        "1" => key
            .private
            .sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(data)),
        _ => key
            .private
            .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(data)),
    };
    STANDARD.encode(signature.unwrap())
}

pub fn notification(id: &str, subject: Option<&str>, version: &str) -> SnsMessage {
    let mut msg = SnsMessage {
        kind: super::MessageType::Notification,
        message_id: id.into(),
        topic_arn: TOPIC.into(),
        subject: subject.map(str::to_owned),
        message: r#"{"automationData":{"IssueId":"SEC-42"}}"#.into(),
        timestamp: "2026-11-26T14:15:01.123Z".into(),
        signature_version: version.into(),
        signature: String::new(),
        signing_cert_url: CERT_URL.into(),
        subscribe_url: None,
        token: None,
    };
    msg.signature = sign(key(), version, &msg.string_to_sign());
    msg
}

/// Serves fixed answers by URL and counts every request.
#[derive(Default)]
pub struct FakeFetcher {
    pub answers: Mutex<HashMap<String, Result<Bytes, FetchError>>>,
    pub requests: AtomicU64,
    pub delay: Option<Duration>,
}

impl FakeFetcher {
    pub fn serving(url: &str, body: &str) -> Arc<FakeFetcher> {
        let f = FakeFetcher::default();
        f.answer(url, Ok(Bytes::from(body.to_owned())));
        Arc::new(f)
    }

    pub fn answer(&self, url: &str, answer: Result<Bytes, FetchError>) {
        self.answers.lock().unwrap().insert(url.to_owned(), answer);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Fetcher for FakeFetcher {
    async fn get(&self, url: &AllowedUrl, _max: usize) -> Result<Bytes, FetchError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        self.answers
            .lock()
            .unwrap()
            .get(url.as_str())
            .cloned()
            .unwrap_or(Err(FetchError::Status(404)))
    }
}
