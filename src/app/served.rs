//! A running [`Application`](super::Application) as a handle: how tests and benchmarks run
//! the service beside themselves.

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

use super::StartupError;

/// An [`Application`] running on its own task ([`Application::spawn`]). Dropping it stops the
/// service without waiting.
pub struct Served {
    pub(super) addr: SocketAddr,
    pub(super) stop: CancellationToken,
    pub(super) task: Option<tokio::task::JoinHandle<Result<(), StartupError>>>,
}

impl Served {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts down gracefully and waits until the service has.
    pub async fn stop(mut self) -> Result<(), StartupError> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.expect("the service task does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
