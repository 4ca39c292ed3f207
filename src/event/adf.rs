//! Plain-text rendering of Atlassian Document Format, so consumers that only need text (logs,
//! change detection, SIR comments) need not walk ADF themselves.

use serde_json::Value;

/// Renders an ADF document (or any ADF node) as plain text: blocks separated by newlines,
/// list items prefixed with `- `, mentions as their text, hard breaks as newlines.
pub fn to_text(node: &Value) -> String {
    let mut out = String::new();
    render(node, &mut out, 0);
    out.trim_end().to_owned()
}

/// True when `value` looks like an ADF document (`{"type":"doc","version":1,"content":[…]}`).
pub fn is_document(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("doc")
        && value.get("content").is_some_and(Value::is_array)
}

fn render(node: &Value, out: &mut String, depth: usize) {
    if depth > 64 {
        // Jira caps nesting far below this; stop rather than recurse on hostile input.
        return;
    }
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" => {
            if let Some(t) = node.get("text").and_then(Value::as_str) {
                out.push_str(t);
            }
        }
        "hardBreak" => out.push('\n'),
        "mention" | "emoji" | "status" | "date" => {
            let attrs = node.get("attrs");
            let text = attrs
                .and_then(|a| a.get("text").or_else(|| a.get("shortName")))
                .and_then(Value::as_str);
            if let Some(t) = text {
                out.push_str(t);
            }
        }
        "inlineCard" | "blockCard" => {
            if let Some(url) = node.pointer("/attrs/url").and_then(Value::as_str) {
                out.push_str(url);
            }
        }
        "rule" => out.push_str("---\n"),
        "listItem" => {
            out.push_str("- ");
            children(node, out, depth);
        }
        _ => {
            children(node, out, depth);
            if is_block(kind) && !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
}

fn children(node: &Value, out: &mut String, depth: usize) {
    if let Some(items) = node.get("content").and_then(Value::as_array) {
        for child in items {
            render(child, out, depth + 1);
        }
    }
}

fn is_block(kind: &str) -> bool {
    matches!(
        kind,
        "paragraph" | "heading" | "codeBlock" | "blockquote" | "panel" | "tableRow" | "mediaGroup"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_paragraphs_lists_and_breaks() {
        let doc = json!({"type":"doc","version":1,"content":[
            {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Title"}]},
            {"type":"paragraph","content":[
                {"type":"text","text":"a "},
                {"type":"text","text":"bold","marks":[{"type":"strong"}]},
                {"type":"hardBreak"},
                {"type":"mention","attrs":{"id":"x","text":"@Dana"}}]},
            {"type":"bulletList","content":[
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"one"}]}]},
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"two"}]}]}]}
        ]});
        assert!(is_document(&doc));
        assert_eq!(to_text(&doc), "Title\na bold\n@Dana\n- one\n- two");
    }
}
