//! The AWS SDK, shared by the AWS backends: one [`SdkConfig`] loaded at start-up, and how SDK
//! errors are described and classified.

pub mod permissions;
mod secrets;

use aws_config::{BehaviorVersion, Region, SdkConfig};
// Every SDK crate re-exports the same smithy error types; these work for all of them.
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub use secrets::SecretResolver;

/// Settings of the AWS SDK beyond its own chain (environment, profile, instance role).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsConfig {
    pub region: Option<String>,
    /// Sends every AWS call to this endpoint (emulators).
    pub endpoint_url: Option<String>,
}

/// Loads the SDK configuration once: credentials and region from the SDK's usual chain
/// (environment, profile, container or instance role), overridden by the settings.
pub async fn load(config: &AwsConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    let sdk = loader.load().await;
    tracing::info!(
        region = sdk.region().map(|r| r.as_ref()).unwrap_or("(none)"),
        endpoint = config.endpoint_url.as_deref().unwrap_or("(AWS)"),
        "AWS SDK configured"
    );
    sdk
}

/// How a failed call should be treated by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Throttling, a timeout, a network or server error: the same call may succeed later.
    Transient,
    /// The request itself is wrong (validation, missing resource, access denied).
    Permanent,
}

/// The error code of a service error (`ConditionalCheckFailedException`, …), if the service
/// answered at all.
pub fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// Classifies an SDK error after the SDK's own retries are spent.
pub fn fault<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Fault {
    const TRANSIENT_CODES: &[&str] = &[
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalFailure",
        "InternalServerError",
        "InternalException",
        "ServiceUnavailable",
        "TransactionInProgressException",
    ];
    match err {
        SdkError::ServiceError(e) => match e.err().code() {
            Some(code) if TRANSIENT_CODES.contains(&code) => Fault::Transient,
            _ if e.raw().status().is_server_error() => Fault::Transient,
            _ => Fault::Permanent,
        },
        SdkError::ConstructionFailure(_) => Fault::Permanent,
        _ => Fault::Transient,
    }
}

/// The error with its causes, for logs and error messages (the SDK's own `Display` says only
/// "service error").
pub fn describe<E: std::error::Error + 'static>(err: &SdkError<E>) -> String {
    DisplayErrorContext(err).to_string()
}
