//! What a deployment does, decided before anything runs: the stack's parameters (every one the
//! template declares, spelled out), the secrets and where they go, the artifact. `--dry-run`
//! prints it; the deployment carries it out.

use std::{collections::BTreeMap, fmt::Write as _, path::PathBuf};

use sir_jira_bridge::secret::Secret;

use crate::{
    cli::{Architecture, JiraArgs, LogLevel},
    names::{NameError, Names},
    template::Template,
};

/// Shortest secret the service accepts.
const MIN_SECRET_LEN: usize = 16;

/// The Lambda binary (one for every role) and where cargo lambda puts its zip.
pub const LAMBDA_BINARY: &str = "sir-jira-bridge-lambda";

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("--{0} is required")]
    Missing(&'static str),
    #[error("--{flag}: {reason}")]
    Invalid { flag: &'static str, reason: String },
    #[error("the template and this command disagree on the parameters: {0}")]
    Parameters(String),
}

#[derive(Debug)]
pub enum Action {
    Deploy(Box<Deployment>),
    Destroy,
}

#[derive(Debug)]
pub struct Plan {
    pub stack_name: String,
    pub names: Names,
    pub region: Option<String>,
    pub artifact_bucket: Option<String>,
    pub action: Action,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct Deployment {
    /// Every template parameter, with the value the stack gets. `SecretsVersion` is filled in
    /// once the secrets are written.
    pub parameters: BTreeMap<String, String>,
    pub secrets: Vec<SecretWrite>,
    pub artifact: Artifact,
}

/// One SecureString the deployment stores.
#[derive(Debug)]
pub struct SecretWrite {
    pub kind: SecretKind,
    pub parameter: String,
    pub what: &'static str,
    pub value: SecretValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    JiraToken,
    WebhookSecret,
    AdminToken,
}

#[derive(Debug)]
pub enum SecretValue {
    /// Given on the command line: written (a new version when it changed).
    Given { secret: Secret, flag: &'static str },
    /// Not given: the stored one is kept, or a random one is generated (and shown once).
    KeepOrGenerate,
}

#[derive(Debug)]
pub enum Artifact {
    Build { architecture: Architecture },
    Prebuilt(PathBuf),
}

impl Artifact {
    /// The command that builds it, as run from the workspace root.
    pub fn build_command(architecture: Architecture) -> Vec<String> {
        [
            "cargo",
            "lambda",
            "build",
            "--release",
            architecture.cargo_lambda_flag(),
            "--output-format",
            "zip",
            "--package",
            "sir-jira-bridge-lambda",
            "--bin",
            LAMBDA_BINARY,
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

impl Plan {
    pub fn from_args(
        args: JiraArgs,
        log_level: Option<LogLevel>,
        template: &Template,
    ) -> Result<Plan, PlanError> {
        let log_level = log_level.unwrap_or(LogLevel::Error);
        let names = Names::new(&args.stack_name, args.prefix.as_deref())?;
        let action = match args.destroy {
            true => Action::Destroy,
            false => Action::Deploy(Box::new(deployment(&args, &names, log_level, template)?)),
        };
        Ok(Plan {
            names,
            stack_name: args.stack_name,
            region: args.region,
            artifact_bucket: args.artifact_bucket,
            action,
            dry_run: args.dry_run,
        })
    }

    /// The plan as people read it. Secrets show as `********`.
    pub fn render(&self, template: &Template) -> String {
        let mut out = String::new();
        let region = self
            .region
            .as_deref()
            .unwrap_or("(the AWS SDK's default region)");
        let _ = writeln!(
            out,
            "Stack {} in {region}{}",
            self.stack_name,
            if self.dry_run {
                " (dry run: nothing is built, stored or deployed; AWS is not contacted)"
            } else {
                ""
            }
        );
        let deployment = match &self.action {
            Action::Destroy => {
                let _ = writeln!(
                    out,
                    "\nDelete the stack {} and wait for it.",
                    self.stack_name
                );
                let _ = writeln!(
                    out,
                    "Delete the SecureString parameters {}, {} and {}.",
                    self.names.jira_token(),
                    self.names.webhook_secret(),
                    self.names.admin_token()
                );
                let _ = writeln!(
                    out,
                    "Keep the DynamoDB state table (DeletionPolicy: Retain): delete it yourself \
                     once you no longer need the mappings."
                );
                return out;
            }
            Action::Deploy(d) => d,
        };

        let _ = writeln!(out, "\nArtifact (one binary for every function):");
        match &deployment.artifact {
            Artifact::Build { architecture } => {
                let _ = writeln!(
                    out,
                    "  build: {}",
                    Artifact::build_command(*architecture).join(" ")
                );
                let _ = writeln!(out, "  -> target/lambda/{LAMBDA_BINARY}/bootstrap.zip");
            }
            Artifact::Prebuilt(path) => {
                let _ = writeln!(out, "  prebuilt: {}", path.display());
            }
        }
        let bucket = self
            .artifact_bucket
            .clone()
            .unwrap_or_else(|| "sir-jira-bridge-artifacts-<account>-<region>".into());
        let _ = writeln!(
            out,
            "  upload: s3://{bucket}/sir-jira-bridge/<sha256>.zip, and the template with its \
             CodeUri pointing there"
        );

        let _ = writeln!(
            out,
            "\nSecrets (SSM SecureString, written before the stack):"
        );
        for s in &deployment.secrets {
            let how = match &s.value {
                SecretValue::Given { flag, .. } => format!("******** (from --{flag})"),
                SecretValue::KeepOrGenerate if s.kind == SecretKind::WebhookSecret => {
                    "kept if already stored, else generated (and shown once)".into()
                }
                SecretValue::KeepOrGenerate => "kept if already stored, else generated".into(),
            };
            let _ = writeln!(out, "  {:<45} {:<20} {how}", s.parameter, s.what);
        }

        let _ = writeln!(out, "\nStack parameters (every one the template declares):");
        for (name, value) in &deployment.parameters {
            let value = if value.is_empty() {
                "\"\" (none)"
            } else {
                value
            };
            let _ = writeln!(out, "  {name:<24} = {value}");
        }

        let _ = writeln!(
            out,
            "\nNamed resources (from the stack name and the SSM path {}; no other stack's):",
            self.names.prefix
        );
        for (kind, name) in self.names.named_resources() {
            let _ = writeln!(out, "  {kind:<22} {name}");
        }

        let _ = writeln!(out, "\nResources:");
        for r in &template.resources {
            let condition = r
                .condition
                .as_deref()
                .map(|c| format!("  (if {c})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {:<38} {}{condition}", r.logical_id, r.kind);
        }
        let _ = writeln!(
            out,
            "\nThen: create or update the stack through a change set, wait for it, print its \
             outputs and the Jira webhook settings."
        );
        out
    }
}

fn deployment(
    args: &JiraArgs,
    names: &Names,
    log_level: LogLevel,
    template: &Template,
) -> Result<Deployment, PlanError> {
    let email = args.email.clone().ok_or(PlanError::Missing("email"))?;
    let url = args
        .url
        .clone()
        .ok_or(PlanError::Missing("url"))?
        .trim_end_matches('/')
        .to_owned();
    let token = args.token.clone().ok_or(PlanError::Missing("token"))?;
    let project_key = args
        .project_key
        .clone()
        .ok_or(PlanError::Missing("project-key"))?;
    if !url.starts_with("https://") {
        return Err(PlanError::Invalid {
            flag: "url",
            reason: "must start with https://".into(),
        });
    }
    if !email.contains('@') {
        return Err(PlanError::Invalid {
            flag: "email",
            reason: "must be an email address".into(),
        });
    }
    if sir_jira_bridge::domain::ProjectKey::parse(&project_key).is_err() {
        return Err(PlanError::Invalid {
            flag: "project-key",
            reason: format!("`{project_key}` is not a Jira project key"),
        });
    }
    if token.is_empty() {
        return Err(PlanError::Invalid {
            flag: "token",
            reason: "must not be empty".into(),
        });
    }
    if let Some(email) = &args.alarm_email
        && (!email.contains('@') || email.chars().any(char::is_whitespace))
    {
        return Err(PlanError::Invalid {
            flag: "alarm-email",
            reason: "must be an email address".into(),
        });
    }
    if let Some(arn) = &args.alarm_topic_arn
        && !(arn.starts_with("arn:") && arn.split(':').nth(2) == Some("sns"))
    {
        return Err(PlanError::Invalid {
            flag: "alarm-topic-arn",
            reason: "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)".into(),
        });
    }
    if let Some(secret) = &args.webhook_secret
        && secret.expose().len() < MIN_SECRET_LEN
    {
        return Err(PlanError::Invalid {
            flag: "webhook-secret",
            reason: format!("must be at least {MIN_SECRET_LEN} characters"),
        });
    }

    let defaults = template.defaults();
    let default = |name: &str| -> String {
        defaults
            .get(name)
            .copied()
            .flatten()
            .unwrap_or_default()
            .to_owned()
    };
    let mut parameters = BTreeMap::new();
    let mut set = |name: &str, value: String| {
        parameters.insert(name.to_owned(), value);
    };
    set("JiraEmail", email);
    set("JiraUrl", url);
    set("JiraProjectKey", project_key);
    set("LogLevel", log_level.as_str().to_owned());
    set("Architecture", args.architecture.as_str().to_owned());
    set("JiraTokenParameter", names.jira_token());
    set("WebhookSecretParameter", names.webhook_secret());
    set("AdminTokenParameter", names.admin_token());
    set("ParameterPrefix", names.prefix.clone());
    set("AlarmEmail", args.alarm_email.clone().unwrap_or_default());
    set(
        "GatewayReservedConcurrency",
        args.gateway_concurrency
            .map(|c| c.parameter())
            .unwrap_or_else(|| default("GatewayReservedConcurrency")),
    );
    set(
        "ConsumerReservedConcurrency",
        args.consumer_concurrency
            .map(|c| c.parameter())
            .unwrap_or_else(|| default("ConsumerReservedConcurrency")),
    );
    set(
        "SecretsVersion",
        "(the stored secrets' versions, known once they are written)".to_owned(),
    );
    set(
        "PollerScheduleExpression",
        default("PollerScheduleExpression"),
    );
    set("SyncPaused", args.paused.to_string());
    set("LogRetentionInDays", args.log_retention_days.to_string());
    set("CreateSnsTopic", (!args.no_sns_topic).to_string());
    set(
        "JiraAutomationPublisher",
        default("JiraAutomationPublisher"),
    );
    set(
        "AlarmTopicArn",
        args.alarm_topic_arn.clone().unwrap_or_default(),
    );
    set("EventSource", default("EventSource"));
    check_parameters(&parameters, template)?;

    let webhook = match &args.webhook_secret {
        Some(secret) => SecretValue::Given {
            secret: secret.clone(),
            flag: "webhook-secret",
        },
        None => SecretValue::KeepOrGenerate,
    };
    Ok(Deployment {
        parameters,
        secrets: vec![
            SecretWrite {
                kind: SecretKind::JiraToken,
                parameter: names.jira_token(),
                what: "Jira API token",
                value: SecretValue::Given {
                    secret: token,
                    flag: "token",
                },
            },
            SecretWrite {
                kind: SecretKind::WebhookSecret,
                parameter: names.webhook_secret(),
                what: "Jira webhook secret",
                value: webhook,
            },
            SecretWrite {
                kind: SecretKind::AdminToken,
                parameter: names.admin_token(),
                what: "admin API token",
                value: SecretValue::KeepOrGenerate,
            },
        ],
        artifact: match &args.artifact {
            Some(path) => Artifact::Prebuilt(path.clone()),
            None => Artifact::Build {
                architecture: args.architecture,
            },
        },
    })
}

/// The stack gets every parameter the template declares, and nothing else: a parameter left
/// out would silently fall back to its default on an update.
fn check_parameters(
    parameters: &BTreeMap<String, String>,
    template: &Template,
) -> Result<(), PlanError> {
    let declared: Vec<&str> = template
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let missing: Vec<&str> = declared
        .iter()
        .copied()
        .filter(|name| !parameters.contains_key(*name))
        .collect();
    let unknown: Vec<&str> = parameters
        .keys()
        .map(String::as_str)
        .filter(|name| !declared.contains(name))
        .collect();
    if missing.is_empty() && unknown.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Parameters(format!(
            "not supplied: {missing:?}; not in the template: {unknown:?}"
        )))
    }
}

/// A new random secret: 32 bytes, hex.
pub fn generate_secret() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{
        cli::{Cli, Command},
        template::TEMPLATE,
    };

    fn plan(args: &[&str]) -> Result<Plan, PlanError> {
        let cli = Cli::try_parse_from(
            ["deploy-integrations-solution", "jira"]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .unwrap();
        let Command::Jira(args) = cli.command else {
            panic!("jira")
        };
        Plan::from_args(*args, cli.log_level, &Template::parse(TEMPLATE).unwrap())
    }

    const JIRA: &[&str] = &[
        "--email",
        "user@example.com",
        "--url",
        "https://example.atlassian.net/",
        "--token",
        "jira-api-token-value",
        "--project-key",
        "SEC",
    ];

    #[test]
    fn every_template_parameter_is_supplied() {
        let template = Template::parse(TEMPLATE).unwrap();
        let Action::Deploy(d) = plan(JIRA).unwrap().action else {
            panic!("a deployment")
        };
        for p in &template.parameters {
            assert!(
                d.parameters.contains_key(&p.name),
                "{} not supplied",
                p.name
            );
        }
        assert_eq!(d.parameters.len(), template.parameters.len());
        assert_eq!(d.parameters["LogLevel"], "error", "the seed's default");
        assert_eq!(d.parameters["JiraUrl"], "https://example.atlassian.net");
    }

    #[test]
    fn the_secret_parameter_names_are_the_templates_defaults() {
        let template = Template::parse(TEMPLATE).unwrap();
        let defaults = template.defaults();
        let names = Names::new(crate::names::DEFAULT_STACK, None).unwrap();
        assert_eq!(
            defaults["JiraTokenParameter"],
            Some(names.jira_token().as_str())
        );
        assert_eq!(
            defaults["WebhookSecretParameter"],
            Some(names.webhook_secret().as_str())
        );
        assert_eq!(
            defaults["AdminTokenParameter"],
            Some(names.admin_token().as_str())
        );
        assert_eq!(defaults["ParameterPrefix"], Some(names.prefix.as_str()));
    }

    #[test]
    fn bad_values_are_refused_by_flag() {
        let with = |flag: &str, value: &str| {
            let mut args = JIRA.to_vec();
            let at = args.iter().position(|a| *a == flag).unwrap();
            args[at + 1] = value;
            plan(&args).unwrap_err().to_string()
        };
        assert!(with("--url", "http://jira").contains("--url"));
        assert!(with("--project-key", "s-1").contains("--project-key"));
        assert!(with("--email", "nobody").contains("--email"));
        let short = plan(&[JIRA, &["--webhook-secret", "short"]].concat())
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("--webhook-secret") && !short.contains("short\""),
            "{short}"
        );
    }

    #[test]
    fn arm64_is_built_for_arm64_or_taken_prebuilt() {
        let Action::Deploy(d) = plan(&[JIRA, &["--architecture", "arm64"]].concat())
            .unwrap()
            .action
        else {
            panic!("a deployment")
        };
        assert_eq!(d.parameters["Architecture"], "arm64");
        let Artifact::Build { architecture } = d.artifact else {
            panic!("built")
        };
        assert!(Artifact::build_command(architecture).contains(&"--arm64".to_owned()));
        let Action::Deploy(d) = plan(
            &[
                JIRA,
                &[
                    "--architecture",
                    "arm64",
                    "--artifact",
                    "/tmp/bootstrap.zip",
                ],
            ]
            .concat(),
        )
        .unwrap()
        .action
        else {
            panic!("a deployment")
        };
        assert!(matches!(d.artifact, Artifact::Prebuilt(_)));
    }

    #[test]
    fn generated_secrets_are_long_and_different() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
    }
}
