//! The AWS Lambda entry points of sir-jira-bridge: thin wrappers that serve the core library's
//! [`Components`] one invocation at a time. Nothing here decides anything the long-running
//! process does not: the gateway is the same axum router, the consumers run the same decode and
//! the same event handler as the SQS workers, the poller calls the same poll cycle.
//!
//! One binary serves every role; `SIR_JIRA_LAMBDA_ROLE` (or `--role`) says which:
//!
//! | role | invoked by | runs |
//! |---|---|---|
//! | `gateway` | a Function URL or an HTTP API (payload format 2.0) | [`Components::router`] through `lambda_http` |
//! | `consumer` | an EventBridge rule | [`sir_jira_bridge::consumer::EventConsumer`] on the event |
//! | `poller` | a schedule | [`sir_jira_bridge::app::poll_once`] |
//!
//! Every other setting is the service's own (`SIR_JIRA_*`, see the README).

pub mod consumer;
pub mod gateway;
pub mod poller;

use clap::{Parser, ValueEnum};
use lambda_runtime::Diagnostic;
use sir_jira_bridge::{
    app::{Components, StartupError, UnsetSecrets},
    config::{Config, ConfigError, Settings},
    consumer::ConsumeError,
    poll::PollError,
    sync::reconciler::ReconcileError,
};

/// The Lambda binary's settings: its role, and the service's settings (from the environment;
/// flags work too, for local runs).
#[derive(Debug, Parser)]
#[command(
    name = "sir-jira-bridge-lambda",
    version,
    about = "sir-jira-bridge on AWS Lambda: the gateway, a consumer or the poller"
)]
pub struct LambdaArgs {
    /// Which part of the service this function runs.
    #[arg(long, env = "SIR_JIRA_LAMBDA_ROLE")]
    pub role: Role,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The HTTP gateway (Jira and SNS webhooks, admin API, health, metrics).
    Gateway,
    /// Handles events an EventBridge rule delivers.
    Consumer,
    /// One poll cycle per scheduled invocation.
    Poller,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Consumer => "consumer",
            Role::Poller => "poller",
        }
    }

    /// A Lambda keeps nothing between cold starts, so a generated secret would differ per
    /// instance: the gateway needs its secrets configured; the other roles serve no HTTP.
    pub fn unset_secrets(self) -> UnsetSecrets {
        match self {
            Role::Gateway => UnsetSecrets::Refuse,
            Role::Consumer | Role::Poller => UnsetSecrets::Ignore,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(
        "not running on AWS Lambda (AWS_LAMBDA_RUNTIME_API is unset): deploy it, run it under \
         `cargo lambda watch`, or run the long-running process with `sir-jira-bridge serve`"
    )]
    NotOnLambda,
    #[error("the Lambda runtime stopped: {0}")]
    Runtime(lambda_runtime::Error),
}

/// Why one invocation failed. Returning it fails the invocation, so the invoker's retry policy
/// and dead-letter queue take the event.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Consume(#[from] ConsumeError),
    #[error(transparent)]
    Poll(#[from] PollError),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
}

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Diagnostic {
        let error_type = match &error {
            InvocationError::Consume(e) => format!("Consume.{}", e.kind()),
            InvocationError::Poll(PollError::NotConfigured) => "Poll.NotConfigured".to_owned(),
            InvocationError::Poll(PollError::Failed(_)) => "Poll.Failed".to_owned(),
            InvocationError::Reconcile(_) => "Reconcile.Failed".to_owned(),
        };
        Diagnostic {
            error_type,
            error_message: error.to_string(),
        }
    }
}

/// Loads the configuration, builds the components and serves invocations of `args.role` until
/// the runtime stops.
pub async fn run(args: LambdaArgs) -> Result<(), LambdaError> {
    let config = Config::load(args.settings)?;
    sir_jira_bridge::telemetry::init(config.log_level, config.log_format);
    for unknown in &config.unknown_settings {
        tracing::warn!(name = %unknown.name, nearest = ?unknown.nearest, "{unknown}: ignored");
    }
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return Err(LambdaError::NotOnLambda);
    }
    let components = Components::build(config, args.role.unset_secrets()).await?;
    tracing::info!(
        role = args.role.as_str(),
        bus = ?components.config.backends.bus,
        store = ?components.config.backends.store,
        "lambda ready"
    );
    let served = match args.role {
        Role::Gateway => gateway::run(&components).await,
        Role::Consumer => consumer::run(&components).await,
        Role::Poller => poller::run(&components).await,
    };
    served.map_err(LambdaError::Runtime)
}
