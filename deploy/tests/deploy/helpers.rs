//! What the test modules share: the repository's files and the template, parsed.

use std::path::{Path, PathBuf};

use serde_norway::Value;

/// The workspace root (this crate's parent).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

pub fn template() -> Value {
    serde_norway::from_str(&read("deploy/template.yaml")).unwrap()
}

/// The value under a CloudFormation tag (`!If`, `!Ref`, ...) or the value itself.
pub fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

/// moto's server, started by scripts/test.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is unset: run scripts/test, which starts moto's server for the AWS tests"
        )
    })
}

/// SDK configuration for moto as `access_key_id`/`secret`: a fixed region, so the SDK never
/// looks for real credentials (nor at instance metadata).
pub async fn sdk_as(endpoint: &str, access_key_id: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            access_key_id,
            secret,
            None,
            None,
            "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

pub async fn moto_sdk() -> aws_config::SdkConfig {
    sdk_as(&moto_endpoint(), "testing", "testing").await
}

/// A name no other test (nor an earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}
