//! Member constraints from the service model (lengths, ranges, enums, patterns), collected the
//! way AWS's front end reports them: every failed member at once, in one `ValidationException`
//! whose `fieldList` names each member (`watchers.1.member.email` for nested ones).
//!
//! Values of members the model marks sensitive (titles, bodies, e-mails…) are never echoed back.

use crate::errors::{ApiError, FieldError};

#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, name: &str, constraint: &str) {
        self.errors.push(FieldError {
            name: name.to_string(),
            message: format!("Value at '{name}' failed to satisfy constraint: {constraint}"),
        });
    }

    fn fail_with_value(&mut self, name: &str, value: &str, constraint: &str) {
        self.errors.push(FieldError {
            name: name.to_string(),
            message: format!(
                "Value '{value}' at '{name}' failed to satisfy constraint: {constraint}"
            ),
        });
    }

    /// A required member; returns the value when present.
    pub fn required<'a, T>(&mut self, name: &str, value: &'a Option<T>) -> Option<&'a T> {
        if value.is_none() {
            self.errors.push(FieldError {
                name: name.to_string(),
                message: format!(
                    "Value null at '{name}' failed to satisfy constraint: Member must not be null"
                ),
            });
        }
        value.as_ref()
    }

    /// Length in characters, as the model's `@length` counts them.
    pub fn length(&mut self, name: &str, value: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n < min {
            self.fail(
                name,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.fail(
                name,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn opt_length(&mut self, name: &str, value: &Option<String>, min: usize, max: usize) {
        if let Some(v) = value {
            self.length(name, v, min, max);
        }
    }

    pub fn list_size<T>(&mut self, name: &str, list: &[T], min: usize, max: usize) {
        if list.len() < min {
            self.fail(
                name,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if list.len() > max {
            self.fail(
                name,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn range(&mut self, name: &str, value: i64, min: i64, max: i64) {
        if value < min {
            self.fail_with_value(
                name,
                &value.to_string(),
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.fail_with_value(
                name,
                &value.to_string(),
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// An enum member: returns the parsed value, or records the allowed set.
    pub fn enum_value<T>(
        &mut self,
        name: &str,
        value: &str,
        parse: impl Fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Option<T> {
        let parsed = parse(value);
        if parsed.is_none() {
            self.fail_with_value(
                name,
                value,
                &format!("Member must satisfy enum value set: [{allowed}]"),
            );
        }
        parsed
    }

    pub fn pattern(&mut self, name: &str, ok: bool, pattern: &str) {
        if !ok {
            self.fail(
                name,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::fields(self.errors))
        }
    }
}

/// `CaseId`: 10–32 characters starting with at least ten digits (`\d{10,32}.*`).
pub fn is_case_id(s: &str) -> bool {
    let n = s.chars().count();
    (10..=32).contains(&n) && s.chars().take(10).all(|c| c.is_ascii_digit())
}

/// `CommentId`: exactly six digits.
pub fn is_comment_id(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `AttachmentId`: a UUID in 8-4-4-4-12 hexadecimal groups.
pub fn is_attachment_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `AWSAccountId`: twelve digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `EmailAddress`: the model's pattern, `local@label(.label)*`.
pub fn is_email(s: &str) -> bool {
    const LOCAL_EXTRA: &str = ".!#$%&'*+/=?^_`{|}~-";
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_EXTRA.contains(c))
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `IPAddress`: an IPv4 or IPv6 address (the model's pattern, checked by parsing).
pub fn is_ip_address(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// `AwsService`: `[a-zA-Z0-9 -.():]+`, where ` -.` is the range from space to `.`.
pub fn is_aws_service(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || (' '..='.').contains(&c) || c == ':')
}

/// `FileName`: `[a-zA-Z0-9._-]+`.
pub fn is_file_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_case_id("1234567890"));
        assert!(is_case_id("12345678901234567890123456789012"));
        assert!(!is_case_id("123456789"));
        assert!(!is_case_id("abc4567890"));
        assert!(is_comment_id("123456"));
        assert!(!is_comment_id("1234567"));
        assert!(is_attachment_id("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
        assert!(!is_attachment_id("aaaaaaaa-bbbb-cccc-dddd"));
        assert!(is_account_id("000011112222"));
        assert!(!is_account_id("11112222"));
    }

    #[test]
    fn patterns() {
        assert!(is_email("secops@example.com"));
        assert!(is_email("a.b+c@localhost"));
        assert!(!is_email("no-at-sign"));
        assert!(!is_email("a@b..c"));
        assert!(is_ip_address("203.0.113.7"));
        assert!(is_ip_address("2001:db8::1"));
        assert!(!is_ip_address("203.0.113"));
        assert!(is_aws_service("Amazon S3 (Simple Storage)"));
        assert!(!is_aws_service("S3;drop"));
        assert!(is_file_name("cloudtrail-excerpt.json"));
        assert!(!is_file_name("../etc/passwd/x y"));
    }

    #[test]
    fn collects_every_failure() {
        let mut v = Validator::new();
        v.length("title", "", 1, 300);
        v.range("maxResults", 30, 1, 25);
        let err = v.finish().unwrap_err();
        match err {
            ApiError::Validation {
                message, fields, ..
            } => {
                assert!(message.starts_with("2 validation errors detected"));
                assert_eq!(fields[0].name, "title");
                assert_eq!(fields[1].name, "maxResults");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
