//! Atlassian Document Format: the structural validation Jira Cloud applies to rich-text fields
//! on v3, and the conversions to and from wiki markup that let one issue be read through
//! both v2 (strings) and v3 (documents).

use serde_json::{Value, json};

const BLOCK_NODES: &[&str] = &[
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "codeBlock",
    "blockquote",
    "rule",
    "panel",
    "table",
    "mediaSingle",
    "mediaGroup",
    "expand",
    "taskList",
    "decisionList",
    "blockCard",
    "embedCard",
    "layoutSection",
    "extension",
    "bodiedExtension",
];

const INLINE_NODES: &[&str] = &[
    "text",
    "hardBreak",
    "mention",
    "emoji",
    "inlineCard",
    "date",
    "status",
    "placeholder",
    "inlineExtension",
    "mediaInline",
];

/// Nodes that only appear inside a particular parent.
const CHILD_NODES: &[&str] = &[
    "listItem",
    "tableRow",
    "tableHeader",
    "tableCell",
    "media",
    "nestedExpand",
    "taskItem",
    "decisionItem",
    "layoutColumn",
];

const MARKS: &[&str] = &[
    "strong",
    "em",
    "code",
    "strike",
    "underline",
    "link",
    "subsup",
    "textColor",
    "backgroundColor",
    "alignment",
    "indentation",
    "border",
    "breakout",
    "annotation",
    "dataConsumer",
    "fragment",
];

/// Why a value is not an acceptable ADF document. The text is for the emulator's logs and
/// tests; Jira itself answers a fixed message per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdfError(pub String);

/// Checks `value` is a document Jira would accept: `{"type":"doc","version":1,"content":[…]}`
/// made of known nodes and marks, with block/inline nesting respected.
pub fn validate(value: &Value) -> Result<(), AdfError> {
    let obj = value
        .as_object()
        .ok_or_else(|| AdfError("not a JSON object".into()))?;
    if obj.get("type").and_then(Value::as_str) != Some("doc") {
        return Err(AdfError("root node type must be \"doc\"".into()));
    }
    if obj.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(AdfError("root node must have version 1".into()));
    }
    let content = obj
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| AdfError("root node must have a content array".into()))?;
    for child in content {
        validate_node(child, Context::Block)?;
    }
    Ok(())
}

/// True for a value shaped like a document root, without the deep checks.
pub fn looks_like_document(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("doc")
}

#[derive(Clone, Copy)]
enum Context {
    Block,
    Inline,
    /// Children of a list: `listItem` only.
    List,
    /// Anything known (tables, layouts, panels: not checked deeper).
    Any,
}

fn validate_node(node: &Value, context: Context) -> Result<(), AdfError> {
    let obj = node
        .as_object()
        .ok_or_else(|| AdfError("node is not an object".into()))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| AdfError("node without a type".into()))?;
    let known =
        BLOCK_NODES.contains(&kind) || INLINE_NODES.contains(&kind) || CHILD_NODES.contains(&kind);
    if !known {
        return Err(AdfError(format!("unknown node type \"{kind}\"")));
    }
    let allowed = match context {
        Context::Block => BLOCK_NODES.contains(&kind),
        Context::Inline => INLINE_NODES.contains(&kind),
        Context::List => kind == "listItem",
        Context::Any => true,
    };
    if !allowed {
        return Err(AdfError(format!("node \"{kind}\" is not allowed here")));
    }
    if kind == "text" {
        let text = obj
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| AdfError("text node without text".into()))?;
        if text.is_empty() {
            return Err(AdfError("text node with empty text".into()));
        }
        if obj.contains_key("content") {
            return Err(AdfError("text node with content".into()));
        }
    }
    if kind == "heading" {
        let level = node.pointer("/attrs/level").and_then(Value::as_u64);
        if !matches!(level, Some(1..=6)) {
            return Err(AdfError("heading needs attrs.level 1..6".into()));
        }
    }
    if let Some(marks) = obj.get("marks") {
        let marks = marks
            .as_array()
            .ok_or_else(|| AdfError("marks is not an array".into()))?;
        for mark in marks {
            let mark_type = mark.get("type").and_then(Value::as_str).unwrap_or("");
            if !MARKS.contains(&mark_type) {
                return Err(AdfError(format!("unknown mark type \"{mark_type}\"")));
            }
            if mark_type == "link"
                && mark
                    .pointer("/attrs/href")
                    .and_then(Value::as_str)
                    .is_none()
            {
                return Err(AdfError("link mark without attrs.href".into()));
            }
        }
    }
    if let Some(content) = obj.get("content") {
        let content = content
            .as_array()
            .ok_or_else(|| AdfError(format!("content of \"{kind}\" is not an array")))?;
        let child_context = match kind {
            "paragraph" | "heading" => Context::Inline,
            "bulletList" | "orderedList" => Context::List,
            "listItem" | "blockquote" => Context::Block,
            "codeBlock" => Context::Inline,
            _ => Context::Any,
        };
        if kind == "codeBlock"
            && content
                .iter()
                .any(|c| c.get("type").and_then(Value::as_str) != Some("text"))
        {
            return Err(AdfError("codeBlock may only hold text".into()));
        }
        for child in content {
            validate_node(child, child_context)?;
        }
    }
    Ok(())
}

