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

#[cfg(test)]
mod tests {
    use super::*;

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
