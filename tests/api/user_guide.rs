//! The user guide stays truthful: every `SIR_JIRA_*` variable it names is a real setting and
//! every setting is documented in it under its own name, and every `sir-jira-bridge …` command it
//! shows parses with the binary's command line.

use std::collections::BTreeSet;

use clap::Parser;
use sir_jira_bridge::cli::Cli;

fn read(path: &str) -> String {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `SIR_JIRA_…` names in `text`.
fn env_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("SIR_JIRA_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        // `SIR_JIRA_*` in prose is the prefix, not a name.
        let name = tail[..end].trim_end_matches('_');
        if name != "SIR_JIRA" {
            names.insert(name.to_owned());
        }
        rest = &tail[end..];
    }
    names
}

/// The guide's code: fenced blocks and inline spans.
fn code_of(markdown: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut prose = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            code.push(line.to_owned());
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    code.extend(prose.split('`').skip(1).step_by(2).map(str::to_owned));
    code
}

/// The arguments after each `sir-jira-bridge ` in `code`, placeholders (`<…>`) as `x`.
fn commands(code: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for snippet in code {
        let mut rest = snippet.as_str();
        while let Some(at) = rest.find("sir-jira-bridge ") {
            let tail = &rest[at + "sir-jira-bridge ".len()..];
            let mut args = Vec::new();
            let mut words = tail.split_whitespace().peekable();
            while let Some(word) = words.next() {
                if word.starts_with('<') {
                    // A placeholder, possibly several words: `<distinct name>`.
                    let mut w = word;
                    while !w.ends_with('>') {
                        match words.next() {
                            Some(next) => w = next,
                            None => break,
                        }
                    }
                    args.push("x".to_owned());
                    continue;
                }
                // `$(sir-jira-bridge print-admin-token)`: the command ends at the `)`.
                let trimmed = word.trim_end_matches([')', ';', ',', '.']);
                let ok = trimmed
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !ok || trimmed.is_empty() {
                    break;
                }
                args.push(trimmed.to_owned());
                if trimmed.len() != word.len() {
                    break;
                }
            }
            if !args.is_empty() {
                found.push(args);
            }
            rest = tail;
        }
    }
    found
}

#[test]
fn every_variable_in_the_guide_is_a_setting_and_every_setting_is_in_the_guide() {
    let guide = read("docs/user-guide.md");
    let settings = read("src/config/settings.rs");
    let documented = env_names(&guide);
    let real = env_names(&settings);
    // The Lambda binary's own variable lives in lambda-http.
    let lambda = env_names(&read("lambda-http/src/lib.rs"));
    for name in &documented {
        assert!(
            real.contains(name) || lambda.contains(name),
            "the guide names {name}, which no setting reads"
        );
    }
    for name in &real {
        assert!(
            documented.contains(name),
            "setting {name} is missing from the guide"
        );
    }
    // In the settings tables, each row's setting and variable agree.
    for line in guide.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (setting, env) = (cells[1].trim_matches('`'), cells[2].trim_matches('`'));
        if env.starts_with("SIR_JIRA_") && !setting.contains(' ') {
            assert_eq!(
                env,
                format!("SIR_JIRA_{}", setting.to_uppercase()),
                "row: {line}"
            );
        }
    }
}

#[test]
fn every_command_in_the_guide_parses() {
    let guide = read("docs/user-guide.md");
    let commands = commands(&code_of(&guide));
    let shown: BTreeSet<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    for needed in ["setup", "doctor", "serve", "backfill", "print-admin-token"] {
        assert!(shown.contains(needed), "the guide never shows `{needed}`");
    }
    for args in &commands {
        let argv = std::iter::once("sir-jira-bridge").chain(args.iter().map(String::as_str));
        match Cli::try_parse_from(argv) {
            Ok(_) => {}
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {}
            Err(e) => panic!("`sir-jira-bridge {}` does not parse: {e}", args.join(" ")),
        }
    }
}

