//! Settings of the AWS Security Incident Response side: where SIR is, who the integration is
//! there, and the poller. Off unless `sir_enabled`, so a gateway without SIR runs as before.

use std::time::Duration;

use super::{ConfigError, Settings};

/// Default poll interval: the "every minute".
const DEFAULT_POLL_INTERVAL_SECS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SirConfig {
    /// Region of the SIR API when it differs from `aws_region`.
    pub region: Option<String>,
    /// Where SIR calls go instead of AWS (the SIR emulator); beats `aws_endpoint_url`, which
    /// usually points at an emulator without SIR (moto).
    pub endpoint_url: Option<String>,
    /// The principal the integration calls SIR as (account id or ARN), as SIR shows it in
    /// `createdBy`/`updatedBy`/`creator`: changes it made are its own echoes.
    pub integration_principal: Option<String>,
    /// `None` when the poller is off (native events only, or polling done by a scheduled
    /// Lambda).
    pub poller: Option<PollerConfig>,
}

impl SirConfig {
    /// Whether `actor`, as SIR reports it, is the integration itself.
    pub fn is_own(&self, actor: &str) -> bool {
        self.integration_principal
            .as_deref()
            .is_some_and(|own| own == actor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollerConfig {
    pub interval: Duration,
    /// How long the replica that polls keeps the poller lease without renewing it: longer
    /// than the interval, so the same replica keeps polling and another takes over only when
    /// it stops.
    pub lease_ttl: Duration,
}

pub(super) fn from_settings(s: &mut Settings) -> Result<Option<SirConfig>, ConfigError> {
    let text = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let region = text(s.sir_region.take());
    let endpoint_url = text(s.sir_endpoint_url.take()).map(|u| u.trim_end_matches('/').to_owned());
    let integration_principal = text(s.sir_integration_principal.take());
    let poller_enabled = s.sir_poller_enabled.take();
    let interval = s.sir_poll_interval_secs.take();
    let lease = s.sir_poll_lease_secs.take();

    if !s.sir_enabled.unwrap_or(false) {
        // A SIR setting without SIR is a mistake to point out, not to ignore.
        let given = [
            ("sir_region", region.is_some()),
            ("sir_endpoint_url", endpoint_url.is_some()),
            ("sir_integration_principal", integration_principal.is_some()),
            ("sir_poller_enabled", poller_enabled.is_some()),
            ("sir_poll_interval_secs", interval.is_some()),
            ("sir_poll_lease_secs", lease.is_some()),
        ];
        if let Some((setting, _)) = given.iter().find(|(_, set)| *set) {
            return Err(ConfigError::invalid(
                setting,
                "has no effect unless sir_enabled = true",
            ));
        }
        return Ok(None);
    }

    if endpoint_url
        .as_deref()
        .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
    {
        return Err(ConfigError::invalid(
            "sir_endpoint_url",
            "must start with https:// or http://",
        ));
    }
    if let Some(r) = &region
        && !r
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ConfigError::invalid(
            "sir_region",
            "must be a region name such as us-east-1",
        ));
    }

    let interval = interval.unwrap_or(DEFAULT_POLL_INTERVAL_SECS);
    if !(1..=86_400).contains(&interval) {
        return Err(ConfigError::invalid(
            "sir_poll_interval_secs",
            "must be between 1 and 86400",
        ));
    }
    let lease = lease.unwrap_or(3 * interval);
    if lease <= interval {
        return Err(ConfigError::invalid(
            "sir_poll_lease_secs",
            "must be greater than sir_poll_interval_secs, so the replica that polls keeps the \
             lease between runs",
        ));
    }
    let poller = poller_enabled.unwrap_or(true).then_some(PollerConfig {
        interval: Duration::from_secs(interval),
        lease_ttl: Duration::from_secs(lease),
    });

    Ok(Some(SirConfig {
        region,
        endpoint_url,
        integration_principal,
        poller,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn sir(s: Settings) -> Result<Option<SirConfig>, String> {
        Config::from_settings(s)
            .map(|c| c.sir)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn off_by_default_and_settings_without_it_are_refused() {
        assert_eq!(sir(Settings::default()).unwrap(), None);
        let err = sir(Settings {
            sir_endpoint_url: Some("http://127.0.0.1:4599".into()),
            ..Settings::default()
        })
        .unwrap_err();
        assert!(err.contains("`sir_endpoint_url`"), "{err}");
        assert!(err.contains("sir_enabled"), "{err}");
    }

    #[test]
    fn defaults_poll_every_minute_under_a_longer_lease() {
        let c = sir(Settings {
            sir_enabled: Some(true),
            ..Settings::default()
        })
        .unwrap()
        .unwrap();
        let poller = c.poller.unwrap();
        assert_eq!(poller.interval, Duration::from_secs(60));
        assert_eq!(poller.lease_ttl, Duration::from_secs(180));
        assert!(!c.is_own("123456789012"));
    }

    #[test]
    fn settings_are_validated_by_name() {
        let refused = |s: Settings, setting: &str| {
            let err = sir(Settings {
                sir_enabled: Some(true),
                ..s
            })
            .unwrap_err();
            assert!(err.contains(&format!("`{setting}`")), "{err}");
        };
        refused(
            Settings {
                sir_endpoint_url: Some("127.0.0.1:4599".into()),
                ..Settings::default()
            },
            "sir_endpoint_url",
        );
        refused(
            Settings {
                sir_poll_interval_secs: Some(0),
                ..Settings::default()
            },
            "sir_poll_interval_secs",
        );
        refused(
            Settings {
                sir_poll_interval_secs: Some(60),
                sir_poll_lease_secs: Some(60),
                ..Settings::default()
            },
            "sir_poll_lease_secs",
        );
        refused(
            Settings {
                sir_region: Some("US East".into()),
                ..Settings::default()
            },
            "sir_region",
        );
    }

    #[test]
    fn the_file_names_are_the_setting_names() {
        let file: Settings = toml::from_str(
            "sir_enabled = true\nsir_region = \"eu-west-1\"\nsir_poll_interval_secs = 30\n\
             sir_integration_principal = \"arn:aws:iam::123456789012:role/sir-jira\"\n",
        )
        .unwrap();
        let c = sir(file).unwrap().unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.poller.unwrap().interval, Duration::from_secs(30));
        assert_eq!(c.poller.unwrap().lease_ttl, Duration::from_secs(90));
        assert!(c.is_own("arn:aws:iam::123456789012:role/sir-jira"));
    }

    #[test]
    fn the_poller_can_be_off_and_the_principal_recognised() {
        let c = sir(Settings {
            sir_enabled: Some(true),
            sir_poller_enabled: Some(false),
            sir_integration_principal: Some(" 123456789012 ".into()),
            sir_endpoint_url: Some("http://127.0.0.1:4599/".into()),
            ..Settings::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(c.poller, None);
        assert!(c.is_own("123456789012"));
        assert_eq!(c.endpoint_url.as_deref(), Some("http://127.0.0.1:4599"));
    }
}
