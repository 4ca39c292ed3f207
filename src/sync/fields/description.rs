//! The description, both ways. Into Jira it is the case's text (the person's part) followed by
//! the service's part: a rule, the details heading, the case's details and a footer. Read back,
//! from ADF (REST v3) or from the wiki markup that admin webhooks and Data Center carry, only the
//! person's part counts, and as plain text: the service's part is never read as anybody's words
//! and markup never reaches SIR. Round trips are fixed points: [`person_text`] of what
//! [`render`] made is [`normalize`] of the case's text, whichever representation Jira answers in.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{console_url, date, list};
use crate::{event::jira::RichText, jira::adf, sir::Case};

/// The heading that opens the service's part of the description.
pub const DETAILS_HEADING: &str = "AWS Security Incident Response case details";
const FOOTER: &str =
    "Kept in step with the case by sir-jira-bridge; edit the case in AWS to change these details.";
/// What the person's part says when the case has no text (read back as no text).
const NO_DESCRIPTION: &str = "No description.";

/// The whole description for the case: its text, then the service's part.
pub fn render(case: &Case, default_region: &str) -> Value {
    with_details(person_blocks(&case.description), case, default_region)
}

/// A description made of a person's own blocks (their formatting kept) and the case's details.
pub fn with_details(mut person: Vec<Value>, case: &Case, default_region: &str) -> Value {
    if person.is_empty() {
        person.push(adf::paragraph(vec![adf::em(NO_DESCRIPTION)]));
    }
    person.extend(details(case, default_region));
    adf::doc(person)
}

/// Plain text as the blocks of the person's part. Trailing blanks on a line are dropped first:
/// wiki markup reads a blank-only line as a paragraph break, so keeping them would not survive
/// the way back.
pub fn person_blocks(text: &str) -> Vec<Value> {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split(['\n', '\r']).map(str::trim_end).collect();
    adf::paragraphs(&lines.join("\n"))
}

/// The service's part. It leaves out the case's status and closure code on purpose: the issue's
/// own status and resolution carry them, and a copy here would turn every status change made in
/// Jira into a description write back to Jira (an echo loop of one write per change).
pub fn details(case: &Case, default_region: &str) -> Vec<Value> {
    let item = |label: &str, value: Vec<Value>| {
        let mut inlines = vec![adf::strong(&format!("{label}:")), adf::text(" ")];
        inlines.extend(value);
        vec![adf::paragraph(inlines)]
    };
    let plain = |s: String| vec![adf::text(&s)];
    let ips: Vec<String> = case
        .threat_actor_ips
        .iter()
        .map(|ip| match &ip.user_agent {
            Some(ua) => format!("{} ({ua})", ip.ip_address),
            None => ip.ip_address.clone(),
        })
        .collect();
    let watchers: Vec<String> = case
        .watchers
        .iter()
        .map(|w| match &w.name {
            Some(name) => format!("{name} <{}>", w.email),
            None => w.email.clone(),
        })
        .collect();
    vec![
        adf::rule(),
        adf::heading(3, vec![adf::text(DETAILS_HEADING)]),
        adf::bullet_list(vec![
            item(
                "Case",
                vec![adf::link(
                    case.id.as_str(),
                    &console_url(case, default_region),
                )],
            ),
            item(
                "Engagement type",
                plain(case.engagement_type.clone().unwrap_or_else(|| "—".into())),
            ),
            item(
                "Resolver",
                plain(case.resolver_type.clone().unwrap_or_else(|| "—".into())),
            ),
            item("Reported start", plain(date(case.reported_incident_start))),
            item("Impacted accounts", plain(list(&case.impacted_accounts))),
            item("Regions", plain(list(&case.impacted_regions))),
            item("Services", plain(list(&case.impacted_services))),
            item("Threat-actor IPs", plain(list(&ips))),
            item("Watchers", plain(list(&watchers))),
        ]),
        adf::paragraph(vec![adf::em(FOOTER)]),
    ]
}

