//! The layering rules, checked on the sources: which top-level module of `src/` uses which.
//! A rule broken here compiles fine and shows only as a tangle later, so it is a test.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code a module ships: its unit tests may use anything, and comments name things freely.
fn shipped_code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module named after `crate::`, including inside `use crate::{a, b::c}`.
fn used_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's top-level items: split on commas outside nested braces.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        let name = ident(&group[i..]);
                        if !name.is_empty() && name != "self" {
                            used.insert(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let code = shipped_code(&std::fs::read_to_string(&file).unwrap());
        let uses = graph.entry(top.clone()).or_default();
        uses.extend(used_modules(&code).into_iter().filter(|m| *m != top));
    }
    graph
}

/// A cycle through `from`, if any: the path back to it.
fn cycle_through(graph: &Graph, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == from {
                let mut cycle = path.clone();
                cycle.push(from.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn the_parser_sees_grouped_and_plain_paths() {
    let code = "use crate::{a::X, b, c::{d, e::f}};\nfn g() { crate::h::call(); }";
    let found: Vec<String> = used_modules(code).into_iter().collect();
    assert_eq!(found, ["a", "b", "c", "h"]);
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("a".into());
    assert_eq!(cycle_through(&graph, "a").unwrap(), ["a", "b", "a"]);
}

#[test]
fn no_module_cycle() {
    let graph = module_graph();
    assert!(graph.len() > 15, "{graph:?}");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_through(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn each_layer_uses_only_what_is_below_it() {
    let graph = module_graph();
    let forbidden: &[(&str, &[&str])] = &[
        // The wiring is the top: only the commands (the command line, `migrate`) reach it.
        ("*", &["app", "cli"]),
        // The peers' clients know nothing of the store, the bus, the syncs or each other.
        (
            "jira",
            &["store", "bus", "sync", "sir", "http", "config", "db"],
        ),
        (
            "sir",
            &["store", "bus", "sync", "jira", "http", "config", "db"],
        ),
        // Lower layers never reach up to the edge or to the configuration.
        ("bus", &["http", "config", "sync"]),
        ("store", &["http", "config", "sync"]),
        ("poll", &["http", "config"]),
        ("sync", &["http", "config"]),
        ("aws", &["config"]),
        ("db", &["config"]),
    ];
    let mut broken = Vec::new();
    for (module, uses) in &graph {
        for (who, never) in forbidden {
            if *who != "*" && who != module
                || matches!(module.as_str(), "app" | "cli" | "main" | "migrate")
            {
                continue;
            }
            for bad in never.iter().filter(|b| uses.contains(**b)) {
                broken.push(format!("{module} uses {bad}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// One name, one thing: two public types of one name make every `use` a guess.
#[test]
fn public_type_names_are_unique() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut defined: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let code = shipped_code(&std::fs::read_to_string(&file).unwrap());
        for line in code.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["pub", "struct" | "enum" | "trait" | "type", name, ..] = words[..] {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let place = file.strip_prefix(&src).unwrap().display().to_string();
                defined.entry(name).or_default().push(place);
            }
        }
    }
    let twice: Vec<String> = defined
        .iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|(name, places)| format!("{name}: {}", places.join(", ")))
        .collect();
    assert!(defined.len() > 100, "{}", defined.len());
    assert!(twice.is_empty(), "{}", twice.join("\n"));
}
