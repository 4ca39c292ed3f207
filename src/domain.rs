//! Identifiers that are validated once, at the edge, and trusted everywhere after.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not a Jira project key: {reason}")]
pub struct InvalidKey {
    value: String,
    reason: &'static str,
}

/// A Jira project key such as `SEC`: an uppercase letter, then uppercase letters, digits or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectKey(String);

impl ProjectKey {
    pub fn parse(value: &str) -> Result<ProjectKey, InvalidKey> {
        let invalid = |reason| InvalidKey {
            value: value.chars().take(64).collect(),
            reason,
        };
        let mut chars = value.chars();
        match chars.next() {
            None => return Err(invalid("empty")),
            Some(c) if !c.is_ascii_uppercase() => {
                return Err(invalid("must start with an uppercase letter"));
            }
            Some(_) => {}
        }
        if value.len() > 255 {
            return Err(invalid("longer than 255 characters"));
        }
        if !chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
            return Err(invalid("only uppercase letters, digits and _ are allowed"));
        }
        Ok(ProjectKey(value.to_owned()))
    }

    /// The project part of an issue key (`SEC-42` → `SEC`).
    pub fn of_issue_key(issue_key: &str) -> Option<ProjectKey> {
        let (project, number) = issue_key.rsplit_once('-')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        ProjectKey::parse(project).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An SNS topic ARN, `arn:<partition>:sns:<region>:<account>:<name>`, in one of the
/// partitions the gateway knows (`aws`, `aws-cn`, `aws-us-gov`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TopicArn(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{value}` is not an SNS topic ARN (arn:aws|aws-cn|aws-us-gov:sns:<region>:<12-digit account>:<name>): {reason}"
)]
pub struct InvalidTopicArn {
    value: String,
    reason: &'static str,
}

impl TopicArn {
    pub fn parse(value: &str) -> Result<TopicArn, InvalidTopicArn> {
        let invalid = |reason| InvalidTopicArn {
            value: value.chars().take(300).collect(),
            reason,
        };
        let parts: Vec<&str> = value.split(':').collect();
        let [arn, partition, service, region, account, name] = parts[..] else {
            return Err(invalid("expected six `:`-separated parts"));
        };
        if arn != "arn" || service != "sns" {
            return Err(invalid("must start with arn:<partition>:sns:"));
        }
        if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
            return Err(invalid("unknown partition"));
        }
        if !is_region(region) {
            return Err(invalid("invalid region"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("account must be 12 digits"));
        }
        let base = name.strip_suffix(".fifo").unwrap_or(name);
        if base.is_empty()
            || name.len() > 256
            || !base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "name must be 1-256 letters, digits, - or _ (optionally ending in .fifo)",
            ));
        }
        Ok(TopicArn(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `us-east-1`, `cn-north-1`, `us-gov-west-1`, `ap-southeast-5`: lowercase words joined by
/// `-`, ending in a number.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arns() {
        for ok in [
            "arn:aws:sns:us-east-1:123456789012:JiraNotificationsTopic",
            "arn:aws-cn:sns:cn-north-1:123456789012:t",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:my_topic-1",
            "arn:aws:sns:eu-west-1:123456789012:orders.fifo",
        ] {
            assert!(TopicArn::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "arn:aws:sqs:us-east-1:123456789012:t",
            "arn:aws-iso:sns:us-iso-east-1:123456789012:t",
            "arn:aws:sns:us-east-1:12345678901:t",
            "arn:aws:sns:US-EAST-1:123456789012:t",
            "arn:aws:sns:us-east:123456789012:t",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a b",
            "arn:aws:sns:us-east-1:123456789012:t:sub-id",
        ] {
            assert!(TopicArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn project_keys() {
        assert!(ProjectKey::parse("SEC").is_ok());
        assert!(ProjectKey::parse("SEC_2").is_ok());
        assert!(ProjectKey::parse("sec").is_err());
        assert!(ProjectKey::parse("2SEC").is_err());
        assert!(ProjectKey::parse("SE-C").is_err());
        assert!(ProjectKey::parse("").is_err());
    }

    #[test]
    fn project_of_issue_key() {
        assert_eq!(ProjectKey::of_issue_key("SEC-42").unwrap().as_str(), "SEC");
        assert_eq!(ProjectKey::of_issue_key("MY_P-1").unwrap().as_str(), "MY_P");
        assert!(ProjectKey::of_issue_key("SEC-").is_none());
        assert!(ProjectKey::of_issue_key("SEC42").is_none());
        assert!(ProjectKey::of_issue_key("sec-1").is_none());
    }
}