/// A one-paragraph-per-block document of plain text; blank lines split paragraphs, single
/// newlines become hard breaks.
pub fn from_plain(text: &str) -> Value {
    from_wiki(text)
}

/// Wiki markup to ADF. Block structure (headings `h1.`, lists `*`/`#`, `{code}`, `{quote}`,
/// `----`) is converted; inline markup is kept as literal text.
pub fn from_wiki(text: &str) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Value>| {
        if !paragraph.is_empty() {
            blocks.push(json!({"type": "paragraph", "content": inline_lines(paragraph)}));
            paragraph.clear();
        }
    };
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            flush(&mut paragraph, &mut blocks);
            i += 1;
            continue;
        }
        if let Some((level, rest)) = heading(trimmed) {
            flush(&mut paragraph, &mut blocks);
            blocks.push(
                json!({"type": "heading", "attrs": {"level": level}, "content": inline_text(rest)}),
            );
            i += 1;
            continue;
        }
        if trimmed == "----" {
            flush(&mut paragraph, &mut blocks);
            blocks.push(json!({"type": "rule"}));
            i += 1;
            continue;
        }
        if trimmed.starts_with("{code") || trimmed == "{quote}" {
            flush(&mut paragraph, &mut blocks);
            let is_code = trimmed.starts_with("{code");
            let close = if is_code { "{code}" } else { "{quote}" };
            let language = trimmed
                .strip_prefix("{code:")
                .and_then(|r| r.strip_suffix('}'))
                .map(str::to_owned);
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && lines[i].trim_end() != close {
                body.push(lines[i]);
                i += 1;
            }
            i += 1;
            let body = body.join("\n");
            if is_code {
                let mut node = json!({"type": "codeBlock", "content": inline_text(&body)});
                if let Some(language) = language {
                    node["attrs"] = json!({"language": language});
                }
                blocks.push(node);
            } else {
                let inner = from_wiki(&body);
                blocks.push(json!({"type": "blockquote", "content": inner["content"]}));
            }
            continue;
        }
        if let Some(list_kind) = list_marker(trimmed) {
            flush(&mut paragraph, &mut blocks);
            let mut items = Vec::new();
            while i < lines.len() && list_marker(lines[i].trim_end()) == Some(list_kind) {
                let item = lines[i].trim_end()[2..].trim_start();
                items.push(json!({"type": "listItem", "content": [{"type": "paragraph", "content": inline_text(item)}]}));
                i += 1;
            }
            let kind = if list_kind == '*' {
                "bulletList"
            } else {
                "orderedList"
            };
            blocks.push(json!({"type": kind, "content": items}));
            continue;
        }
        paragraph.push(line);
        i += 1;
    }
    flush(&mut paragraph, &mut blocks);
    json!({"type": "doc", "version": 1, "content": blocks})
}

