//! The gateway on a TCP port, with the limits a public endpoint needs. The webhook URL must be
//! reachable by Jira Cloud, so anyone can open connections to it: `axum::serve` gives hyper no
//! timer (its header read timeout never fires), keeps idle connections for as long as clients
//! like, and accepts until the process runs out of file descriptors. Here every connection has
//! a deadline for its headers and is closed once it has moved no bytes for the idle timeout, at
//! most `max_connections` are open at once (kept below the open-file limit), and accept errors
//! back off instead of spinning.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// The first pause after an accept error (EMFILE and the like); doubled up to the maximum.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// File descriptors kept free for everything but client connections: the SQLite files, the
/// runtime, the outgoing connections to Jira, SIR and SNS, the logs.
const RESERVED_FDS: u64 = 64;

/// How the server treats connections; from [`crate::config::ServerConfig`].
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// An HTTP/1 client must send a request's whole header within this, including the next
    /// request's on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// A connection that has moved no bytes for this long is closed once its current request
    /// (if any) is answered.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long open connections may finish their requests after shutdown begins.
    pub shutdown_grace: Duration,
}

/// Raises the soft open-file limit to the hard one (the default soft limit, often 1024 or 256,
/// is far below what the kernel allows) and returns the connection cap that leaves
/// [`RESERVED_FDS`] free under it.
pub fn connection_cap(configured: usize) -> usize {
    let soft = raise_open_file_limit();
    let cap = cap_under_limit(configured, soft);
    if cap < configured {
        tracing::warn!(
            configured,
            open_file_limit = soft,
            max_connections = cap,
            "http_max_connections lowered to stay under the open-file limit"
        );
    }
    cap
}

/// `configured`, lowered to leave the reserved descriptors free under `open_file_limit`.
pub fn cap_under_limit(configured: usize, open_file_limit: Option<u64>) -> usize {
    match open_file_limit {
        Some(limit) => {
            let room = limit.saturating_sub(RESERVED_FDS.max(limit / 8)).max(1);
            configured.min(usize::try_from(room).unwrap_or(usize::MAX))
        }
        None => configured,
    }
}

/// The soft open-file limit after raising it as far as the hard one allows; `None` where
/// unknown (unlimited, or not a Unix).
fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        // `None` is unlimited: nothing to raise, nothing to stay under.
        if let (Some(soft), Some(hard)) = (limit.current, limit.maximum)
            && soft < hard
        {
            let raised = Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => {
                    tracing::debug!(from = soft, to = hard, "raised the open-file limit");
                    return Some(hard);
                }
                Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
            }
        }
        limit.current
    }
    #[cfg(not(unix))]
    None
}

/// Serves `app` on `listener` until `shutdown` is cancelled; then stops accepting, lets open
/// connections finish their requests within the grace period, and closes the rest.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    let force = CancellationToken::new();
    let mut backoff = ACCEPT_BACKOFF_MIN;

    loop {
        // A slot first: at the cap, new connections wait in the kernel's backlog instead of
        // taking a descriptor the process may not have.
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = ACCEPT_BACKOFF_MIN;
                stream
            }
            // The client gave up before we accepted: nothing wrong with the listener.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    retry_in_ms = backoff.as_millis() as u64,
                    "cannot accept a connection; backing off"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            stream,
            app.clone(),
            builder.clone(),
            limits.idle_timeout,
            shutdown.clone(),
            force.clone(),
            slot,
        ));
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(limits.shutdown_grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the grace period: closing them"
        );
        force.cancel();
        connections.wait().await;
    }
}

async fn connection(
    stream: TcpStream,
    app: Router,
    builder: Arc<Builder<TokioExecutor>>,
    idle_timeout: Duration,
    shutdown: CancellationToken,
    force: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let conn = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(app));
    tokio::pin!(conn);
    let mut tick = tokio::time::interval((idle_timeout / 4).max(Duration::from_millis(10)));
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.cancelled(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tick.tick() => {
                let idle = activity.idle_for();
                if !closing && idle >= idle_timeout {
                    tracing::trace!(idle_ms = idle.as_millis() as u64, "closing an idle connection");
                    // Closes at once when no request is in flight, else after its answer.
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                } else if closing && idle >= idle_timeout * 2 {
                    // Asked to close and still silent: a client that stopped reading.
                    return;
                }
            }
            _ = force.cancelled() => return,
        }
    }
}

/// Errors of one connection that `accept` reports; the listener is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// When a connection last moved a byte, as milliseconds since it opened.
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }
}

/// A stream that records its activity.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_free_under_the_open_file_limit() {
        assert_eq!(cap_under_limit(1024, None), 1024);
        assert_eq!(cap_under_limit(1024, Some(256)), 192);
        assert_eq!(cap_under_limit(1024, Some(1_048_576)), 1024);
        assert_eq!(cap_under_limit(1024, Some(4096)), 1024);
        assert_eq!(cap_under_limit(5000, Some(4096)), 3584);
        assert_eq!(cap_under_limit(10, Some(16)), 1);
    }
}
