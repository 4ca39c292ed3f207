//! SNS signing certificates: parsed from PEM, checked for validity, and cached by URL so a
//! burst of messages costs one fetch.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use prometheus_client::metrics::counter::Counter;
use rsa::{RsaPublicKey, pkcs8::DecodePublicKey, traits::PublicKeyParts};
use tokio::{sync::OnceCell, time::Instant};
use x509_cert::{
    Certificate,
    der::{DecodePem, Encode},
};

use super::{
    fetch::{FetchError, Fetcher},
    url_rules::AllowedUrl,
};

/// AWS's signing certificates are about 2 KB; anything much larger is not one.
const MAX_CERT_BYTES: usize = 64 * 1024;
/// A failed load is remembered this long, so a burst shares one failure instead of queueing
/// a fetch each, while a retry a little later (SNS waits 20 s) tries again.
const FAILURE_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("cannot fetch the signing certificate: {0}")]
    Fetch(FetchError),
    #[error("signing certificate is not a PEM X.509 certificate: {0}")]
    Parse(String),
    #[error("signing certificate does not hold an RSA key of 2048 to 4096 bits")]
    Key,
    #[error("signing certificate has expired")]
    Expired,
    #[error("signing certificate is not valid yet")]
    NotYetValid,
}

/// The public key of a signing certificate and when it may be used.
#[derive(Debug, Clone)]
pub struct SigningCert {
    key: RsaPublicKey,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl SigningCert {
    pub fn from_pem(pem: &[u8]) -> Result<SigningCert, CertError> {
        let cert = Certificate::from_pem(pem).map_err(|e| CertError::Parse(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| CertError::Parse(e.to_string()))?;
        // Only RSA keys are accepted: SNS signs with RSA, and a short key would be forgeable.
        let key = RsaPublicKey::from_public_key_der(&spki).map_err(|_| CertError::Key)?;
        if key.n().bits() < 2048 {
            return Err(CertError::Key);
        }
        Ok(SigningCert {
            key,
            not_before: tbs.validity.not_before.to_system_time(),
            not_after: tbs.validity.not_after.to_system_time(),
        })
    }

    pub fn key(&self) -> &RsaPublicKey {
        &self.key
    }

    pub fn check_valid_at(&self, now: SystemTime) -> Result<(), CertError> {
        if now < self.not_before {
            Err(CertError::NotYetValid)
        } else if now > self.not_after {
            Err(CertError::Expired)
        } else {
            Ok(())
        }
    }
}

/// A bounded cache of certificates by URL, with expiry. Concurrent requests for the same URL
/// share one fetch.
pub struct CertCache {
    fetcher: Arc<dyn Fetcher>,
    slots: Mutex<HashMap<AllowedUrl, Arc<Slot>>>,
    capacity: usize,
    ttl: Duration,
    /// Shared with the metrics registry when the service builds it.
    fetches: Counter,
}

struct Slot {
    created: Instant,
    loaded: OnceCell<Loaded>,
}

struct Loaded {
    result: Result<Arc<SigningCert>, CertError>,
    expires: Instant,
}

impl Slot {
    fn expired(&self, now: Instant) -> bool {
        self.loaded.get().is_some_and(|l| l.expires <= now)
    }
}

impl CertCache {
    /// `fetches` counts every fetch started (pass a registered counter to export it).
    pub fn new(
        fetcher: Arc<dyn Fetcher>,
        capacity: usize,
        ttl: Duration,
        fetches: Counter,
    ) -> CertCache {
        CertCache {
            fetcher,
            slots: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            ttl,
            fetches,
        }
    }

    /// The certificate at `url`, valid now.
    pub async fn get(&self, url: &AllowedUrl) -> Result<Arc<SigningCert>, CertError> {
        let slot = self.slot(url);
        let loaded = slot.loaded.get_or_init(|| self.load(url)).await;
        let cert = loaded.result.clone()?;
        cert.check_valid_at(SystemTime::now())?;
        Ok(cert)
    }

    /// How many certificate fetches were started.
    pub fn fetches(&self) -> u64 {
        self.fetches.get()
    }

    fn slot(&self, url: &AllowedUrl) -> Arc<Slot> {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get(url).filter(|s| !s.expired(now)) {
            return slot.clone();
        }
        if !slots.contains_key(url) && slots.len() >= self.capacity {
            slots.retain(|_, s| !s.expired(now));
            if slots.len() >= self.capacity {
                // Evicting a slot still loading is harmless: its waiters hold their own Arc.
                let oldest = slots
                    .iter()
                    .min_by_key(|(_, s)| s.created)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    slots.remove(&oldest);
                }
            }
        }
        let slot = Arc::new(Slot {
            created: now,
            loaded: OnceCell::new(),
        });
        slots.insert(url.clone(), slot.clone());
        slot
    }

    async fn load(&self, url: &AllowedUrl) -> Loaded {
        self.fetches.inc();
        let result = match self.fetcher.get(url, MAX_CERT_BYTES).await {
            Ok(pem) => SigningCert::from_pem(&pem).and_then(|cert| {
                cert.check_valid_at(SystemTime::now())?;
                Ok(Arc::new(cert))
            }),
            Err(e) => Err(CertError::Fetch(e)),
        };
        let now = Instant::now();
        let expires = match &result {
            Ok(cert) => {
                let left = cert
                    .not_after
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                tracing::info!(url = url.as_str(), "fetched SNS signing certificate");
                now + self.ttl.min(left)
            }
            Err(e) => {
                tracing::warn!(url = url.as_str(), error = %e, "cannot use SNS signing certificate");
                now + FAILURE_TTL
            }
        };
        Loaded { result, expires }
    }
}
