//! What the test modules share: the repository's files and the template, parsed.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

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

/// Statements granted for the Lambda platform rather than for the code: the function's own log
/// group and its failed-invocation destination.
const PLATFORM_SIDS: &[&str] = &["Logs", "FailedInvocations"];

/// The actions in a role's inline policies, beyond the platform's.
pub fn template_actions(template: &Value, role: &str) -> BTreeSet<String> {
    let resource = &template["Resources"][role];
    assert_eq!(resource["Type"].as_str(), Some("AWS::IAM::Role"), "{role}");
    let mut actions = BTreeSet::new();
    for policy in resource["Properties"]["Policies"].as_sequence().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            // `!If [condition, statement, AWS::NoValue]`: the statement granted when it holds.
            let statement = match untagged(statement) {
                Value::Sequence(alternatives) => &alternatives[1],
                other => other,
            };
            assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{role}");
            if PLATFORM_SIDS.contains(&statement["Sid"].as_str().unwrap_or_default()) {
                continue;
            }
            match &statement["Action"] {
                Value::String(a) => {
                    actions.insert(a.clone());
                }
                Value::Sequence(list) => {
                    actions.extend(list.iter().map(|a| a.as_str().unwrap().to_owned()))
                }
                other => panic!("{role}: action {other:?}"),
            }
        }
    }
    actions
}

/// `service:Action` tokens in a piece of text.
fn actions_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-'))
        .filter(|word| {
            word.split_once(':').is_some_and(|(service, action)| {
                !service.is_empty()
                    && service.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    && action.starts_with(|c: char| c.is_ascii_uppercase())
                    && action.chars().all(|c| c.is_ascii_alphanumeric())
            })
        })
        .map(str::to_owned)
        .collect()
}

/// The actions deploy/container.md documents for the task role.
pub fn container_actions() -> BTreeSet<String> {
    let doc = read("deploy/container.md");
    let start = doc.find("## IAM permissions of the task role").unwrap();
    let section = &doc[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    actions_in(section)
}
