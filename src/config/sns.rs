//! Settings of `POST /webhooks/sns`: the topics accepted and where certificates come from.

use std::time::Duration;

use super::{ConfigError, Settings};
use crate::domain::TopicArn;

/// Settings of `POST /webhooks/sns`.
#[derive(Debug, Clone)]
pub struct SnsConfig {
    /// Topics whose messages are accepted; empty refuses every message (403).
    pub topic_arns: Vec<TopicArn>,
    /// Hosts trusted for certificate and SubscribeURL fetches besides AWS's own (lowercase).
    pub extra_cert_hosts: Vec<String>,
    /// Where certificate and SubscribeURL fetches go instead of the named host (emulators).
    pub endpoint_url: Option<url::Url>,
    pub cert_cache_size: usize,
    pub cert_cache_ttl: Duration,
}

pub(super) fn from_settings(s: &mut Settings) -> Result<SnsConfig, ConfigError> {
    let sns = SnsConfig {
        topic_arns: s
            .sns_topic_arns
            .take()
            .unwrap_or_default()
            .iter()
            .filter(|a| !a.trim().is_empty())
            .map(|a| TopicArn::parse(a.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::invalid("sns_topic_arns", e.to_string()))?,
        extra_cert_hosts: s
            .sns_extra_cert_hosts
            .take()
            .unwrap_or_default()
            .iter()
            .filter(|h| !h.trim().is_empty())
            .map(|h| cert_host(h.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| ConfigError::invalid("sns_extra_cert_hosts", reason))?,
        endpoint_url: s
            .sns_endpoint_url
            .take()
            .filter(|u| !u.trim().is_empty())
            .map(|u| endpoint_origin(u.trim()))
            .transpose()
            .map_err(|reason| ConfigError::invalid("sns_endpoint_url", reason))?,
        cert_cache_size: match s.sns_cert_cache_size.unwrap_or(32) {
            n @ 1..=10_000 => n,
            _ => {
                return Err(ConfigError::invalid(
                    "sns_cert_cache_size",
                    "must be between 1 and 10000",
                ));
            }
        },
        cert_cache_ttl: Duration::from_secs(match s.sns_cert_cache_ttl_secs.unwrap_or(86_400) {
            n @ 1..=604_800 => n,
            _ => {
                return Err(ConfigError::invalid(
                    "sns_cert_cache_ttl_secs",
                    "must be between 1 and 604800",
                ));
            }
        }),
    };

    Ok(sns)
}

/// A host name trusted for SNS certificate fetches: a DNS name, never an IP address (the
/// rules refuse addresses in URLs, and an extra host must not reopen that door).
fn cert_host(host: &str) -> Result<String, String> {
    let host = host.to_ascii_lowercase();
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !labels_ok || !host.contains('.') || host.len() > 253 {
        return Err(format!("`{host}` is not a host name"));
    }
    if host.parse::<std::net::IpAddr>().is_ok()
        || host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{host}` is an IP address; only host names are accepted"
        ));
    }
    Ok(host)
}

/// An origin (`scheme://host[:port]`) to send SNS fetches to; nothing else may be in it.
fn endpoint_origin(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err("must be an origin only: scheme://host[:port]".into());
    }
    Ok(url)
}
