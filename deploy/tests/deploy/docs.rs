//! deploy/'s documents and files say what is true: their links resolve, the image's
//! HEALTHCHECK runs a command the binary has, and every SSM name they give is one a
//! deployment writes.

use std::path::Path;

use clap::CommandFactory;

use crate::helpers::{read, root};

/// GitHub's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_link_in_deploys_documents_resolves() {
    for file in ["deploy/README.md", "deploy/container.md"] {
        let text = read(file);
        let dir = Path::new(file).parent().unwrap();
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')').unwrap()];
            if target.starts_with("http") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let linked = match path {
                "" => root().join(file),
                p => root().join(dir).join(p),
            };
            assert!(linked.exists(), "{file}: {target} does not exist");
            if !anchor.is_empty() {
                let headings = anchors(&std::fs::read_to_string(&linked).unwrap());
                assert!(
                    headings.contains(&anchor.to_owned()),
                    "{file}: {target}: no such section (has {headings:?})"
                );
            }
        }
        for stale in [
            "when it lands",
            " coming",
            "(coming",
            "root README, \"Configuration\"",
        ] {
            assert!(!text.contains(stale), "{file} still says `{stale}`");
        }
    }
}

#[test]
fn the_images_healthcheck_runs_the_binarys_healthcheck_command() {
    let dockerfile = read("deploy/Dockerfile");
    let line = dockerfile
        .lines()
        .skip_while(|l| !l.starts_with("HEALTHCHECK"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        line.contains(r#"CMD ["/usr/local/bin/sir-jira-bridge", "healthcheck"]"#),
        "{line}"
    );
    let cli = sir_jira_bridge::cli::Cli::command();
    assert!(
        cli.get_subcommands().any(|c| c.get_name() == "healthcheck"),
        "the binary has no healthcheck command"
    );
}

#[test]
fn every_documented_ssm_name_is_one_a_deployment_writes() {
    let written = [
        "jiraToken",
        "jiraWebhookSecret",
        "adminToken",
        "jiraEmail",
        "jiraUrl",
        "jiraProjectKey",
    ];
    let template = read("deploy/template.yaml");
    for name in written {
        assert!(template.contains(&format!("/{name}")), "{name}");
    }
    for file in [
        "README.md",
        "docs/reference.md",
        "docs/user-guide.md",
        "deploy/README.md",
        "deploy/container.md",
    ] {
        let text = read(file);
        for (at, _) in text.match_indices("/SecurityIncidentResponse/") {
            let rest = &text[at + "/SecurityIncidentResponse/".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            // `/SecurityIncidentResponse/jira*`, `/SecurityIncidentResponse/…`: the path itself.
            if name.is_empty() || rest[name.len()..].starts_with('*') {
                continue;
            }
            assert!(
                written.contains(&name.as_str()),
                "{file} names /SecurityIncidentResponse/{name}, which no deployment writes"
            );
        }
    }
}
