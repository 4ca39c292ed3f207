//! Which URLs the gateway may fetch on an SNS message's word: `SigningCertURL` and
//! `SubscribeURL`. Both are attacker-controlled until the signature is verified (and the
//! certificate URL is needed *to* verify it), so they are checked before any request: https,
//! an SNS host of AWS (or an explicitly configured one), no userinfo, no explicit port, no
//! fragment; a certificate URL also has no query and a path ending in `.pem`.

use url::{Host, Url};

/// Why a URL was refused. Safe to return and log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("not a valid URL")]
    Unparseable,
    #[error("scheme must be https")]
    NotHttps,
    #[error("userinfo is not allowed")]
    UserInfo,
    #[error("an explicit port is not allowed")]
    Port,
    #[error("an IP address is not an SNS host")]
    IpAddress,
    #[error("host is not an SNS host (sns.<region>.amazonaws.com[.cn])")]
    Host,
    #[error("a query string is not allowed")]
    Query,
    #[error("a fragment is not allowed")]
    Fragment,
    #[error("path must end in .pem")]
    NotPem,
    #[error("not an SNS ConfirmSubscription URL for this topic")]
    NotConfirmSubscription,
}

/// A URL that passed the rules. Only this module makes them, so a fetch can only ever be
/// handed a checked URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowedUrl(Url);

