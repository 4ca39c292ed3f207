//! What stops the service from starting or serving.

use std::net::SocketAddr;

use crate::{backends::BackendsError, config::ConfigError, jira::JiraError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Backends(#[from] BackendsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("{0} needs the AWS SDK, but none was configured")]
    NoAws(&'static str),
    #[error("cannot build the Jira client")]
    Jira(#[source] JiraError),
    #[error(
        "setting `{0}` is required here: nothing keeps a generated one between starts \
         (set it, e.g. to ssm:/<parameter>)"
    )]
    SecretRequired(&'static str),
}
