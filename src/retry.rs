//! One backoff rule for every retry in the service: the bus's publish and the backfill's calls,
//! the embedded queue's and the SQS consumer's redeliveries, Jira's 429/503 waits and the
//! DynamoDB store's transaction conflicts.
//!
//! Our own small module rather than a crate such as `backon`: what the retries share is the
//! delay, not the loop. The queue and the SQS consumer schedule the next attempt as data (a
//! row's due time, a message's visibility timeout) instead of sleeping, and Jira's wait is set
//! by its `Retry-After` when it sends one; a loop-driving crate would fit two of the five.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with "equal jitter": half of each delay fixed, half random, so retries
/// spread out without ever collapsing to zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's delay (before jitter).
    pub base: Duration,
    /// No delay is longer.
    pub max: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max }
    }

    /// Delay before retry number `attempt` (1-based): `base` doubled per attempt up to `max`,
    /// then between half of that and all of it.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.base.as_millis() as u64;
        let max = self.max.as_millis() as u64;
        let capped = base
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(30))
            .min(max);
        let half = capped / 2;
        Duration::from_millis(half + rand::rng().random_range(0..=half))
    }

    /// The peer's own wait (`Retry-After`) when it gave one: never under `base` (Jira sends
    /// `0`), plus up to a quarter so waiting clients do not return together, never over `max`.
    /// Without one, [`Backoff::delay`].
    pub fn delay_or_told(&self, attempt: u32, told: Option<Duration>) -> Duration {
        let Some(told) = told else {
            return self.delay(attempt);
        };
        let wait = told.max(self.base);
        let spread = (wait.as_millis() as u64 / 4).max(1);
        (wait + Duration::from_millis(rand::rng().random_range(0..=spread))).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_within_equal_jitter_and_stop_at_the_cap() {
        let b = Backoff::new(100 * MS, 1000 * MS);
        for _ in 0..200 {
            for (attempt, full) in [
                (1, 100),
                (2, 200),
                (3, 400),
                (4, 800),
                (5, 1000),
                (40, 1000),
            ] {
                let d = b.delay(attempt);
                assert!(d >= full / 2 * MS && d <= full * MS, "{attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn a_told_wait_is_kept_within_base_and_max() {
        let b = Backoff::new(1000 * MS, 60_000 * MS);
        for _ in 0..200 {
            let zero = b.delay_or_told(1, Some(Duration::ZERO));
            assert!(zero >= 1000 * MS && zero <= 1250 * MS, "{zero:?}");
            let three = b.delay_or_told(1, Some(3000 * MS));
            assert!(three >= 3000 * MS && three <= 3750 * MS, "{three:?}");
            assert_eq!(
                b.delay_or_told(1, Some(Duration::from_secs(3600))),
                60_000 * MS
            );
        }
    }
}
