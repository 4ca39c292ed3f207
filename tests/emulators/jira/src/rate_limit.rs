//! A switchable rate limit answering 429 with Jira's headers (`Retry-After`, which may be 0,
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`, `RateLimit-Reason`), or
//! 503 with `Retry-After` for the "resource limit" case.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use time::{OffsetDateTime, macros::format_description};

use crate::{
    config::{RateLimitConfig, RateLimitPolicy, RateLimitScope},
    error::JiraError,
};

pub struct RateLimiter {
    config: RateLimitConfig,
    counted: u64,
    window_start: Instant,
    window_count: u32,
    refusals_left: u32,
}

/// Headers every counted, allowed response carries while a policy is active.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub limit: u32,
    pub remaining: u32,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        let refusals_left = match config.policy {
            RateLimitPolicy::Next { n } => n,
            _ => 0,
        };
        Self {
            config,
            counted: 0,
            window_start: Instant::now(),
            window_count: 0,
            refusals_left,
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    pub fn set(&mut self, config: RateLimitConfig) {
        *self = Self::new(config);
    }

    /// Counts a request; `Err` is the refusal to send instead of serving it.
    pub fn check(&mut self, is_write: bool) -> Result<Option<Allowance>, JiraError> {
        if self.config.policy == RateLimitPolicy::Off
            || (self.config.scope == RateLimitScope::Writes && !is_write)
        {
            return Ok(None);
        }
        self.counted += 1;
        let limit = self.config.advertised_limit;
        let refuse = match self.config.policy {
            RateLimitPolicy::Off => false,
            RateLimitPolicy::EveryKth { k } => k > 0 && self.counted.is_multiple_of(u64::from(k)),
            RateLimitPolicy::Next { .. } => {
                if self.refusals_left > 0 {
                    self.refusals_left -= 1;
                    true
                } else {
                    false
                }
            }
            RateLimitPolicy::Budget { limit, window_ms } => {
                let window = Duration::from_millis(window_ms);
                if self.window_start.elapsed() >= window {
                    self.window_start = Instant::now();
                    self.window_count = 0;
                }
                self.window_count += 1;
                self.window_count > limit
            }
        };
        let (limit, remaining) = match self.config.policy {
            RateLimitPolicy::Budget { limit, .. } => {
                (limit, limit.saturating_sub(self.window_count))
            }
            _ => (limit, if refuse { 0 } else { limit.saturating_sub(1) }),
        };
        if !refuse {
            return Ok(Some(Allowance { limit, remaining }));
        }
        if let Some(retry_after) = self.config.unavailable_retry_after_secs {
            return Err(JiraError::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable. Please try again later.",
            )
            .with_header("retry-after", retry_after.to_string()));
        }
        let retry_after = self.config.retry_after_secs;
        let reset = OffsetDateTime::now_utc() + time::Duration::seconds(retry_after as i64);
        let reset = reset
            .format(format_description!("[year]-[month]-[day]T[hour]:[minute]Z"))
            .expect("formattable");
        Err(
            JiraError::message(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.")
                .with_header("retry-after", retry_after.to_string())
                .with_header("x-ratelimit-limit", limit.to_string())
                .with_header("x-ratelimit-remaining", "0".to_owned())
                .with_header("x-ratelimit-reset", reset)
                .with_header("ratelimit-reason", self.config.reason.clone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(policy: RateLimitPolicy) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            policy,
            ..RateLimitConfig::default()
        })
    }

    #[test]
    fn every_other_call() {
        let mut l = limiter(RateLimitPolicy::EveryKth { k: 2 });
        let results: Vec<bool> = (0..6).map(|_| l.check(false).is_ok()).collect();
        assert_eq!(results, [true, false, true, false, true, false]);
    }

    #[test]
    fn budget_per_window() {
        let mut l = limiter(RateLimitPolicy::Budget {
            limit: 2,
            window_ms: 60_000,
        });
        assert!(l.check(true).is_ok());
        assert!(l.check(true).is_ok());
        let e = l.check(true).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
    }

    #[test]
    fn next_n_then_allow() {
        let mut l = limiter(RateLimitPolicy::Next { n: 2 });
        assert!(l.check(false).is_err());
        assert!(l.check(false).is_err());
        assert!(l.check(false).is_ok());
    }

    #[test]
    fn writes_scope_ignores_reads() {
        let mut l = RateLimiter::new(RateLimitConfig {
            policy: RateLimitPolicy::Next { n: 1 },
            scope: RateLimitScope::Writes,
            ..RateLimitConfig::default()
        });
        assert!(l.check(false).is_ok());
        assert!(l.check(true).is_err());
    }
}
