//! The last thing each peer (Jira, SIR) did to us: shown by the admin status endpoint so an
//! expired token or a throttling storm is visible without reading logs. The sync clients record
//! into it.

use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Jira,
    Sir,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PeerState {
    /// When the last call succeeded (RFC 3339), if any call was made.
    pub last_success_at: Option<String>,
    /// The last error, with secrets already removed by the client.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// The peer refused the integration's credentials (401/403) and no call has succeeded
    /// since: an expired or revoked token. Readiness names it too.
    #[serde(default)]
    pub credentials_refused: bool,
}

#[derive(Debug, Default)]
pub struct PeerHealth {
    jira: Mutex<PeerState>,
    sir: Mutex<PeerState>,
}

impl PeerHealth {
    fn slot(&self, peer: Peer) -> &Mutex<PeerState> {
        match peer {
            Peer::Jira => &self.jira,
            Peer::Sir => &self.sir,
        }
    }

    pub fn record_success(&self, peer: Peer) {
        let mut s = self.slot(peer).lock().unwrap_or_else(|p| p.into_inner());
        s.last_success_at = Some(now());
        s.credentials_refused = false;
    }

    /// A 401/403: recorded like any error, and flagged until a call succeeds again.
    pub fn record_credentials_refused(&self, peer: Peer, error: impl Into<String>) {
        let mut s = self.slot(peer).lock().unwrap_or_else(|p| p.into_inner());
        s.last_error = Some(error.into());
        s.last_error_at = Some(now());
        s.credentials_refused = true;
    }

    pub fn record_error(&self, peer: Peer, error: impl Into<String>) {
        let mut s = self.slot(peer).lock().unwrap_or_else(|p| p.into_inner());
        s.last_error = Some(error.into());
        s.last_error_at = Some(now());
    }

    pub fn get(&self, peer: Peer) -> PeerState {
        self.slot(peer)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