/// The mappings-file examples in the guide and in docs/issue-to-case.md load as written.
#[test]
fn the_mappings_file_examples_parse() {
    let mut checked = 0;
    for doc in ["docs/user-guide.md", "docs/issue-to-case.md"] {
        let text = read(doc);
        let mut block: Option<String> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start()) {
                (None, l) if l.starts_with("```toml") => block = Some(String::new()),
                (Some(b), l) if l.starts_with("```") => {
                    let is_mappings = b.contains("[status]") || b.contains("[issue_to_case");
                    if is_mappings {
                        sir_jira_bridge::sync::Mappings::parse(b)
                            .unwrap_or_else(|e| panic!("{doc}: {e}\n{b}"));
                        checked += 1;
                    }
                    block = None;
                }
                (Some(b), _) => {
                    b.push_str(line);
                    b.push('\n');
                }
                (None, _) => {}
            }
        }
    }
    assert!(checked >= 3, "found {checked} mappings examples");
}

/// Markdown files whose `cargo run` lines a reader may copy: the README and every doc.
fn markdown_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned(), "deploy/README.md".to_owned()];
    let mut dirs = vec!["docs".to_owned()];
    while let Some(dir) = dirs.pop() {
        let full = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(&full).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{dir}/{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                dirs.push(name);
            } else if name.ends_with(".md") {
                files.push(name);
            }
        }
    }
    files
}

/// Each `cargo run …` command in `text`, as its words: from `cargo run` to the end of the
/// line (continuation lines joined), a closing backtick or `)`.
fn cargo_run_commands(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("cargo run") {
            let tail = &rest[at + "cargo run".len()..];
            let end = tail.find(['`', ')']).unwrap_or(tail.len());
            found.push(tail[..end].split_whitespace().map(str::to_owned).collect());
            rest = &tail[end..];
        }
    }
    found
}

/// Workspace members by package name, and the root package's `default-run`.
fn workspace() -> (BTreeSet<String>, Option<String>) {
    let root: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
    let mut names = BTreeSet::new();
    for member in root["workspace"]["members"].as_array().unwrap() {
        let manifest: toml::Table =
            toml::from_str(&read(&format!("{}/Cargo.toml", member.as_str().unwrap()))).unwrap();
        names.insert(manifest["package"]["name"].as_str().unwrap().to_owned());
    }
    let default_run = root["package"]
        .get("default-run")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    (names, default_run)
}

/// Every `cargo run` line in the README and the docs works as written: cargo can tell which
/// binary to run (several workspace members have one), and what follows `--` parses with that
/// binary's command line.
#[test]
fn every_cargo_run_line_in_the_docs_works_as_written() {
    let (packages, default_run) = workspace();
    let mut checked = 0;
    for file in markdown_files() {
        for words in cargo_run_commands(&read(&file)) {
            let shown = format!("{file}: cargo run {}", words.join(" "));
            let split = words.iter().position(|w| w == "--").unwrap_or(words.len());
            let (cargo_args, args) = (&words[..split], &words[(split + 1).min(words.len())..]);
            let mut package = None;
            let mut bin = None;
            let mut it = cargo_args.iter();
            while let Some(word) = it.next() {
                match word.as_str() {
                    "-p" | "--package" => package = it.next().cloned(),
                    "--bin" => bin = it.next().cloned(),
                    "--release" | "-q" | "--quiet" | "--locked" => {}
                    other => panic!("{shown}: unexpected cargo option {other}"),
                }
            }
            if let Some(package) = &package {
                assert!(packages.contains(package), "{shown}: no package {package}");
            }
            let runs_the_service = match (&package, &bin) {
                (None, None) => {
                    assert_eq!(
                        default_run.as_deref(),
                        Some("sir-jira-bridge"),
                        "{shown}: cargo cannot tell which binary to run (no default-run)"
                    );
                    true
                }
                (Some(p), None) => p == "sir-jira-bridge",
                (_, Some(b)) => b == "sir-jira-bridge",
            };
            checked += 1;
            // Placeholders (`<command>`) stand for any command; optional flags (`[--restart]`)
            // are tried in.
            if !runs_the_service || args.iter().any(|a| a.starts_with('<')) {
                continue;
            }
            let argv = std::iter::once("sir-jira-bridge").chain(
                args.iter()
                    .map(|a| a.trim_start_matches('[').trim_end_matches(']')),
            );
            if let Err(e) = Cli::try_parse_from(argv) {
                panic!("{shown} does not parse: {e}");
            }
        }
    }
    assert!(checked >= 7, "found {checked} cargo run lines");
}
