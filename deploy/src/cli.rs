//! The command line, with the flags and meanings of AWS's sample integration
//! (`deploy-integrations-solution jira --email … --url … --token … --project-key …
//! [--log-level …]`, `--log-level` before or after `jira`) plus this project's own.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
/// The service's own levels: the seed's `error`, `info` and `debug`, and `warn`, `trace`.
pub use sir_jira_bridge::config::LogLevel;
use sir_jira_bridge::secret::Secret;

#[derive(Debug, Parser)]
#[command(
    name = "deploy-integrations-solution",
    version,
    about = "Deploy the sir-jira-bridge integration to AWS: builds the Lambda functions, stores \
             the secrets in SSM and creates or updates the CloudFormation stack"
)]
pub struct Cli {
    /// Log level of the Lambda functions [default: error]; accepted before or after the
    /// integration name, the later one wins.
    #[arg(long, global = true, value_enum)]
    pub log_level: Option<LogLevel>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy (or update, or with --destroy remove) the Jira integration.
    Jira(Box<JiraArgs>),
    /// Build the Lambda artifact once (from this source tree, with cargo lambda) and write it
    /// with its SHA-256, for deployments elsewhere with `jira --artifact` and no source tree.
    Package(PackageArgs),
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Instruction set to build for.
    #[arg(long, value_enum, default_value_t = Architecture::X86_64)]
    pub architecture: Architecture,

    /// Directory the artifact and its checksum file are written to.
    #[arg(long, default_value = "dist")]
    pub output: PathBuf,
}

/// Reserved concurrency of a function: a number, or `none` (unreserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    Unreserved,
    Reserved(u32),
}

impl Concurrency {
    /// As the template's parameter takes it (-1: none).
    pub fn parameter(self) -> String {
        match self {
            Concurrency::Unreserved => "-1".into(),
            Concurrency::Reserved(n) => n.to_string(),
        }
    }
}

impl std::str::FromStr for Concurrency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Concurrency::Unreserved),
            // Lambda reads a reservation of 0 as "never run": not what anyone means here.
            _ => match s.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Concurrency::Reserved(n)),
                _ => Err(format!("`{s}`: give a number of at least 1, or `none`")),
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct JiraArgs {
    /// Email of the Jira account the integration acts as.
    #[arg(long, required_unless_present = "destroy")]
    pub email: Option<String>,

    /// Jira URL, e.g. https://example.atlassian.net.
    #[arg(long, required_unless_present = "destroy")]
    pub url: Option<String>,

    /// Jira API token; stored as an SSM SecureString, never a stack parameter, never printed.
    #[arg(
        long,
        env = "JIRA_API_TOKEN",
        hide_env_values = true,
        required_unless_present = "destroy"
    )]
    pub token: Option<Secret>,

    /// Key of the Jira project the cases are tracked in, e.g. SEC.
    #[arg(long, required_unless_present = "destroy")]
    pub project_key: Option<String>,

    /// AWS region [default: the AWS SDK's: AWS_REGION, then the profile].
    #[arg(long)]
    pub region: Option<String>,

    /// CloudFormation stack name. Each stack gets its own names (SSM parameters, bus, log
    /// groups); the default one keeps /SecurityIncidentResponse/..., the path AWS's sample
    /// uses, so a stack beside the sample takes another name or --prefix.
    #[arg(long, default_value = crate::names::DEFAULT_STACK)]
    pub stack_name: String,

    /// SSM path for the stack's parameters [default: /SecurityIncidentResponse for the default
    /// stack, /sir-jira-bridge/<stack> for any other].
    #[arg(long)]
    pub prefix: Option<String>,

    /// Secret of the Jira webhook (at least 16 characters). When absent, the one already stored
    /// is kept, or a new one is generated and shown once.
    #[arg(long, env = "JIRA_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<Secret>,

    /// Instruction set of the functions (the artifact is built for it; where arm64 cannot be
    /// built, build it elsewhere and pass --artifact).
    #[arg(long, value_enum, default_value_t = Architecture::X86_64)]
    pub architecture: Architecture,

    /// A Lambda artifact already built (`bootstrap.zip` from `cargo lambda build --release
    /// --output-format zip`), instead of building one.
    #[arg(long)]
    pub artifact: Option<PathBuf>,

    /// S3 bucket for the artifact and the template [default:
    /// sir-jira-bridge-artifacts-<account>-<region>, created when missing].
    #[arg(long)]
    pub artifact_bucket: Option<String>,

    /// Deploy with the SIR side paused (the poller's schedule and the rule for SIR's events
    /// disabled): no case is synced until a deployment without --paused. For adopting AWS's
    /// sample's mappings first (`sir-jira-bridge migrate from-sample`).
    #[arg(long)]
    pub paused: bool,

    /// Do not create the SNS topic for Jira Automation's "Send message to Amazon SNS topic".
    #[arg(long)]
    pub no_sns_topic: bool,

    /// An existing SNS topic every alarm notifies, instead of the topic the stack creates.
    #[arg(long)]
    pub alarm_topic_arn: Option<String>,

    /// Email address subscribed to the stack's alarm topic (confirm the mail AWS sends).
    #[arg(long, conflicts_with = "alarm_topic_arn")]
    pub alarm_email: Option<String>,

    /// Reserved concurrency of the public gateway: a number, or `none` [default: the
    /// template's, 20].
    #[arg(long)]
    pub gateway_concurrency: Option<Concurrency>,

    /// Reserved concurrency of each consumer (bounds concurrent Jira calls): a number, or
    /// `none` [default: the template's, 5].
    #[arg(long)]
    pub consumer_concurrency: Option<Concurrency>,

    /// Days the functions' logs are kept.
    #[arg(long, default_value_t = 30)]
    pub log_retention_days: u32,

    /// Print the plan (parameters, resources, what is stored where; secrets masked) and stop:
    /// nothing is built, stored or deployed, and AWS is not contacted.
    #[arg(long)]
    pub dry_run: bool,

    /// Delete the stack and the secrets this command stored (the DynamoDB table is kept).
    #[arg(long, conflicts_with_all = ["webhook_secret", "artifact"])]
    pub destroy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Architecture {
    #[value(name = "x86_64", alias = "x86-64")]
    X86_64,
    Arm64,
}

