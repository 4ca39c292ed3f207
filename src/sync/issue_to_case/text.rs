//! Fitting Jira text into SIR's field limits, saying so when something was cut.

/// SIR's limits, in characters.
pub const TITLE_MAX: usize = 300;
pub const DESCRIPTION_MAX: usize = 8000;
pub const COMMENT_MAX: usize = 12000;

/// `text` if it fits in `max` characters; otherwise its start followed by `marker`, the whole
/// exactly within `max`.
pub fn cap(text: &str, max: usize, marker: &str) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(marker.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(marker);
    out.chars().take(max).collect()
}

pub fn cap_description(text: &str, issue_key: &str) -> String {
    let marker = format!(
        "\n\n[… cut by sir-jira-bridge: SIR keeps {DESCRIPTION_MAX} characters; the full description is on Jira issue {issue_key}]"
    );
    cap(text, DESCRIPTION_MAX, &marker)
}

pub fn cap_title(text: &str) -> String {
    cap(text.trim(), TITLE_MAX, "…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_with_a_marker_and_stays_within_the_limit() {
        assert_eq!(cap("short", 10, "[cut]"), "short");
        assert_eq!(cap("abcdefghijkl", 10, "[cut]"), "abcde[cut]");
        let long = "é".repeat(9000);
        let d = cap_description(&long, "SEC-1");
        assert_eq!(d.chars().count(), DESCRIPTION_MAX);
        assert!(d.ends_with("full description is on Jira issue SEC-1]"));
        assert_eq!(cap_description("fits", "SEC-1"), "fits");
    }
}