/// The service's part as plain text, to tell later whether someone edited it in Jira.
pub fn details_text(case: &Case, default_region: &str) -> String {
    blocks_text(&details(case, default_region))
}

/// The text of the service's part of a description Jira holds (empty when it is gone).
pub fn service_text(description: &RichText) -> String {
    match &description.adf {
        Some(doc) => {
            let blocks = doc
                .get("content")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let start = blocks
                .iter()
                .position(is_service_block)
                .unwrap_or(blocks.len());
            blocks_text(&blocks[start..])
        }
        None => wiki::service_text(&description.text),
    }
}

/// SHA-256 (hex) of the service's part: whether the details need writing again.
pub fn details_hash(case: &Case, default_region: &str) -> String {
    let blocks = Value::Array(details(case, default_region));
    hex::encode(Sha256::digest(blocks.to_string().as_bytes()))
}

/// Text as the description's person part keeps it: paragraphs split on blank lines, line breaks
/// within them, blank paragraphs and CRLF gone. What [`person_text`] of a render gives back.
pub fn normalize(text: &str) -> String {
    blocks_text(&person_blocks(text))
}

/// The person's part of a description Jira holds, as plain text.
pub fn person_text(description: &RichText) -> String {
    match &description.adf {
        Some(doc) => person_text_of(doc),
        None => wiki::person_text(&description.text),
    }
}

/// Text equality that survives Jira's rendering (ADF vs wiki, whitespace, markup characters):
/// the letters and digits must be the same, in order. A change of formatting only is no change.
pub fn same_text(a: &str, b: &str) -> bool {
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    key(a) == key(b)
}

/// The person's part of an ADF description, as plain text.
pub fn person_text_of(doc: &Value) -> String {
    blocks_text(person_part(doc))
}

/// The blocks of an ADF description before the service's part (the person's own formatting).
pub fn person_part(doc: &Value) -> &[Value] {
    let blocks = doc
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut end = blocks
        .iter()
        .position(is_service_block)
        .unwrap_or(blocks.len());
    if end < blocks.len() {
        while end > 0 && kind(&blocks[end - 1]) == "rule" {
            end -= 1;
        }
    }
    let person = &blocks[..end];
    match person {
        [only] if inline_text(only) == NO_DESCRIPTION => &[],
        _ => person,
    }
}

/// Where the service's part starts, even after a person deleted some of it: its heading, its
/// footer, or its details list (first item `Case: …`).
fn is_service_block(block: &Value) -> bool {
    match kind(block) {
        "heading" => inline_text(block).trim() == DETAILS_HEADING,
        "paragraph" => inline_text(block).trim() == FOOTER,
        "bulletList" => block
            .pointer("/content/0/content/0")
            .is_some_and(|p| inline_text(p).starts_with("Case: ")),
        _ => false,
    }
}

/// Top-level blocks as plain text: blocks apart by a blank line, list items as `- ` lines.
fn blocks_text(blocks: &[Value]) -> String {
    let texts: Vec<String> = blocks
        .iter()
        .map(|b| block_text(b, 0))
        .filter(|t| !t.trim().is_empty())
        .collect();
    // Blocks that hold blank lines themselves (code) are split like typed text would be.
    let joined = texts.join("\n\n");
    if texts.iter().any(|t| t.contains("\n\n")) {
        normalize(&joined)
    } else {
        joined
    }
}

