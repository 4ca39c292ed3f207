//! Limits of the HTTP server and of the queue's workers.

use std::time::Duration;

use super::{
    ConfigError, QueueConfig, Settings,
    values::{millis, secs, within},
};

/// Limits of the HTTP server: the webhook URL is public, so slow or idle clients must not be
/// able to hold the service's connections or file descriptors.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// The largest body either webhook route (Jira's and SNS's) reads: `max_body_bytes`.
    pub webhook_body_limit: usize,
    /// `/metrics` asks for the admin token.
    pub metrics_require_token: bool,
}

pub(super) fn from_settings(s: &Settings) -> Result<ServerConfig, ConfigError> {
    Ok(ServerConfig {
        header_read_timeout: secs(
            "http_header_read_timeout_secs",
            s.http_header_read_timeout_secs,
            10,
            1,
        )?,
        idle_timeout: secs("http_idle_timeout_secs", s.http_idle_timeout_secs, 60, 1)?,
        request_timeout: secs(
            "http_request_timeout_secs",
            s.http_request_timeout_secs,
            60,
            1,
        )?,
        max_connections: within(
            "http_max_connections",
            s.http_max_connections.unwrap_or(1024),
            1..=1_000_000,
        )?,
        webhook_body_limit: within(
            "max_body_bytes",
            s.max_body_bytes.unwrap_or(1024 * 1024),
            1024..=64 * 1024 * 1024,
        )?,
        metrics_require_token: s.metrics_require_token.unwrap_or(false),
    })
}

pub(super) fn queue_from_settings(
    s: &Settings,
    workers: usize,
) -> Result<QueueConfig, ConfigError> {
    let queue = QueueConfig {
        workers: within("workers", workers, 0..=64)?,
        max_attempts: match s.max_attempts.unwrap_or(8) {
            0 => return Err(ConfigError::invalid("max_attempts", "must be at least 1")),
            n => n,
        },
        lease: secs("lease_secs", s.lease_secs, 60, 1)?,
        backoff_base: millis("backoff_base_ms", s.backoff_base_ms, 1_000)?,
        backoff_max: millis("backoff_max_ms", s.backoff_max_ms, 600_000)?,
        retention: secs("retention_secs", s.retention_secs, 7 * 24 * 3600, 60)?,
    };
    if queue.backoff_max < queue.backoff_base {
        return Err(ConfigError::invalid(
            "backoff_max_ms",
            "must not be less than backoff_base_ms",
        ));
    }
    Ok(queue)
}
