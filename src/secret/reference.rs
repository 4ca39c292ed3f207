//! Secret settings given by reference instead of by value: `ssm:<parameter>`,
//! `secretsmanager:<secret>[#<json key>]` or `file:<path>`. References are resolved once at
//! start-up ([`crate::config::Config::resolve_secrets`]) through a [`SecretSource`] (the AWS
//! SDK's, in `aws/`); only the reference, never the value, appears
//! in logs and errors.

use std::{fmt, path::PathBuf};

/// Where a secret's value is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An SSM Parameter Store parameter (name or ARN), read with decryption (SecureString).
    Ssm(String),
    /// A Secrets Manager secret (name or ARN); with `key`, the secret string is a JSON object
    /// and the value is that key's string.
    SecretsManager { id: String, key: Option<String> },
    /// A file (e.g. a mounted container secret), trimmed of surrounding whitespace.
    File(PathBuf),
}

impl SecretRef {
    /// `None` when `value` is a literal secret rather than a reference. An unknown prefix is a
    /// literal: only these three prefixes are references.
    pub fn parse(value: &str) -> Option<Result<SecretRef, String>> {
        let (scheme, rest) = value.split_once(':')?;
        let rest = rest.trim();
        let parsed = match scheme {
            "ssm" => Ok(SecretRef::Ssm(rest.to_owned())),
            "secretsmanager" => {
                let (id, key) = match rest.split_once('#') {
                    Some((id, key)) => (id, Some(key.to_owned())),
                    None => (rest, None),
                };
                Ok(SecretRef::SecretsManager {
                    id: id.to_owned(),
                    key,
                })
            }
            "file" => Ok(SecretRef::File(PathBuf::from(rest))),
            _ => return None,
        };
        Some(parsed.and_then(|r| {
            let empty = match &r {
                SecretRef::Ssm(name) => name.is_empty(),
                SecretRef::SecretsManager { id, key } => {
                    id.is_empty() || key.as_ref().is_some_and(|k| k.is_empty())
                }
                SecretRef::File(path) => path.as_os_str().is_empty(),
            };
            if empty {
                Err(format!("reference `{scheme}:` names nothing"))
            } else {
                Ok(r)
            }
        }))
    }

    /// Whether resolving it needs AWS credentials.
    pub fn needs_aws(&self) -> bool {
        !matches!(self, SecretRef::File(_))
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Ssm(name) => write!(f, "ssm:{name}"),
            SecretRef::SecretsManager { id, key: None } => write!(f, "secretsmanager:{id}"),
            SecretRef::SecretsManager { id, key: Some(k) } => {
                write!(f, "secretsmanager:{id}#{k}")
            }
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// Fetches a referenced secret's value. `aws/` implements it with SSM and Secrets Manager; the
/// configuration only knows this trait, so it does not depend on the AWS SDK.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync {
    /// The value, or why it cannot be had (never quoting the value).
    async fn fetch(&self, reference: &SecretRef) -> Result<String, String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_literals_do_not() {
        assert_eq!(
            SecretRef::parse("ssm:/SecurityIncidentResponse/webhookSecret"),
            Some(Ok(SecretRef::Ssm(
                "/SecurityIncidentResponse/webhookSecret".into()
            )))
        );
        assert_eq!(
            SecretRef::parse("secretsmanager:sir/jira#webhook"),
            Some(Ok(SecretRef::SecretsManager {
                id: "sir/jira".into(),
                key: Some("webhook".into())
            }))
        );
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jira-AbCdEf";
        assert_eq!(
            SecretRef::parse(&format!("secretsmanager:{arn}")),
            Some(Ok(SecretRef::SecretsManager {
                id: arn.into(),
                key: None
            }))
        );
        assert_eq!(
            SecretRef::parse("file:/run/secrets/jira"),
            Some(Ok(SecretRef::File("/run/secrets/jira".into())))
        );
        assert!(SecretRef::parse("ssm:").unwrap().is_err());
        assert!(SecretRef::parse("secretsmanager:x#").unwrap().is_err());
        assert_eq!(SecretRef::parse("0123456789abcdef0123"), None);
        assert_eq!(SecretRef::parse("https://not-a-ref"), None);
    }
}
