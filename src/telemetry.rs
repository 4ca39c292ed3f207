use std::io::BufWriter;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter};

use crate::config::{LogFormat, LogLevel};

/// Logs go to stderr: JSON lines for machines, human text for terminals. `RUST_LOG`, when
/// set, refines the level (e.g. `info,sir_jira_bridge::db=debug`). Each line is written
/// before the call that logs it returns: for commands, and on Lambda, where a frozen or
/// recycled environment would lose what a background writer still held.
pub fn init(level: LogLevel, format: LogFormat) {
    install(level, format, std::io::stderr);
}

/// Lines waiting for the log writer before the loggers wait for it.
const LOG_QUEUE_LINES: usize = 4096;

/// Keeps the background log writer of [`init_buffered`]; dropping it writes out what is
/// still queued.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _writer: WorkerGuard,
}

/// As [`init`], for the long-running server: lines are formatted where they are logged and
/// written by one thread of their own, many per write, flushed whenever it has caught up.
/// Under load, a write to stderr for every line on the request and worker threads cost more
/// than the rest of the log-only event path (docs/benchmarks.md). Nothing is dropped: a
/// logger that outruns the writer waits for it.
pub fn init_buffered(level: LogLevel, format: LogFormat) -> LogGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        // The default, 128,000 lines, is a 5 MiB channel allocated up front: a fifth of the
        // idle process. A writer this far behind makes the loggers wait either way.
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .thread_name("log-writer")
        // The thread flushes after each batch it drains: a line waits only while more lines
        // are arriving behind it.
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    install(level, format, writer);
    LogGuard { _writer: guard }
}

fn install<W>(level: LogLevel, format: LogFormat, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(level.as_str()));
    let builder = fmt().with_env_filter(filter).with_writer(writer);
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
