//! Opaque `nextToken`s that remember where a page ended, not how many items came before it, so
//! items created between two pages neither repeat nor vanish from a listing in progress.
//!
//! A token names the list it belongs to (and the case, for per-case lists); presenting it to
//! another list is refused like any token the service did not issue.

use crate::errors::ApiError;
use crate::validate::Validator;

const PREFIX: &str = "sirEmu1";

pub fn encode(list: &str, scope: &str, cursor: usize) -> String {
    let raw = format!("{list}|{scope}|{cursor}");
    let hex: String = raw.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

pub fn decode(token: &str, list: &str, scope: &str) -> Result<usize, ApiError> {
    let invalid = || ApiError::InvalidToken(format!("The nextToken is invalid: {token}"));
    let hex = token.strip_prefix(PREFIX).ok_or_else(invalid)?;
    if hex.len() % 2 != 0 {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    let raw = String::from_utf8(bytes.ok_or_else(invalid)?).map_err(|_| invalid())?;
    let mut parts = raw.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(l), Some(s), Some(c)) if l == list && s == scope => c.parse().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// Checks `maxResults` (1–25) and `nextToken` (≤ 2000 characters) and returns the page size.
pub fn page_size(
    max_results: Option<i64>,
    next_token: Option<&str>,
    default: usize,
) -> Result<usize, ApiError> {
    let mut v = Validator::new();
    if let Some(m) = max_results {
        v.range("maxResults", m, 1, 25);
    }
    if let Some(t) = next_token {
        v.length("nextToken", t, 0, 2000);
    }
    v.finish()?;
    Ok(max_results.map(|m| m as usize).unwrap_or(default))
}

/// An empty token means "from the start", as an absent one does.
pub fn present(token: &Option<String>) -> Option<&str> {
    token.as_deref().filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_scope() {
        let t = encode("comments", "1234567890", 25);
        assert_eq!(decode(&t, "comments", "1234567890").unwrap(), 25);
        assert!(decode(&t, "comments", "9999999999").is_err());
        assert!(decode(&t, "cases", "").is_err());
        assert!(decode("garbage", "cases", "").is_err());
        assert_eq!(
            decode("garbage", "cases", "").unwrap_err().error_type(),
            "InvalidTokenException"
        );
    }

    #[test]
    fn page_size_limits() {
        assert_eq!(page_size(None, None, 10).unwrap(), 10);
        assert_eq!(page_size(Some(25), None, 10).unwrap(), 25);
        assert!(page_size(Some(26), None, 10).is_err());
        assert!(page_size(Some(0), None, 10).is_err());
    }
}