impl AllowedUrl {
    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[derive(Debug, Clone, Default)]
pub struct UrlRules {
    /// Hosts trusted besides AWS's SNS hosts, lowercase (other partitions).
    extra_hosts: Vec<String>,
}

impl UrlRules {
    pub fn new(extra_hosts: Vec<String>) -> UrlRules {
        UrlRules {
            extra_hosts: extra_hosts
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }

    pub fn signing_cert_url(&self, raw: &str) -> Result<AllowedUrl, UrlRefused> {
        let url = self.common(raw)?;
        if url.query().is_some() {
            return Err(UrlRefused::Query);
        }
        if !url.path().ends_with(".pem") {
            return Err(UrlRefused::NotPem);
        }
        Ok(AllowedUrl(url))
    }

    /// A SubscribeURL: the same host rules, with the `Action=ConfirmSubscription` query it
    /// needs, naming the message's own topic.
    pub fn subscribe_url(&self, raw: &str, topic_arn: &str) -> Result<AllowedUrl, UrlRefused> {
        let url = self.common(raw)?;
        let mut action = None;
        let mut topic = None;
        for (k, v) in url.query_pairs() {
            match &*k {
                "Action" => action = Some(v),
                "TopicArn" => topic = Some(v),
                _ => {}
            }
        }
        if action.as_deref() != Some("ConfirmSubscription") || topic.is_some_and(|t| t != topic_arn)
        {
            return Err(UrlRefused::NotConfirmSubscription);
        }
        Ok(AllowedUrl(url))
    }

    fn common(&self, raw: &str) -> Result<Url, UrlRefused> {
        // The checks run on the parsed URL because that is what a fetch would connect to;
        // the parser has already resolved percent-encoding, IDNA and backslashes in the host.
        let url = Url::parse(raw).map_err(|_| UrlRefused::Unparseable)?;
        if url.scheme() != "https" {
            return Err(UrlRefused::NotHttps);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefused::UserInfo);
        }
        if url.port().is_some() {
            return Err(UrlRefused::Port);
        }
        if url.fragment().is_some() {
            return Err(UrlRefused::Fragment);
        }
        match url.host() {
            Some(Host::Domain(host)) if self.host_allowed(host) => Ok(url),
            Some(Host::Domain(_)) | None => Err(UrlRefused::Host),
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => Err(UrlRefused::IpAddress),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        is_aws_sns_host(host) || self.extra_hosts.iter().any(|h| h == host)
    }
}

/// `^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$`, AWS's documented rule.
fn is_aws_sns_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix("sns.") else {
        return false;
    };
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"));
    region
        .is_some_and(|r| r.len() >= 3 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem";

    #[test]
    fn aws_certificate_urls_pass() {
        let rules = UrlRules::default();
        for ok in [
            GOOD,
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
            "https://sns.us-gov-west-1.amazonaws.com/a/b.pem",
            "https://SNS.US-EAST-1.AMAZONAWS.COM/x.pem",
            "https://sns.us-east-1.amazonaws.com:443/x.pem",
        ] {
            assert!(rules.signing_cert_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn certificate_url_attacks_are_refused() {
        let rules = UrlRules::default();
        let cases = [
            (
                "http://sns.us-east-1.amazonaws.com/x.pem",
                UrlRefused::NotHttps,
            ),
            (
                "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
                UrlRefused::Host,
            ),
            (
                "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
                UrlRefused::Host,
            ),
            (
                "https://user:pw@sns.us-east-1.amazonaws.com/x.pem",
                UrlRefused::UserInfo,
            ),
            (
                "https://user@sns.us-east-1.amazonaws.com/x.pem",
                UrlRefused::UserInfo,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.pem?a=b",
                UrlRefused::Query,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.pem?",
                UrlRefused::Query,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.pem#f",
                UrlRefused::Fragment,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.txt",
                UrlRefused::NotPem,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.pem/",
                UrlRefused::NotPem,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.pem/..",
                UrlRefused::NotPem,
            ),
            ("https://52.94.0.1/x.pem", UrlRefused::IpAddress),
            ("https://[::1]/x.pem", UrlRefused::IpAddress),
            ("https://0x7f000001/x.pem", UrlRefused::IpAddress),
            (
                "https://sns.us-east-1.amazonaws.com:8443/x.pem",
                UrlRefused::Port,
            ),
            (
                "https://sns.us-east-1.amazonaws.com./x.pem",
                UrlRefused::Host,
            ),
            ("https://sns.x.amazonaws.com/x.pem", UrlRefused::Host),
            (
                "https://sns.us_east_1.amazonaws.com/x.pem",
                UrlRefused::Host,
            ),
            (
                "https://sqs.us-east-1.amazonaws.com/x.pem",
                UrlRefused::Host,
            ),
            (
                "https://sns.us-east-1.amazonaws.com%2eevil.example/x.pem",
                UrlRefused::Host,
            ),
            (
                "https://evil.example\\@sns.us-east-1.amazonaws.com/x.pem",
                UrlRefused::Host,
            ),
            (
                "//sns.us-east-1.amazonaws.com/x.pem",
                UrlRefused::Unparseable,
            ),
            ("file:///etc/x.pem", UrlRefused::NotHttps),
        ];
        for (url, want) in cases {
            assert_eq!(rules.signing_cert_url(url), Err(want), "{url}");
        }
    }

    #[test]
    fn extra_hosts_are_exact_and_still_https_only() {
        let rules = UrlRules::new(vec!["SNS.us-iso-east-1.c2s.ic.gov".into()]);
        assert!(
            rules
                .signing_cert_url("https://sns.us-iso-east-1.c2s.ic.gov/x.pem")
                .is_ok()
        );
        assert_eq!(
            rules.signing_cert_url("http://sns.us-iso-east-1.c2s.ic.gov/x.pem"),
            Err(UrlRefused::NotHttps)
        );
        assert_eq!(
            rules.signing_cert_url("https://x.sns.us-iso-east-1.c2s.ic.gov/x.pem"),
            Err(UrlRefused::Host)
        );
        assert!(
            UrlRules::default()
                .signing_cert_url("https://sns.us-iso-east-1.c2s.ic.gov/x.pem")
                .is_err()
        );
    }

    #[test]
    fn subscribe_urls_need_the_same_host_and_this_topic() {
        let rules = UrlRules::default();
        let topic = "arn:aws:sns:us-east-1:123456789012:T";
        let ok = format!(
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&Token=abc"
        );
        assert!(rules.subscribe_url(&ok, topic).is_ok());
        let other_topic = ok.replace(":T&", ":Other&");
        assert_eq!(
            rules.subscribe_url(&other_topic, topic),
            Err(UrlRefused::NotConfirmSubscription)
        );
        let unsubscribe = ok.replace("ConfirmSubscription", "Unsubscribe");
        assert_eq!(
            rules.subscribe_url(&unsubscribe, topic),
            Err(UrlRefused::NotConfirmSubscription)
        );
        for bad in [
            "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
            "https://evil.example/?Action=ConfirmSubscription",
            "https://127.0.0.1/?Action=ConfirmSubscription",
            "https://u@sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        ] {
            assert!(rules.subscribe_url(bad, topic).is_err(), "{bad}");
        }
    }
}