fn heading(line: &str) -> Option<(u64, &str)> {
    let bytes = line.as_bytes();
    if bytes.len() >= 4
        && bytes[0] == b'h'
        && (b'1'..=b'6').contains(&bytes[1])
        && bytes[2] == b'.'
        && bytes[3] == b' '
    {
        Some((u64::from(bytes[1] - b'0'), &line[4..]))
    } else {
        None
    }
}

fn list_marker(line: &str) -> Option<char> {
    if line.starts_with("* ") || line.starts_with("- ") {
        Some('*')
    } else if line.starts_with("# ") {
        Some('#')
    } else {
        None
    }
}

fn inline_text(text: &str) -> Vec<Value> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "text", "text": text})]
    }
}

fn inline_lines(lines: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if n > 0 {
            out.push(json!({"type": "hardBreak"}));
        }
        out.extend(inline_text(line));
    }
    out
}

/// ADF to wiki markup, the way v2 shows a document written through v3.
pub fn to_wiki(doc: &Value) -> String {
    let blocks = doc
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    blocks
        .iter()
        .map(|b| block_to_wiki(b, 1))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn block_to_wiki(node: &Value, depth: usize) -> String {
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "paragraph" => inlines_to_wiki(children(node)),
        "heading" => {
            let level = node
                .pointer("/attrs/level")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            format!("h{level}. {}", inlines_to_wiki(children(node)))
        }
        "bulletList" | "orderedList" => {
            let marker = if kind == "bulletList" { "*" } else { "#" };
            children(node)
                .iter()
                .map(|item| {
                    let mut lines = Vec::new();
                    for child in children(item) {
                        let ckind = child.get("type").and_then(Value::as_str).unwrap_or("");
                        if ckind == "bulletList" || ckind == "orderedList" {
                            lines.push(block_to_wiki(child, depth + 1));
                        } else {
                            lines.push(format!(
                                "{} {}",
                                marker.repeat(depth),
                                block_to_wiki(child, depth)
                            ));
                        }
                    }
                    lines.join("\n")
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        "codeBlock" => {
            let language = node.pointer("/attrs/language").and_then(Value::as_str);
            let open = match language {
                Some(l) => format!("{{code:{l}}}"),
                None => "{code}".to_owned(),
            };
            format!("{open}\n{}\n{{code}}", plain_inlines(children(node)))
        }
        "blockquote" => format!(
            "{{quote}}\n{}\n{{quote}}",
            children(node)
                .iter()
                .map(|c| block_to_wiki(c, depth))
                .collect::<Vec<_>>()
                .join("\n\n")
        ),
        "rule" => "----".to_owned(),
        _ => {
            let inner = children(node);
            if inner.is_empty() {
                String::new()
            } else if inner.iter().all(|c| {
                INLINE_NODES.contains(&c.get("type").and_then(Value::as_str).unwrap_or(""))
            }) {
                inlines_to_wiki(inner)
            } else {
                inner
                    .iter()
                    .map(|c| block_to_wiki(c, depth))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    }
}

fn inlines_to_wiki(nodes: &[Value]) -> String {
    nodes.iter().map(inline_to_wiki).collect()
}

fn plain_inlines(nodes: &[Value]) -> String {
    nodes
        .iter()
        .map(|n| n.get("text").and_then(Value::as_str).unwrap_or(""))
        .collect()
}

fn inline_to_wiki(node: &Value) -> String {
    match node.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => {
            let mut text = node
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let marks = node
                .get("marks")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for mark in marks {
                text = match mark.get("type").and_then(Value::as_str).unwrap_or("") {
                    "strong" => format!("*{text}*"),
                    "em" => format!("_{text}_"),
                    "code" => format!("{{{{{text}}}}}"),
                    "strike" => format!("-{text}-"),
                    "underline" => format!("+{text}+"),
                    "link" => {
                        let href = mark
                            .pointer("/attrs/href")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        if href == text {
                            format!("[{href}]")
                        } else {
                            format!("[{text}|{href}]")
                        }
                    }
                    _ => text,
                };
            }
            text
        }
        "hardBreak" => "\n".to_owned(),
        "mention" => {
            let id = node
                .pointer("/attrs/id")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("[~accountid:{id}]")
        }
        "emoji" => node
            .pointer("/attrs/shortName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        "inlineCard" => node
            .pointer("/attrs/url")
            .and_then(Value::as_str)
            .map(|u| format!("[{u}|{u}|smart-link]"))
            .unwrap_or_default(),
        "date" => node
            .pointer("/attrs/timestamp")
            .map(|t| t.to_string().trim_matches('"').to_owned())
            .unwrap_or_default(),
        "status" => node
            .pointer("/attrs/text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => inlines_to_wiki(children(node)),
    }
}

/// The document's text with block boundaries as newlines, for JQL `~` and assertions.
pub fn to_text(doc: &Value) -> String {
    let mut out = String::new();
    collect_text(doc, &mut out);
    out.trim_end().to_owned()
}

fn collect_text(node: &Value, out: &mut String) {
    match node.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or("")),
        "hardBreak" => out.push('\n'),
        "mention" => out.push_str(
            node.pointer("/attrs/text")
                .and_then(Value::as_str)
                .unwrap_or(""),
        ),
        kind => {
            for child in children(node) {
                collect_text(child, out);
            }
            if (BLOCK_NODES.contains(&kind) || kind == "listItem") && !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(content: Value) -> Value {
        json!({"type": "doc", "version": 1, "content": content})
    }

    #[test]
    fn accepts_common_documents() {
        let d = doc(json!([
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Case"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "bold", "marks": [{"type": "strong"}]},
                {"type": "hardBreak"},
                {"type": "text", "text": "link", "marks": [{"type": "link", "attrs": {"href": "https://x"}}]}
            ]},
            {"type": "bulletList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"}]}]}]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "x = 1"}]},
            {"type": "rule"},
            {"type": "paragraph", "content": []}
        ]));
        assert_eq!(validate(&d), Ok(()));
    }

    #[test]
    fn rejects_strings_and_broken_structure() {
        assert!(validate(&json!("plain")).is_err());
        assert!(
            validate(&json!({"type": "doc", "content": []})).is_err(),
            "no version"
        );
        assert!(
            validate(&json!({"type": "doc", "version": 1})).is_err(),
            "no content"
        );
        assert!(validate(&doc(json!([{"type": "banana"}]))).is_err());
        assert!(validate(&doc(json!([{"type": "text", "text": "inline at top"}]))).is_err());
        assert!(
            validate(&doc(
                json!([{"type": "paragraph", "content": [{"type": "paragraph"}]}])
            ))
            .is_err()
        );
        assert!(validate(&doc(json!([{"type": "heading", "content": []}]))).is_err());
        assert!(
            validate(&doc(
                json!([{"type": "paragraph", "content": [{"type": "text", "text": ""}]}])
            ))
            .is_err()
        );
        assert!(validate(&doc(json!([{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "blink"}]}]}]))).is_err());
        assert!(
            validate(&doc(
                json!([{"type": "bulletList", "content": [{"type": "paragraph"}]}])
            ))
            .is_err()
        );
    }

    #[test]
    fn wiki_round_trips_plain_text() {
        let text =
            "First line\nsecond line\n\nh2. Details\n\n* one\n* two\n\n{code}\nx = 1\n{code}";
        let d = from_wiki(text);
        assert_eq!(validate(&d), Ok(()));
        assert_eq!(to_wiki(&d), text);
    }

    #[test]
    fn marks_render_as_wiki() {
        let d = doc(json!([{"type": "paragraph", "content": [
            {"type": "text", "text": "b", "marks": [{"type": "strong"}]},
            {"type": "text", "text": " and "},
            {"type": "text", "text": "site", "marks": [{"type": "link", "attrs": {"href": "https://e.x"}}]}
        ]}]));
        assert_eq!(to_wiki(&d), "*b* and [site|https://e.x]");
        assert_eq!(to_text(&d), "b and site");
    }
}
