//! Renders the ADF documents the sync builds as Jira wiki markup, the rich-text format of Data
//! Center's REST v2. Covers the nodes [`super::adf`] produces (and a few more); anything else
//! falls back to its text.

use serde_json::Value;

pub fn from_adf(doc: &Value) -> String {
    let mut out = String::new();
    blocks(doc.get("content"), &mut out, 0);
    out.trim_end().to_owned()
}

fn blocks(content: Option<&Value>, out: &mut String, depth: usize) {
    for node in content.and_then(Value::as_array).into_iter().flatten() {
        block(node, out, depth);
    }
}

fn block(node: &Value, out: &mut String, depth: usize) {
    if depth > 32 {
        return;
    }
    match kind(node) {
        "paragraph" => {
            let mut text = String::new();
            inlines(node, &mut text);
            out.push_str(&escape_line_starts(&text));
            out.push_str("\n\n");
        }
        "heading" => {
            let level = node
                .pointer("/attrs/level")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 6);
            out.push_str(&format!("h{level}. "));
            inlines(node, out);
            out.push_str("\n\n");
        }
        "bulletList" | "orderedList" => {
            let bullet = if kind(node) == "bulletList" { '*' } else { '#' };
            list(node, out, depth, &bullet.to_string());
            if depth == 0 {
                out.push('\n');
            }
        }
        "rule" => out.push_str("----\n\n"),
        "codeBlock" => {
            out.push_str("{code}\n");
            out.push_str(&plain(node));
            out.push_str("\n{code}\n\n");
        }
        "blockquote" => {
            out.push_str("{quote}\n");
            let mut inner = String::new();
            blocks(node.get("content"), &mut inner, depth + 1);
            out.push_str(inner.trim_end());
            out.push_str("\n{quote}\n\n");
        }
        _ => {
            out.push_str(&escape(&plain(node)));
            out.push_str("\n\n");
        }
    }
}

fn list(node: &Value, out: &mut String, depth: usize, prefix: &str) {
    let bullet = if kind(node) == "orderedList" {
        "#"
    } else {
        "*"
    };
    let prefix = if depth == 0 {
        bullet.to_owned()
    } else {
        format!("{prefix}{bullet}")
    };
    for item in node
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut first = true;
        for child in item
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match kind(child) {
                "bulletList" | "orderedList" => list(child, out, depth + 1, &prefix),
                _ => {
                    if first {
                        out.push_str(&prefix);
                        out.push(' ');
                    }
                    let mut text = String::new();
                    inlines(child, &mut text);
                    out.push_str(&text.replace('\n', " "));
                    out.push('\n');
                    first = false;
                }
            }
        }
    }
}

fn inlines(node: &Value, out: &mut String) {
    for n in node
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match kind(n) {
            "text" => out.push_str(&marked(n)),
            "hardBreak" => out.push('\n'),
            "mention" => {
                if let Some(id) = n.pointer("/attrs/id").and_then(Value::as_str) {
                    out.push_str(&format!("[~accountid:{id}]"));
                }
            }
            _ => out.push_str(&escape(&plain(n))),
        }
    }
}

fn marked(node: &Value) -> String {
    let raw = node.get("text").and_then(Value::as_str).unwrap_or("");
    let mut s = escape(raw);
    let marks = node.get("marks").and_then(Value::as_array);
    let mut href = None;
    for m in marks.into_iter().flatten() {
        s = match kind(m) {
            "strong" => format!("*{s}*"),
            "em" => format!("_{s}_"),
            "strike" => format!("-{s}-"),
            "code" => format!("{{{{{raw}}}}}"),
            "link" => {
                href = m.pointer("/attrs/href").and_then(Value::as_str);
                s
            }
            _ => s,
        };
    }
    match href {
        Some(href) => format!("[{s}|{href}]"),
        None => s,
    }
}

/// Characters that start wiki markup, escaped so text stays text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '[' | ']' | '{' | '}' | '|' | '*' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A paragraph line that begins like block markup (`h3. `, `bq. `, `# `, `----`) would turn
/// into a heading, quote, list or rule: its first character is escaped so the text stays text.
fn escape_line_starts(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let body = line.trim_start();
            let b = body.as_bytes();
            let markup =
                (b.len() >= 3 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.')
                    || body.starts_with("bq.")
                    || body.starts_with('#')
                    || body.starts_with('-');
            if markup {
                format!("{}\\{body}", &line[..line.len() - body.len()])
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn plain(node: &Value) -> String {
    crate::event::adf::to_text(node)
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::adf::*;

    #[test]
    fn renders_the_nodes_the_sync_builds() {
        let d = doc(vec![
            paragraph(vec![text("line one"), hard_break(), text("a [b] *c*")]),
            rule(),
            heading(3, vec![text("Details")]),
            bullet_list(vec![
                vec![paragraph(vec![
                    strong("Case:"),
                    text(" "),
                    link("123", "https://x/1"),
                ])],
                vec![paragraph(vec![strong("Status:"), text(" Submitted")])],
            ]),
            paragraph(vec![em("from SIR"), text(" "), code("x_y")]),
        ]);
        let wiki = from_adf(&d);
        assert_eq!(
            wiki,
            "line one\na \\[b\\] \\*c\\*\n\n----\n\nh3. Details\n\n* *Case:* [123|https://x/1]\n* *Status:* Submitted\n\n_from SIR_ {{x_y}}"
        );
    }
}
