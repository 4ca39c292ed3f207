//! Building Atlassian Document Format (ADF) documents: the nodes and marks Jira Cloud accepts
//! (see `shared/specs/protocols.md` §2), with the rules it enforces kept by construction (text
//! nodes are never empty, inline nodes live in paragraphs and headings, list items hold blocks).

use serde_json::{Value, json};

/// A document of `blocks`.
pub fn doc(blocks: Vec<Value>) -> Value {
    json!({"type": "doc", "version": 1, "content": blocks})
}

/// A paragraph; empty text nodes are dropped (Jira refuses them).
pub fn paragraph(inlines: Vec<Value>) -> Value {
    json!({"type": "paragraph", "content": non_empty(inlines)})
}

pub fn heading(level: u8, inlines: Vec<Value>) -> Value {
    json!({"type": "heading", "attrs": {"level": level.clamp(1, 6)}, "content": non_empty(inlines)})
}

pub fn text(s: &str) -> Value {
    json!({"type": "text", "text": s})
}

pub fn strong(s: &str) -> Value {
    marked(s, json!([{"type": "strong"}]))
}

pub fn em(s: &str) -> Value {
    marked(s, json!([{"type": "em"}]))
}

pub fn code(s: &str) -> Value {
    marked(s, json!([{"type": "code"}]))
}

pub fn link(s: &str, href: &str) -> Value {
    marked(s, json!([{"type": "link", "attrs": {"href": href}}]))
}

pub fn hard_break() -> Value {
    json!({"type": "hardBreak"})
}

pub fn rule() -> Value {
    json!({"type": "rule"})
}

/// A bullet list; each item is a list of blocks (usually one paragraph).
pub fn bullet_list(items: Vec<Vec<Value>>) -> Value {
    let items: Vec<Value> = items
        .into_iter()
        .map(|blocks| json!({"type": "listItem", "content": blocks}))
        .collect();
    json!({"type": "bulletList", "content": items})
}

/// Plain text as paragraphs: a blank line separates paragraphs, a single newline is a hard
/// break. Nothing for empty text (an empty paragraph says nothing).
pub fn paragraphs(plain: &str) -> Vec<Value> {
    // Old Mac line ends too: a lone CR left in would read back differently after a round trip.
    let plain = plain.replace("\r\n", "\n").replace('\r', "\n");
    plain
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let mut inlines = Vec::new();
            for (i, line) in p.split('\n').enumerate() {
                if i > 0 {
                    inlines.push(hard_break());
                }
                inlines.push(text(line));
            }
            paragraph(inlines)
        })
        .collect()
}

fn marked(s: &str, marks: Value) -> Value {
    json!({"type": "text", "text": s, "marks": marks})
}

fn non_empty(inlines: Vec<Value>) -> Vec<Value> {
    inlines
        .into_iter()
        .filter(|n| {
            n.get("type").and_then(Value::as_str) != Some("text")
                || n.get("text")
                    .and_then(Value::as_str)
                    .is_some_and(|t| !t.is_empty())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::adf::{is_document, to_text};

    #[test]
    fn paragraphs_split_on_blank_lines_and_break_on_newlines() {
        let blocks = paragraphs("first line\nsecond line\n\n\nnext paragraph\n");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0]["content"][1]["type"], "hardBreak");
        assert_eq!(blocks[1]["content"][0]["text"], "next paragraph");
        assert!(paragraphs("  \n\n ").is_empty());
    }

    #[test]
    fn empty_text_nodes_are_never_emitted() {
        let p = paragraph(vec![text(""), strong("x"), text("")]);
        assert_eq!(p["content"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn documents_read_back_as_text() {
        let d = doc(vec![
            heading(3, vec![text("Details")]),
            bullet_list(vec![vec![paragraph(vec![
                strong("Case: "),
                link("123", "https://example.com"),
            ])]]),
        ]);
        assert!(is_document(&d));
        let t = to_text(&d);
        assert!(t.contains("Details") && t.contains("- Case: 123"), "{t}");
    }
}
