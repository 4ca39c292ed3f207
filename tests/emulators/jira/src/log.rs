//! Every API request the emulator served, so tests can count calls ("zero writes").

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use axum::http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Account id of the caller; `None` when authentication failed.
    pub account: Option<String>,
    pub write: bool,
    /// When the request reached the emulator (before authentication and rate limiting): what
    /// latency benchmarks measure "the write was issued" by.
    pub received: Instant,
}

impl RequestRecord {
    /// `METHOD path` — handy in assertion messages.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{} -> {}", self.method, self.path, q, self.status),
            None => format!("{} {} -> {}", self.method, self.path, self.status),
        }
    }
}

/// A write changes state. Searches are POSTs that only read.
pub fn is_write(method: &Method, path: &str) -> bool {
    let reading_post = path.ends_with("/search/jql")
        || path.ends_with("/search")
        || path.ends_with("/search/approximate-count")
        || path.ends_with("/comment/list");
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => false,
        Method::POST => !reading_post,
        _ => true,
    }
}

#[derive(Default)]
pub struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
    seq: AtomicU64,
}

impl RequestLog {
    pub fn record(&self, mut r: RequestRecord) {
        r.seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        self.records.lock().expect("lock").push(r);
    }

    /// Every request since the last reset.
    pub fn all(&self) -> Vec<RequestRecord> {
        self.records.lock().expect("lock").clone()
    }

    pub fn filter(&self, keep: impl Fn(&RequestRecord) -> bool) -> Vec<RequestRecord> {
        self.records
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect()
    }

    pub fn writes(&self) -> Vec<RequestRecord> {
        self.filter(|r| r.write)
    }

    pub fn with_prefix(&self, prefix: &str) -> Vec<RequestRecord> {
        self.filter(|r| r.path.starts_with(prefix))
    }

    /// Requests with this method whose path starts with `prefix`.
    pub fn matching(&self, method: &str, prefix: &str) -> Vec<RequestRecord> {
        self.filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(prefix))
    }

    pub fn count(&self) -> usize {
        self.records.lock().expect("lock").len()
    }

    pub fn write_count(&self) -> usize {
        self.writes().len()
    }

    pub fn reset(&self) {
        self.records.lock().expect("lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_reads() {
        assert!(!is_write(&Method::POST, "/rest/api/3/search/jql"));
        assert!(!is_write(&Method::GET, "/rest/api/3/issue/SEC-1"));
        assert!(is_write(&Method::POST, "/rest/api/3/issue"));
        assert!(is_write(&Method::PUT, "/rest/api/3/issue/SEC-1"));
        assert!(is_write(&Method::DELETE, "/rest/api/3/issue/SEC-1"));
    }
}
