//! Settings someone meant to give but misspelled: `SIR_JIRA_*` variables and TOML keys that
//! name no setting. They would otherwise be ignored in silence (the service running on a
//! default the person thought they had changed), so start-up warns about each, naming the
//! nearest valid setting, and `doctor` fails.

use std::{fmt, path::Path};

use clap::Args;

use super::{ENV_PREFIX, Given, Settings};

/// Variables of this project's other programs (the Lambda binary's role) and of its scripts and
/// tests: not service settings.
const TOOL_VARIABLES: &[&str] = &["SIR_JIRA_SKIP_LAMBDA_BUILD", "SIR_JIRA_LAMBDA_ROLE"];
const TOOL_PREFIXES: &[&str] = &["SIR_JIRA_MODEL_", "SIR_JIRA_BENCH_"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSetting {
    /// As given: the variable's or the key's name.
    pub name: String,
    pub given: Given,
    /// The valid name (variable or key, as given) closest to it, when one is close.
    pub nearest: Option<String>,
}

impl fmt::Display for UnknownSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.given {
            Given::Env => write!(f, "environment variable {} is not a setting", self.name)?,
            // clap refuses an unknown flag itself; kept for completeness of `Given`.
            Given::Flag => write!(f, "flag --{} is not a setting", self.name)?,
            Given::File(path) => write!(
                f,
                "key `{}` in {} is not a setting",
                self.name,
                path.display()
            )?,
        }
        match &self.nearest {
            Some(n) => write!(f, " (did you mean {n}?)"),
            None => write!(f, " (see docs/reference.md for the settings)"),
        }
    }
}

/// Every setting's name (the TOML key) and its environment variable.
fn known() -> Vec<(String, Option<String>)> {
    Settings::augment_args(clap::Command::new("settings"))
        .get_arguments()
        .map(|a| {
            (
                a.get_id().to_string(),
                a.get_env().map(|e| e.to_string_lossy().into_owned()),
            )
        })
        .collect()
}

/// The `SIR_JIRA_*` variables among `vars` that name no setting.
pub fn in_env<K: AsRef<str>>(vars: impl IntoIterator<Item = K>) -> Vec<UnknownSetting> {
    let valid: Vec<String> = known().into_iter().filter_map(|(_, env)| env).collect();
    vars.into_iter()
        .map(|v| v.as_ref().to_owned())
        .filter(|v| v.starts_with(ENV_PREFIX))
        .filter(|v| !valid.contains(v))
        .filter(|v| !TOOL_VARIABLES.contains(&v.as_str()))
        .filter(|v| !TOOL_PREFIXES.iter().any(|p| v.starts_with(p)))
        .map(|name| UnknownSetting {
            nearest: nearest(&name, valid.iter().map(String::as_str)),
            name,
            given: Given::Env,
        })
        .collect()
}

/// The top-level keys of a TOML file's table that name no setting.
pub fn in_file<'a>(keys: impl IntoIterator<Item = &'a str>, path: &Path) -> Vec<UnknownSetting> {
    let valid: Vec<String> = known()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name != "config")
        .collect();
    keys.into_iter()
        .filter(|k| !valid.iter().any(|v| v == k))
        .map(|k| UnknownSetting {
            name: k.to_owned(),
            given: Given::File(path.to_owned()),
            nearest: nearest(k, valid.iter().map(String::as_str)),
        })
        .collect()
}

/// The candidate closest to `name` by edit distance, when it is close enough to be a typo.
fn nearest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    candidates
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len() / 4).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_owned())
}

/// Levenshtein distance over bytes (setting names are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What we ship sets only variables the service knows: otherwise every deployment would
    /// start with a warning and a failing `doctor`.
    #[test]
    fn the_shipped_deployments_set_no_unknown_variable() {
        for (file, text) in [
            (
                "deploy/template.yaml",
                include_str!("../../deploy/template.yaml"),
            ),
            (
                "deploy/container.md",
                include_str!("../../deploy/container.md"),
            ),
            ("README.md", include_str!("../../README.md")),
            ("docs/reference.md", include_str!("../../docs/reference.md")),
            (
                "docs/user-guide.md",
                include_str!("../../docs/user-guide.md"),
            ),
        ] {
            let names: Vec<&str> = text
                .match_indices(ENV_PREFIX)
                .map(|(at, _)| {
                    let rest = &text[at..];
                    let end = rest
                        .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                        .unwrap_or(rest.len());
                    &rest[..end]
                })
                // `SIR_JIRA_*` and the like name a family, not a variable.
                .filter(|n| !n.ends_with('_'))
                .collect();
            assert!(!names.is_empty() || file != "deploy/template.yaml");
            let unknown: Vec<String> = in_env(names)
                .into_iter()
                // The reference quotes this misspelling as its example of the warning.
                .filter(|u| u.name != "SIR_JIRA_WORKRES")
                .map(|u| u.name)
                .collect();
            assert!(unknown.is_empty(), "{file} names {unknown:?}");
        }
    }

    #[test]
    fn a_misspelled_variable_is_named_with_the_one_meant() {
        let found = in_env([
            "SIR_JIRA_LISTEN_ADRR",
            "SIR_JIRA_LISTEN_ADDR",
            "SIR_JIRA_SKIP_LAMBDA_BUILD",
            "SIR_JIRA_MODEL_SEED",
            "HOME",
            "SIR_JIRA_SOMETHING_ELSE_ENTIRELY",
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].name, "SIR_JIRA_LISTEN_ADRR");
        assert_eq!(found[0].nearest.as_deref(), Some("SIR_JIRA_LISTEN_ADDR"));
        assert_eq!(
            found[0].to_string(),
            "environment variable SIR_JIRA_LISTEN_ADRR is not a setting (did you mean SIR_JIRA_LISTEN_ADDR?)"
        );
        assert_eq!(found[1].nearest, None);
    }

    #[test]
    fn every_setting_variable_is_known() {
        for (name, env) in known() {
            if name == "config" {
                continue;
            }
            let env = env.unwrap_or_else(|| panic!("{name} has no variable"));
            assert!(in_env([env.as_str()]).is_empty(), "{env}");
        }
    }

    #[test]
    fn a_misspelled_key_is_named_with_the_one_meant() {
        let found = in_file(["listen_adr", "workers"], Path::new("c.toml"));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "key `listen_adr` in c.toml is not a setting (did you mean listen_addr?)"
        );
    }

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
