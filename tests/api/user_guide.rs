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
