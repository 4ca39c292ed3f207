//! Authentication of inbound deliveries, on the exact raw bytes, in constant time.

pub mod jira;
pub mod sns;