fn block_text(node: &Value, depth: usize) -> String {
    if depth > 32 {
        return String::new();
    }
    match kind(node) {
        "paragraph" | "heading" => inline_text(node),
        "bulletList" | "orderedList" => children(node)
            .iter()
            .map(|item| {
                let indent = "  ".repeat(depth);
                children(item)
                    .iter()
                    .map(|c| match kind(c) {
                        "bulletList" | "orderedList" => block_text(c, depth + 1),
                        _ => format!("{indent}- {}", block_text(c, depth + 1)),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "codeBlock" => inline_text(node),
        "rule" | "mediaSingle" | "mediaGroup" => String::new(),
        "text" | "hardBreak" | "mention" | "emoji" | "inlineCard" | "date" | "status" => {
            inline_text(&serde_json::json!({"content": [node]}))
        }
        _ => children(node)
            .iter()
            .map(|c| block_text(c, depth + 1))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn inline_text(node: &Value) -> String {
    let mut out = String::new();
    for n in children(node) {
        match kind(n) {
            "text" => out.push_str(n.get("text").and_then(Value::as_str).unwrap_or("")),
            "hardBreak" => out.push('\n'),
            "inlineCard" => out.push_str(
                n.pointer("/attrs/url")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ),
            _ => {
                let attrs = n.get("attrs");
                let text = attrs
                    .and_then(|a| a.get("text").or_else(|| a.get("shortName")))
                    .and_then(Value::as_str);
                out.push_str(text.unwrap_or(""));
            }
        }
    }
    out
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Reading wiki markup (admin webhooks on Cloud carry REST v2's representation; Data Center
/// stores it) back as plain text.
mod wiki {
    use super::{DETAILS_HEADING, FOOTER, NO_DESCRIPTION, normalize};

    pub fn person_text(wiki: &str) -> String {
        let lines: Vec<&str> = wiki.lines().collect();
        let mut end = lines
            .iter()
            .position(|l| is_service_line(l))
            .unwrap_or(lines.len());
        if end < lines.len() {
            while end > 0 && matches!(lines[end - 1].trim(), "" | "----") {
                end -= 1;
            }
        }
        let mut out: Vec<String> = Vec::new();
        let mut literal = false;
        for line in &lines[..end] {
            let trimmed = line.trim();
            if trimmed.starts_with("{code") || trimmed.starts_with("{noformat") {
                literal = !literal;
                continue;
            }
            if literal {
                out.push((*line).to_owned());
                continue;
            }
            if trimmed == "----" || trimmed.starts_with("{quote") || trimmed.starts_with("{panel") {
                continue;
            }
            out.push(line_text(line));
        }
        let text = normalize(&out.join("\n"));
        if text == NO_DESCRIPTION {
            String::new()
        } else {
            text
        }
    }

    pub fn service_text(wiki: &str) -> String {
        let lines: Vec<&str> = wiki.lines().collect();
        let start = lines
            .iter()
            .position(|l| is_service_line(l))
            .unwrap_or(lines.len());
        let text: Vec<String> = lines[start..].iter().map(|l| line_text(l)).collect();
        normalize(&text.join("\n"))
    }

    fn is_service_line(line: &str) -> bool {
        let t = line.trim();
        heading(t).is_some_and(|(_, rest)| rest.trim() == DETAILS_HEADING)
            || inline(t).trim() == FOOTER
            || t.starts_with("* *Case:*")
    }

    fn heading(line: &str) -> Option<(u8, &str)> {
        let b = line.as_bytes();
        (b.len() >= 3 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.')
            .then(|| (b[1] - b'0', line[3..].trim_start()))
    }

    fn line_text(line: &str) -> String {
        let t = line.trim_start();
        if let Some((_, rest)) = heading(t) {
            return inline(rest);
        }
        if let Some(rest) = t.strip_prefix("bq. ") {
            return inline(rest);
        }
        let bullets = t.chars().take_while(|c| matches!(c, '*' | '#')).count();
        if bullets > 0 && t[bullets..].starts_with(' ') {
            let indent = "  ".repeat(bullets - 1);
            return format!("{indent}- {}", inline(t[bullets..].trim_start()));
        }
        inline(line)
    }

    /// Inline markup to text: escapes, links, mentions, `{{code}}`, `{color}`, and the marks our
    /// own renderer escapes (`*strong*`, `_emphasis_`). Other marks (`-strike-`, `+underline+`)
    /// stay as typed: without escapes for them, ordinary dashes would be read as markup.
    pub(super) fn inline(s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' if i + 1 < chars.len() => {
                    out.push(chars[i + 1]);
                    i += 2;
                }
                '[' => match close(&chars, i + 1, ']') {
                    Some(end) => {
                        let inner: String = chars[i + 1..end].iter().collect();
                        let shown = match inner.split_once('|') {
                            Some((text, _)) => inline(text),
                            None => match inner.strip_prefix('~') {
                                Some(user) => format!("@{}", user.trim_start_matches("accountid:")),
                                None => inner,
                            },
                        };
                        out.push_str(&shown);
                        i = end + 1;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                },
                '{' if chars.get(i + 1) == Some(&'{') => match find(&chars, i + 2, &['}', '}']) {
                    Some(end) => {
                        out.extend(&chars[i + 2..end]);
                        i = end + 2;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                },
                '{' => {
                    // `{color:red}`, `{color}` and other inline macros: markup, not text.
                    match close(&chars, i + 1, '}') {
                        Some(end)
                            if chars[i + 1..end].iter().all(|c| {
                                c.is_alphanumeric() || matches!(c, ':' | '#' | '=' | '|' | '-')
                            }) =>
                        {
                            i = end + 1
                        }
                        _ => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                '*' | '_' if opens(&chars, i) => match closing(&chars, i) {
                    Some(end) => {
                        out.push_str(&inline(&chars[i + 1..end].iter().collect::<String>()));
                        i = end + 1;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                },
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    }

    fn close(chars: &[char], from: usize, end: char) -> Option<usize> {
        (from..chars.len()).find(|&j| chars[j] == end && chars[j - 1] != '\\')
    }

    fn find(chars: &[char], from: usize, pat: &[char; 2]) -> Option<usize> {
        (from..chars.len().saturating_sub(1))
            .find(|&j| chars[j] == pat[0] && chars[j + 1] == pat[1])
    }

    /// A mark opens at the start or after a non-word character, before a non-blank one.
    fn opens(chars: &[char], i: usize) -> bool {
        let before_ok = i == 0 || !chars[i - 1].is_alphanumeric();
        let after_ok = chars
            .get(i + 1)
            .is_some_and(|c| !c.is_whitespace() && *c != chars[i]);
        before_ok && after_ok
    }

    /// The matching mark: after a non-blank character, before the end or a non-word character.
    fn closing(chars: &[char], open: usize) -> Option<usize> {
        let m = chars[open];
        (open + 2..chars.len()).find(|&j| {
            chars[j] == m
                && chars[j - 1] != '\\'
                && !chars[j - 1].is_whitespace()
                && chars.get(j + 1).is_none_or(|c| !c.is_alphanumeric())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{jira::wiki as jira_wiki, sir::CaseId};
    use proptest::prelude::*;
    use serde_json::json;

    fn case(description: &str) -> Case {
        let json = serde_json::json!({
            "id": "1234567890", "arn": null, "title": "t", "description": description,
            "status": "Submitted", "engagement_type": null, "resolver_type": null,
            "pending_action": null, "reported_incident_start": null,
            "actual_incident_start": null, "impacted_accounts": [], "impacted_regions": [],
            "impacted_services": [], "threat_actor_ips": [], "watchers": [], "attachments": [],
            "closure_code": null, "created": null, "last_updated": "2026-12-01T00:00:00Z",
            "closed": null,
        });
        let case: Case = serde_json::from_value(json).unwrap();
        assert_eq!(case.id, CaseId::parse("1234567890").unwrap());
        case
    }

    fn adf_of(doc: &Value) -> RichText {
        RichText {
            text: crate::event::adf::to_text(doc),
            adf: Some(doc.clone()),
        }
    }

    fn wiki_of(doc: &Value) -> RichText {
        RichText {
            text: jira_wiki::from_adf(doc),
            adf: None,
        }
    }

    #[test]
    fn the_service_part_is_never_read_back() {
        let doc = render(
            &case("First paragraph.\r\n\r\nSecond one\r\nwith a break."),
            "us-east-1",
        );
        for read in [adf_of(&doc), wiki_of(&doc)] {
            assert_eq!(
                person_text(&read),
                "First paragraph.\n\nSecond one\nwith a break."
            );
        }
        let empty = render(&case(""), "us-east-1");
        assert_eq!(person_text(&adf_of(&empty)), "");
        assert_eq!(person_text(&wiki_of(&empty)), "");
    }

    #[test]
    fn a_persons_formatting_reaches_sir_as_plain_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "analyst note with "},
                {"type": "text", "text": "bold", "marks": [{"type": "strong"}]},
                {"type": "text", "text": " word"}]},
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Timeline"}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]}]},
        ]});
        let want = "analyst note with bold word\n\nTimeline\n\n- one";
        assert_eq!(person_text(&adf_of(&doc)), want);
        // As Cloud's admin webhooks and Data Center send it.
        let wiki = "analyst note with *bold* word\n\nh3. Timeline\n\n* one\n\n----\n\nh3. AWS Security Incident Response case details\n\n* *Case:* [1|https://x]";
        assert_eq!(
            person_text(&RichText {
                text: wiki.into(),
                adf: None
            }),
            want
        );
    }

    #[test]
    fn a_person_who_deleted_the_heading_still_does_not_send_the_details() {
        let mut doc = render(&case("Mine."), "us-east-1");
        let blocks = doc["content"].as_array_mut().unwrap();
        blocks.retain(|b| b["type"] != "heading");
        assert_eq!(person_text(&adf_of(&doc)), "Mine.");
        assert_eq!(person_text(&wiki_of(&doc)), "Mine.");
    }

    #[test]
    fn the_service_part_reads_back_the_same_from_adf_and_wiki() {
        let c = case("Mine.");
        let doc = render(&c, "us-east-1");
        let want = details_text(&c, "us-east-1");
        assert!(same_text(&service_text(&adf_of(&doc)), &want));
        assert!(same_text(&service_text(&wiki_of(&doc)), &want));
        let edited = RichText {
            text: wiki_of(&doc).text.replace("Regions:", "Regions (edited):"),
            adf: None,
        };
        assert!(!same_text(&service_text(&edited), &want));
    }

    #[test]
    fn wiki_inline_markup() {
        let cases = [
            ("a \\*literal\\* star", "a *literal* star"),
            (
                "see [the runbook|https://x/y] and [https://z]",
                "see the runbook and https://z",
            ),
            ("run {{aws s3 ls}} now", "run aws s3 ls now"),
            ("{color:red}alert{color} raised", "alert raised"),
            ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
            ("pre-incident -draft- notes", "pre-incident -draft- notes"),
            ("ping [~accountid:5b10a]", "ping @5b10a"),
        ];
        for (wiki, text) in cases {
            assert_eq!(wiki::inline(wiki), text, "{wiki}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Render then read gives back the case's text, from ADF and from wiki markup, and
        /// reading is stable: a second round changes nothing.
        #[test]
        fn render_then_read_is_a_fixed_point(text in "(?s)[ -~\u{e9}\u{2014}\n\r\t]{0,200}") {
            let doc = render(&case(&text), "us-east-1");
            let want = normalize(&text);
            prop_assert_eq!(&person_text(&adf_of(&doc)), &want);
            prop_assert_eq!(&person_text(&wiki_of(&doc)), &want);
            prop_assert_eq!(normalize(&want), want.clone());
            let again = render(&case(&want), "us-east-1");
            prop_assert_eq!(again, doc);
        }
    }
}