impl Architecture {
    /// As Lambda and the template name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// cargo lambda's flag for it.
    pub fn cargo_lambda_flag(self) -> &'static str {
        match self {
            Architecture::X86_64 => "--x86-64",
            Architecture::Arm64 => "--arm64",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(
            std::iter::once("deploy-integrations-solution").chain(args.iter().copied()),
        )
    }

    const SEED: &[&str] = &[
        "jira",
        "--email",
        "user@example.com",
        "--url",
        "https://example.atlassian.net",
        "--token",
        "TOKEN",
        "--project-key",
        "PROJ",
    ];

    fn jira(cli: &Cli) -> &JiraArgs {
        match &cli.command {
            Command::Jira(args) => args,
            Command::Package(_) => panic!("jira"),
        }
    }

    #[test]
    fn concurrency_is_a_positive_number_or_none() {
        let with = |flag: &str, value: &str| parse(&[SEED, &[flag, value]].concat());
        let cli = with("--gateway-concurrency", "50").unwrap();
        assert_eq!(
            jira(&cli).gateway_concurrency,
            Some(Concurrency::Reserved(50))
        );
        let cli = with("--consumer-concurrency", "none").unwrap();
        assert_eq!(
            jira(&cli).consumer_concurrency,
            Some(Concurrency::Unreserved)
        );
        assert!(with("--consumer-concurrency", "0").is_err());
        assert!(with("--gateway-concurrency", "-1").is_err());
    }

    #[test]
    fn the_seed_invocation_parses_with_the_seed_meanings() {
        let cli = parse(SEED).unwrap();
        let args = jira(&cli);
        assert_eq!(args.email.as_deref(), Some("user@example.com"));
        assert_eq!(args.url.as_deref(), Some("https://example.atlassian.net"));
        assert_eq!(args.token.as_ref().unwrap().expose(), "TOKEN");
        assert_eq!(args.project_key.as_deref(), Some("PROJ"));
        assert_eq!(cli.log_level, None, "the default (error) is applied later");
        assert!(!args.dry_run && !args.destroy);
    }

    #[test]
    fn log_level_is_accepted_before_or_after_the_subcommand() {
        let before = parse(&[&["--log-level", "info"], SEED].concat()).unwrap();
        assert_eq!(before.log_level, Some(LogLevel::Info));
        let after = parse(&[SEED, &["--log-level", "debug"]].concat()).unwrap();
        assert_eq!(after.log_level, Some(LogLevel::Debug));
        // The seed's subcommand flag overrides the global one.
        let both =
            parse(&[&["--log-level", "info"], SEED, &["--log-level", "debug"]].concat()).unwrap();
        assert_eq!(both.log_level, Some(LogLevel::Debug));
        for level in ["info", "debug", "error"] {
            assert!(
                parse(&[SEED, &["--log-level", level]].concat()).is_ok(),
                "{level}"
            );
        }
        assert!(parse(&[SEED, &["--log-level", "loud"]].concat()).is_err());
    }

    #[test]
    fn every_seed_flag_is_required_for_a_deployment() {
        for flag in ["--email", "--url", "--token", "--project-key"] {
            let mut args: Vec<&str> = SEED.to_vec();
            let at = args.iter().position(|a| *a == flag).unwrap();
            args.drain(at..at + 2);
            let err = parse(&args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::MissingRequiredArgument,
                "{flag}: {err}"
            );
        }
        assert!(parse(&["service-now"]).is_err(), "only jira is offered");
        assert!(parse(&[]).is_err(), "an integration is required");
    }

    #[test]
    fn destroy_needs_no_jira_settings() {
        let cli = parse(&[
            "jira",
            "--destroy",
            "--stack-name",
            "s",
            "--region",
            "eu-west-1",
        ])
        .unwrap();
        let args = jira(&cli);
        assert!(args.destroy);
        assert_eq!(args.stack_name, "s");
        assert_eq!(args.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn the_added_flags_parse() {
        let cli = parse(
            &[
                SEED,
                &[
                    "--region",
                    "eu-central-1",
                    "--stack-name",
                    "sec-bridge",
                    "--webhook-secret",
                    "0123456789abcdef0123",
                    "--architecture",
                    "arm64",
                    "--dry-run",
                ],
            ]
            .concat(),
        )
        .unwrap();
        let args = jira(&cli);
        assert_eq!(args.region.as_deref(), Some("eu-central-1"));
        assert_eq!(args.stack_name, "sec-bridge");
        assert_eq!(
            args.webhook_secret.as_ref().unwrap().expose(),
            "0123456789abcdef0123"
        );
        assert_eq!(args.architecture, Architecture::Arm64);
        assert!(args.dry_run);
        // Secrets never show in the parsed arguments' debug output.
        let debug = format!("{cli:?}");
        assert!(
            !debug.contains("TOKEN") && !debug.contains("0123456789abcdef0123"),
            "{debug}"
        );
    }
}
