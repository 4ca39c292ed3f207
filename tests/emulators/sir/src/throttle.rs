//! Injected failures: throttling (429 `ThrottlingException`) and server faults (500
//! `InternalServerException`), switchable at runtime.
//!
//! Both answers use the modelled error shapes, so the SDK classifies them exactly as it would
//! AWS's: its standard retry strategy retries them with backoff, and a test can watch the
//! attempts in the request log. Only SIR API calls count; presigned-URL traffic is never touched.

use std::collections::HashSet;
use std::time::Instant;

use crate::errors::ApiError;
use crate::log::{Injected, Operation};

/// When to answer `ThrottlingException`.
#[derive(Debug, Clone, PartialEq)]
pub enum ThrottleMode {
    Off,
    /// Calls number k, 2k, 3k… (counted from when the mode was set) are throttled.
    EveryNth(u64),
    /// The next n calls are throttled, then calls pass again.
    Next(u64),
    /// The next n calls pass; every call after that is throttled until the mode changes.
    Budget(u64),
    /// A token bucket: `burst` calls at once, refilled at `per_second`.
    Rate {
        per_second: f64,
        burst: f64,
    },
}

/// When to answer `InternalServerException`.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultMode {
    Off,
    EveryNth(u64),
    Next(u64),
}

#[derive(Debug)]
pub struct Injector {
    throttle: ThrottleMode,
    fault: FaultMode,
    /// Only these operations are affected; `None` means every API call.
    only: Option<HashSet<Operation>>,
    retry_after_seconds: Option<u32>,
    throttle_calls: u64,
    fault_calls: u64,
    tokens: f64,
    refilled_at: Instant,
}

impl Default for Injector {
    fn default() -> Self {
        Injector {
            throttle: ThrottleMode::Off,
            fault: FaultMode::Off,
            only: None,
            retry_after_seconds: None,
            throttle_calls: 0,
            fault_calls: 0,
            tokens: 0.0,
            refilled_at: Instant::now(),
        }
    }
}

impl Injector {
    pub fn set_throttle(&mut self, mode: ThrottleMode) {
        if let ThrottleMode::Rate { burst, .. } = &mode {
            self.tokens = *burst;
            self.refilled_at = Instant::now();
        }
        self.throttle = mode;
        self.throttle_calls = 0;
    }

    pub fn set_fault(&mut self, mode: FaultMode) {
        self.fault = mode;
        self.fault_calls = 0;
    }

    /// Restricts injection to some operations (e.g. writes only); `None` for all.
    pub fn set_scope(&mut self, only: Option<HashSet<Operation>>) {
        self.only = only;
    }

    /// Sends `Retry-After: n` with throttling answers (the model binds it to `retryAfterSeconds`).
    pub fn set_retry_after(&mut self, seconds: Option<u32>) {
        self.retry_after_seconds = seconds;
    }

    pub fn throttle_mode(&self) -> ThrottleMode {
        self.throttle.clone()
    }

    /// Decides the fate of one call: `Some` error to answer instead of serving it.
    pub fn check(&mut self, op: Operation) -> Option<(ApiError, Injected)> {
        if !op.is_api_call() {
            return None;
        }
        if let Some(only) = &self.only
            && !only.contains(&op)
        {
            return None;
        }
        if self.should_throttle() {
            return Some((
                ApiError::Throttling {
                    message: "Rate exceeded".to_string(),
                    retry_after_seconds: self.retry_after_seconds,
                },
                Injected::Throttled,
            ));
        }
        if self.should_fault() {
            return Some((
                ApiError::InternalServer("Internal server error (injected by the emulator)".into()),
                Injected::Fault,
            ));
        }
        None
    }

    fn should_throttle(&mut self) -> bool {
        match &mut self.throttle {
            ThrottleMode::Off => false,
            ThrottleMode::EveryNth(k) => {
                self.throttle_calls += 1;
                *k > 0 && self.throttle_calls.is_multiple_of(*k)
            }
            ThrottleMode::Next(n) => {
                if *n > 0 {
                    *n -= 1;
                    true
                } else {
                    false
                }
            }
            ThrottleMode::Budget(n) => {
                if *n > 0 {
                    *n -= 1;
                    false
                } else {
                    true
                }
            }
            ThrottleMode::Rate { per_second, burst } => {
                let now = Instant::now();
                let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
                self.refilled_at = now;
                self.tokens = (self.tokens + elapsed * *per_second).min(*burst);
                if self.tokens >= 1.0 {
                    self.tokens -= 1.0;
                    false
                } else {
                    true
                }
            }
        }
    }

    fn should_fault(&mut self) -> bool {
        match &mut self.fault {
            FaultMode::Off => false,
            FaultMode::EveryNth(k) => {
                self.fault_calls += 1;
                *k > 0 && self.fault_calls.is_multiple_of(*k)
            }
            FaultMode::Next(n) => {
                if *n > 0 {
                    *n -= 1;
                    true
                } else {
                    false
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(inj: &mut Injector, calls: usize) -> Vec<bool> {
        (0..calls)
            .map(|_| inj.check(Operation::GetCase).is_some())
            .collect()
    }

    #[test]
    fn modes() {
        let mut inj = Injector::default();
        assert_eq!(pattern(&mut inj, 3), [false, false, false]);
        inj.set_throttle(ThrottleMode::EveryNth(3));
        assert_eq!(
            pattern(&mut inj, 6),
            [false, false, true, false, false, true]
        );
        inj.set_throttle(ThrottleMode::Next(2));
        assert_eq!(pattern(&mut inj, 3), [true, true, false]);
        inj.set_throttle(ThrottleMode::Budget(2));
        assert_eq!(pattern(&mut inj, 4), [false, false, true, true]);
        inj.set_throttle(ThrottleMode::Rate {
            per_second: 0.0,
            burst: 2.0,
        });
        assert_eq!(pattern(&mut inj, 3), [false, false, true]);
        inj.set_throttle(ThrottleMode::Off);
        inj.set_fault(FaultMode::Next(1));
        let (err, why) = inj.check(Operation::ListCases).unwrap();
        assert_eq!(err.error_type(), "InternalServerException");
        assert_eq!(why, Injected::Fault);
        assert!(inj.check(Operation::PresignedUpload).is_none());
    }

    #[test]
    fn scope_limits_injection() {
        let mut inj = Injector::default();
        inj.set_scope(Some([Operation::UpdateCase].into_iter().collect()));
        inj.set_throttle(ThrottleMode::Budget(0));
        assert!(inj.check(Operation::GetCase).is_none());
        assert!(inj.check(Operation::UpdateCase).is_some());
    }
}
