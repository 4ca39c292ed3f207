//! The only way SNS handling reaches the network: GET a URL that passed the rules.
//!
//! A trait so tests can count and fake fetches; [`HttpFetcher`] is the real one. It follows no
//! redirects (a redirect would leave the checked host), speaks https only unless an endpoint
//! override is configured, and caps time and response size.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::header;
use bytes::{Bytes, BytesMut};
use url::Url;

use super::url_rules::AllowedUrl;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The host answered with a non-2xx status.
    #[error("HTTP {0}")]
    Status(u16),
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// Connection, TLS or timeout: worth a retry.
    #[error("{0}")]
    Transport(String),
}

impl FetchError {
    /// True when a later retry may succeed (the sender should be told to retry).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status(code) => *code >= 500 || *code == 429 || *code == 408,
            FetchError::TooLarge(_) => false,
            FetchError::Transport(_) => true,
        }
    }
}

#[async_trait]
pub trait Fetcher: Send + Sync {
    /// GETs `url` and returns the body of a 2xx answer, refusing bodies over `max_bytes`.
    async fn get(&self, url: &AllowedUrl, max_bytes: usize) -> Result<Bytes, FetchError>;
}

pub struct HttpFetcher {
    /// Built at the first fetch: building it loads the system's root certificates, which took
    /// longer than the rest of start-up together (docs/benchmarks.md), and most deployments
    /// of the embedded default never receive an SNS message.
    client: tokio::sync::OnceCell<reqwest::Client>,
    /// Origin to send requests to instead of the URL's own: an emulator such as moto, which
    /// serves the certificate path of its own messages.
    endpoint: Option<Url>,
}

impl HttpFetcher {
    pub fn new(endpoint: Option<Url>) -> HttpFetcher {
        HttpFetcher {
            client: tokio::sync::OnceCell::new(),
            endpoint,
        }
    }

    async fn client(&self) -> Result<&reqwest::Client, FetchError> {
        let https_only = self.endpoint.is_none();
        self.client
            .get_or_try_init(|| async move {
                let build = move || {
                    reqwest::Client::builder()
                        .redirect(reqwest::redirect::Policy::none())
                        .https_only(https_only)
                        .connect_timeout(Duration::from_secs(3))
                        .timeout(Duration::from_secs(10))
                        .user_agent(concat!("sir-jira-bridge/", env!("CARGO_PKG_VERSION")))
                        .build()
                };
                // Reading the certificate store blocks.
                let failed = |e: &dyn std::fmt::Display| {
                    FetchError::Transport(format!("cannot build the HTTPS client: {e}"))
                };
                match tokio::task::spawn_blocking(build).await {
                    Ok(built) => built.map_err(|e| failed(&e)),
                    Err(e) => Err(failed(&e)),
                }
            })
            .await
    }

    fn target(&self, url: &Url) -> Url {
        match &self.endpoint {
            None => url.clone(),
            Some(base) => {
                let mut target = base.clone();
                target.set_path(url.path());
                target.set_query(url.query());
                target
            }
        }
    }
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn get(&self, url: &AllowedUrl, max_bytes: usize) -> Result<Bytes, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport(e.without_url().to_string());
        let mut request = self.client().await?.get(self.target(url.url()));
        if self.endpoint.is_some() {
            request = request.header(header::AUTHORIZATION, emulator_authorization(url.url()));
        }
        let mut response = request.send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > max_bytes as u64)
        {
            return Err(FetchError::TooLarge(max_bytes));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

/// An emulator serving every AWS service on one port (moto) picks the service from the
/// credential scope of a SigV4 `Authorization` header. This placeholder names `sns` and the
/// region of the URL's host; it authorizes nothing and is only ever sent to the configured
/// emulator endpoint, never to AWS.
fn emulator_authorization(url: &Url) -> String {
    let region = url
        .host_str()
        .and_then(|h| h.strip_prefix("sns."))
        .and_then(|h| h.split('.').next())
        .unwrap_or("us-east-1");
    format!(
        "AWS4-HMAC-SHA256 Credential=sir-jira-bridge/20000101/{region}/sns/aws4_request, \
         SignedHeaders=host, Signature=0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_override_keeps_path_and_query() {
        let f = HttpFetcher::new(Some(Url::parse("http://127.0.0.1:5000").unwrap()));
        let url = Url::parse("https://sns.us-east-1.amazonaws.com/a/b.pem?x=1").unwrap();
        assert_eq!(f.target(&url).as_str(), "http://127.0.0.1:5000/a/b.pem?x=1");
        let f = HttpFetcher::new(None);
        assert_eq!(f.target(&url), url);
        assert!(emulator_authorization(&url).contains("/us-east-1/sns/aws4_request"));
    }

    #[test]
    fn only_server_side_failures_are_transient() {
        assert!(FetchError::Status(503).is_transient());
        assert!(FetchError::Transport("reset".into()).is_transient());
        assert!(!FetchError::Status(404).is_transient());
        assert!(!FetchError::Status(403).is_transient());
        assert!(!FetchError::TooLarge(1).is_transient());
    }
}
