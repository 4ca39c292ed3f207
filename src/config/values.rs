//! Checks shared by the numeric settings: a default, a lower bound, a name in the error.

use std::time::Duration;

use super::ConfigError;

/// Seconds, at least `min`.
pub(super) fn secs(
    name: &'static str,
    v: Option<u64>,
    default: u64,
    min: u64,
) -> Result<Duration, ConfigError> {
    let v = v.unwrap_or(default);
    if v < min {
        Err(ConfigError::invalid(
            name,
            format!("must be at least {min}"),
        ))
    } else {
        Ok(Duration::from_secs(v))
    }
}

/// Milliseconds, more than zero.
pub(super) fn millis(
    name: &'static str,
    v: Option<u64>,
    default: u64,
) -> Result<Duration, ConfigError> {
    match v.unwrap_or(default) {
        0 => Err(ConfigError::invalid(name, "must be greater than 0")),
        v => Ok(Duration::from_millis(v)),
    }
}

/// A count within `range`.
pub(super) fn within(
    name: &'static str,
    v: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigError> {
    match range.contains(&v) {
        true => Ok(v),
        false => Err(ConfigError::invalid(
            name,
            format!("must be between {} and {}", range.start(), range.end()),
        )),
    }
}
