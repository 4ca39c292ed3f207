use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogFormat, LogLevel};

/// Logs go to stderr: JSON lines for machines, human text for terminals. `RUST_LOG`, when
/// set, refines the level (e.g. `info,sir_jira_bridge::db=debug`).
pub fn init(level: LogLevel, format: LogFormat) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(level.as_str()));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // Already initialised (tests start several apps in one process): keep the first.
    let _ = result;
}
