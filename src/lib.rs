//! Keeps AWS Security Incident Response cases and Jira issues in step, both ways.
//!
//! The core talks to traits at its seams ([`bus::EventBus`], [`bus::EventSource`],
//! [`store::StateStore`]); [`startup::Application`] wires the embedded default (SQLite queue
//! and store), and the AWS deployments wire EventBridge, SQS and DynamoDB behind the same traits.

pub mod aws;
pub mod bus;
pub mod cli;
pub mod config;
pub mod consumer;
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
pub mod secret;
pub mod sir;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod verify;
pub mod worker;
