//! Who is calling: read from the SigV4 `Authorization` header without verifying the signature.
//!
//! Tests need to tell the integration's writes from a human analyst's, so each access key id
//! maps to a principal (account id and ARN). Keys nobody registered get a principal derived from
//! the key itself in the emulator's default account, so any caller is still distinguishable.

use std::collections::HashMap;

use serde::Serialize;

/// A caller as the service sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub access_key_id: String,
    pub account_id: String,
    pub arn: String,
}

impl Principal {
    pub fn new(
        access_key_id: impl Into<String>,
        account_id: impl Into<String>,
        arn: impl Into<String>,
    ) -> Self {
        Principal {
            access_key_id: access_key_id.into(),
            account_id: account_id.into(),
            arn: arn.into(),
        }
    }

    /// The value written into `creator`, `lastUpdatedBy`, case edits and event details.
    pub fn display(&self, mode: PrincipalDisplay) -> String {
        match mode {
            PrincipalDisplay::AccountId => self.account_id.clone(),
            PrincipalDisplay::Arn => self.arn.clone(),
        }
    }
}

/// How principals appear in responses and events.
///
/// The shared fixtures show bare account ids (`"creator": "123456789012"`); the model's
/// `PrincipalId` pattern also admits IAM/STS ARNs. `AccountId` is the default because it is the
/// harder case for echo suppression: a human and the integration in one account look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrincipalDisplay {
    #[default]
    AccountId,
    Arn,
}

/// The parts of a SigV4 credential scope: `AKID/20250101/us-east-1/security-ir/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`; `None` if it does not
/// look like SigV4 at all (AWS answers those with a 403).
pub fn parse_authorization(header: &str) -> Option<CredentialScope> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let mut scope = None;
    let mut has_signature = false;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(value) = part.strip_prefix("Credential=") {
            let pieces: Vec<&str> = value.split('/').collect();
            if pieces.len() == 5 && pieces[4] == "aws4_request" && !pieces[0].is_empty() {
                scope = Some(CredentialScope {
                    access_key_id: pieces[0].to_string(),
                    date: pieces[1].to_string(),
                    region: pieces[2].to_string(),
                    service: pieces[3].to_string(),
                });
            }
        } else if part.starts_with("Signature=") {
            has_signature = true;
        }
    }
    scope.filter(|_| has_signature)
}

/// Access key id → principal, with a fallback for keys nobody registered.
#[derive(Debug, Clone)]
pub struct Principals {
    default_account_id: String,
    by_access_key: HashMap<String, Principal>,
}

impl Principals {
    pub fn new(default_account_id: impl Into<String>) -> Self {
        Principals {
            default_account_id: default_account_id.into(),
            by_access_key: HashMap::new(),
        }
    }

    pub fn register(&mut self, principal: Principal) {
        self.by_access_key
            .insert(principal.access_key_id.clone(), principal);
    }

    pub fn resolve(&self, access_key_id: &str) -> Principal {
        self.by_access_key
            .get(access_key_id)
            .cloned()
            .unwrap_or_else(|| {
                Principal::new(
                    access_key_id,
                    self.default_account_id.clone(),
                    format!(
                        "arn:aws:iam::{}:user/{}",
                        self.default_account_id, access_key_id
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDINTEGRATION/20261126/us-east-1/security-ir/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let scope = parse_authorization(h).unwrap();
        assert_eq!(scope.access_key_id, "AKIDINTEGRATION");
        assert_eq!(scope.region, "us-east-1");
        assert_eq!(scope.service, "security-ir");
        assert!(parse_authorization("Bearer abc").is_none());
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=AK/1/r/s/aws4_request").is_none());
    }

    #[test]
    fn unregistered_keys_get_a_derived_principal() {
        let mut p = Principals::new("123456789012");
        p.register(Principal::new(
            "AKIDANALYST",
            "210987654321",
            "arn:aws:iam::210987654321:user/analyst",
        ));
        assert_eq!(p.resolve("AKIDANALYST").account_id, "210987654321");
        let other = p.resolve("AKIDOTHER");
        assert_eq!(other.account_id, "123456789012");
        assert_eq!(other.arn, "arn:aws:iam::123456789012:user/AKIDOTHER");
        assert_eq!(other.display(PrincipalDisplay::AccountId), "123456789012");
    }
}
