//! Keeps AWS Security Incident Response cases and Jira issues in step, both ways.
//!
//! The core talks to traits at its seams ([`bus::EventBus`], [`bus::EventSource`],
//! [`store::StateStore`]); [`app::Application`] wires the embedded default (SQLite queue
//! and store), and the AWS deployments wire EventBridge, SQS and DynamoDB behind the same traits.

pub mod app;
pub mod aws;
pub mod backends;
pub mod bus;
pub mod cli;
pub mod config;
pub mod consumer;
pub mod data_dir;
pub mod db;
pub mod domain;
pub mod event;
pub mod http;
pub mod intake;
pub mod jira;
pub mod metrics;
pub mod migrate;
pub mod onboard;
pub mod peers;
pub mod poll;
pub mod retry;
pub mod schedule;
pub mod secret;
pub mod sir;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod verify;
pub mod worker;
