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
    pub integration: Integration,
}

#[derive(Debug, Subcommand)]
pub enum Integration {
    /// Deploy (or update, or with --destroy remove) the Jira integration.
    Jira(JiraArgs),
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

    /// CloudFormation stack name.
    #[arg(long, default_value = "sir-jira-bridge")]
    pub stack_name: String,

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

    /// Do not create the SNS topic for Jira Automation's "Send message to Amazon SNS topic".
    #[arg(long)]
    pub no_sns_topic: bool,

    /// SNS topic notified when a dead-letter queue holds messages.
    #[arg(long)]
    pub alarm_topic_arn: Option<String>,

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
        match &cli.integration {
            Integration::Jira(args) => args,
        }
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
