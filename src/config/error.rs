//! What is wrong with a configuration, and where the wrong value came from.

use std::path::PathBuf;

use super::ENV_PREFIX;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("setting `{setting}` ({}): {reason}", given_text(setting, given.as_ref()))]
    Invalid {
        setting: &'static str,
        /// Where the bad value came from, when `Config::load` could tell.
        given: Option<Given>,
        reason: String,
    },
    #[error("setting `{setting}`: cannot resolve the secret reference {reference}: {reason}")]
    SecretRef {
        setting: &'static str,
        reference: String,
        reason: String,
    },
    #[error("cannot prepare the webhook secret in {path}: {source}")]
    WebhookSecret {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(super) fn invalid(setting: &'static str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            setting,
            given: None,
            reason: reason.into(),
        }
    }

    /// Names where an invalid setting's value came from, as clap and the file merge them: a
    /// typed flag wins over the variable, which wins over the file.
    pub(super) fn given_by(self, args: &[String], file: Option<&std::path::Path>) -> Self {
        let ConfigError::Invalid {
            setting,
            given: None,
            reason,
        } = self
        else {
            return self;
        };
        let flag = format!("--{}", setting.replace('_', "-"));
        let env = format!("{ENV_PREFIX}{}", setting.to_uppercase());
        let in_file = || {
            let path = file?;
            let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
            table
                .contains_key(setting)
                .then(|| Given::File(path.to_owned()))
        };
        let given = if args
            .iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
        {
            Some(Given::Flag)
        } else if std::env::var_os(&env).is_some() {
            Some(Given::Env)
        } else {
            in_file()
        };
        ConfigError::Invalid {
            setting,
            given,
            reason,
        }
    }
}

/// Where a setting was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    Flag,
    Env,
    File(PathBuf),
}

/// "the environment variable SIR_JIRA_X", or every way to give it when the value was missing.
fn given_text(setting: &str, given: Option<&Given>) -> String {
    let env = format!("{ENV_PREFIX}{}", setting.to_uppercase());
    let flag = setting.replace('_', "-");
    match given {
        Some(Given::Env) => format!("from the environment variable {env}"),
        Some(Given::Flag) => format!("from the flag --{flag}"),
        Some(Given::File(path)) => format!("from key `{setting}` in {}", path.display()),
        None => format!("env {env}, flag --{flag} or key `{setting}` in the config file"),
    }
}
