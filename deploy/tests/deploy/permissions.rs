//! The permission list (`src/aws/permissions.rs`) against the code that calls AWS, the
//! template's roles and the container's documented task role.

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;
use sir_jira_bridge::aws::permissions::{GRANTS, NOT_GRANTED, Role};

use crate::helpers::{container_actions, read, root, template, template_actions};

/// Every operation of the AWS SDK crates the workspace locks, as their client methods are
/// named: each is a module under the crate's `src/operation/`, in cargo's registry (where the
/// build that runs this test unpacked it).
fn sdk_operations() -> BTreeSet<String> {
    let lock = read("Cargo.lock");
    let mut crates = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
            && n.starts_with("aws-sdk-")
        {
            crates.push(format!("{n}-{}", v.trim_matches('"')));
        }
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo")
        });
    let registries: Vec<_> = std::fs::read_dir(cargo_home.join("registry/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut operations = BTreeSet::new();
    for krate in &crates {
        let dir = registries
            .iter()
            .map(|r| r.join(krate).join("src/operation"))
            .find(|d| d.is_dir())
            .unwrap_or_else(|| panic!("{krate} is not unpacked in {}", cargo_home.display()));
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_dir() {
                operations.insert(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    assert!(operations.contains("batch_get_item") && operations.contains("list_cases"));
    operations
}

/// Every SDK operation the service's code calls: `.operation()` (a method named like one of
/// the SDK's operations, without arguments) in a statement that goes on to `.send()`.
fn sdk_calls() -> BTreeMap<String, BTreeSet<String>> {
    let operations = sdk_operations();
    let mut calls: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![root().join("src"), root().join("lambda-http/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let file = path.strip_prefix(root()).unwrap().display().to_string();
            for (at, _) in text.match_indices("()") {
                let before = &text[..at];
                let name_start = before
                    .rfind(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
                    .map(|i| i + 1)
                    .unwrap_or(0);
                if name_start == 0 || !before[..name_start].ends_with('.') {
                    continue;
                }
                let name = &before[name_start..];
                if !operations.contains(name) {
                    continue;
                }
                let rest = &text[at..];
                let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
                if statement.contains(".send()") {
                    calls
                        .entry(name.to_owned())
                        .or_default()
                        .insert(file.clone());
                }
            }
        }
    }
    calls
}

#[test]
fn every_aws_call_in_the_code_is_listed_and_every_listed_action_is_called() {
    let calls = sdk_calls();
    let listed: BTreeSet<&str> = GRANTS
        .iter()
        .map(|g| g.sdk_method)
        .chain(NOT_GRANTED.iter().map(|(m, _)| *m))
        .collect();
    // The scan finds what it must (a scan that finds nothing would pass the next check).
    for known in [
        "batch_get_item",
        "put_events",
        "receive_message",
        "list_cases",
    ] {
        assert!(
            calls.contains_key(known),
            "the scan misses {known}: {calls:?}"
        );
    }
    let unlisted: Vec<_> = calls
        .iter()
        .filter(|(name, _)| !listed.contains(name.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "AWS calls missing from src/aws/permissions.rs (add the action and its roles): \
         {unlisted:?}"
    );
    let uncalled: Vec<_> = listed.iter().filter(|m| !calls.contains_key(**m)).collect();
    assert!(
        uncalled.is_empty(),
        "listed in src/aws/permissions.rs but called nowhere (remove the grant): {uncalled:?}"
    );
}

#[test]
fn each_template_role_grants_exactly_what_its_code_calls() {
    let template = template();
    for role in Role::ALL {
        let Some(logical_id) = role.template_role() else {
            continue;
        };
        let granted = template_actions(&template, logical_id);
        let needed: BTreeSet<String> = role.actions().into_iter().map(str::to_owned).collect();
        assert_eq!(
            granted, needed,
            "{logical_id} ({role:?}): granted (left) differs from src/aws/permissions.rs (right)"
        );
    }
}

#[test]
fn the_consumers_read_no_ssm_parameter_but_the_jira_token() {
    let template = template();
    for role in ["JiraClientRole", "SirClientRole"] {
        let statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]
            .as_sequence()
            .unwrap();
        let ssm: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Action"].as_str() == Some("ssm:GetParameter"))
            .collect();
        assert_eq!(ssm.len(), 1, "{role}");
        let resource = serde_norway::to_string(&ssm[0]["Resource"]).unwrap();
        assert!(
            resource.contains("${JiraTokenParameter}") && !resource.contains("jira*"),
            "{role}: {resource}"
        );
    }
}

#[test]
fn the_container_task_role_documents_exactly_what_the_process_calls() {
    let needed: BTreeSet<String> = Role::Container
        .actions()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        container_actions(),
        needed,
        "deploy/container.md (left) vs the list"
    );
}
