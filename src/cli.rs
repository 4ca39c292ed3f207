//! The command line: `serve`, and the helpers a newcomer needs to try it, set it up and
//! diagnose it.

use std::{process::ExitCode, time::Duration};

use clap::{CommandFactory, Parser, Subcommand};

use crate::{
    app::{Application, shutdown_signal},
    config::{Config, Settings},
    onboard::{self, Doctor, DoctorReport, SetupOptions},
    verify::jira::sign,
};

#[derive(Debug, Parser)]
#[command(
    name = "sir-jira-bridge",
    version,
    about = "Keeps AWS Security Incident Response cases and Jira issues in step"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments and `SIR_JIRA_*` variables, exiting with clap's message on
    /// a usage error. A bad value that came from a variable is reported as that variable: clap
    /// names the flag, which the person never typed.
    pub fn parse_or_exit() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        match Cli::try_parse_from(&args) {
            Ok(cli) => cli,
            Err(e) => {
                let message = e.render().to_string();
                let message = match from_variable(&e, &args) {
                    Some((shown, variable)) => {
                        message.replace(&shown, &format!("the environment variable {variable}"))
                    }
                    None => message,
                };
                // `--help` and `--version` go to stdout and exit 0; usage errors to stderr, 2.
                match e.use_stderr() {
                    true => eprint!("{message}"),
                    false => print!("{message}"),
                }
                std::process::exit(e.exit_code());
            }
        }
    }
}

/// For a value clap refused: how clap showed the argument (`'--log-level <LOG_LEVEL>'`) and the
/// variable it came from, when no flag of that name was typed.
fn from_variable(e: &clap::Error, args: &[std::ffi::OsString]) -> Option<(String, String)> {
    use clap::error::{ContextKind, ContextValue};

    let Some(ContextValue::String(shown)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = shown.split_whitespace().next()?.strip_prefix("--")?;
    let typed = args.iter().any(|a| {
        a.to_str().is_some_and(|a| {
            a.strip_prefix("--")
                .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")))
        })
    });
    if typed {
        return None;
    }
    let command = Cli::command();
    let variable = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?
        .get_env()?
        .to_string_lossy()
        .into_owned();
    Some((format!("'{shown}'"), variable))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway and the workers (embedded SQLite queue and state by default).
    Serve,
    /// Send a correctly signed sample Jira webhook to a running gateway.
    SendTestWebhook {
        /// Gateway URL [default: the configured listen address].
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the Jira webhook secret to paste into Jira's webhook settings (stdout only).
    PrintWebhookSecret,
    /// Print the admin API's bearer token (stdout only).
    PrintAdminToken,
    /// Print the JSON Schema of the events the gateway publishes.
    EventSchema,
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
    /// Publish a `sir.case.changed` (backfill) event for every SIR case onto the configured
    /// bus, with a progress bar. Resumes an interrupted backfill; the workers apply the events
    /// at the pace Jira allows. Needs sir_enabled.
    Backfill {
        /// Start over instead of resuming an unfinished backfill.
        #[arg(long)]
        restart: bool,
    },
    /// Set up a peer for the gateway; `setup jira` registers the admin webhook.
    Setup {
        #[command(subcommand)]
        target: SetupTarget,
    },
    /// Exit 0 when the running gateway's `/readyz` (on listen_addr; 0.0.0.0 is asked on
    /// loopback) answers 2xx, 1 otherwise with one line why: a container's HEALTHCHECK.
    Healthcheck {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
    /// Adopt another integration's case ⇄ issue mappings; `migrate from-sample` reads AWS's
    /// sample integration's DynamoDB table.
    Migrate {
        #[command(subcommand)]
        source: crate::migrate::MigrateSource,
    },
    /// Check every link (configuration, Jira, SIR, store, bus, SNS) and print one line each,
    /// with the fix when it fails. Changes nothing. Exits 1 when a check fails.
    Doctor {
        /// Print the report as JSON (the shape of `GET /v1/doctor`).
        #[arg(long)]
        json: bool,
        /// Seconds each check may take.
        #[arg(long, default_value_t = 10)]
        timeout_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SetupTarget {
    /// Register the Jira admin webhook that sends the configured projects' issue and comment
    /// events to public_url, signed with the first webhook secret; updates its own webhook on
    /// a second run instead of adding one. Without Jira admin rights, prints the manual steps
    /// (and exits 2).
    Jira {
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Name of the webhook in Jira; also how it is found again when public_url changes.
        #[arg(long, default_value = onboard::DEFAULT_WEBHOOK_NAME)]
        name: String,
        /// Send the secret again even if nothing else changed (after rotating
        /// jira_webhook_secrets: Jira never shows the secret, so a change cannot be seen).
        #[arg(long)]
        update_secret: bool,
    },
}

/// Sample delivery sent by `send-test-webhook`: a Jira "issue created" admin webhook.
const SAMPLE_WEBHOOK: &str = include_str!("../tests/fixtures/jira/issue_created.json");

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Doctor { json, timeout_secs } = cli.command {
        return doctor(cli.settings, json, Duration::from_secs(timeout_secs)).await;
    }
    let mut config = Config::load(cli.settings)?;
    if let Command::Healthcheck { timeout_secs } = cli.command {
        return Ok(
            match onboard::healthcheck::check(config.listen_addr, Duration::from_secs(timeout_secs))
                .await
            {
                Ok(status) => {
                    emit(&format!("ready ({status})\n"))?;
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            },
        );
    }
    match cli.command {
        Command::Serve => {
            let _log = crate::telemetry::init_buffered(config.log_level, config.log_format);
            let signal = shutdown_signal();
            let app = Application::build(config).await?;
            app.run_until_stopped(signal).await?;
        }
        Command::SendTestWebhook { url } => {
            resolve_secrets(&mut config).await?;
            config.ensure_webhook_secret()?;
            let url = url
                .map(|u| format!("{}/webhooks/jira", u.trim_end_matches('/')))
                .unwrap_or_else(|| config.jira_webhook_url());
            let body = sample_webhook(&config);
            let secret = config.intake.webhook_secrets[0].expose();
            let delivery = uuid::Uuid::new_v4().to_string();
            let response = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?
                .post(&url)
                .header("content-type", "application/json")
                .header("x-atlassian-webhook-identifier", &delivery)
                .header("x-hub-signature", sign(secret, body.as_bytes()))
                .body(body)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("cannot reach {url}: {e} (is `serve` running?)"))?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            emit(&format!(
                "POST {url} (delivery {delivery}) -> {status} {text}\n"
            ))?;
            if !status.is_success() {
                anyhow::bail!("the gateway refused the test webhook");
            }
        }
        Command::PrintWebhookSecret => {
            resolve_secrets(&mut config).await?;
            config.ensure_webhook_secret()?;
            for secret in &config.intake.webhook_secrets {
                emit(&format!("{}\n", secret.expose()))?;
            }
        }
        Command::PrintAdminToken => {
            config.ensure_admin_token()?;
            if let Some(token) = &config.admin_token {
                emit(&format!("{}\n", token.expose()))?;
            }
        }
        Command::Openapi => {
            let document = crate::http::openapi_document()
                .to_pretty_json()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            emit(&format!("{document}\n"))?;
        }
        Command::Backfill { restart } => backfill(config, restart).await?,
        Command::Migrate { source } => return crate::migrate::command(config, source).await,
        Command::Setup {
            target:
                SetupTarget::Jira {
                    dry_run,
                    name,
                    update_secret,
                },
        } => {
            let options = SetupOptions {
                name,
                dry_run,
                update_secret,
            };
            return setup_jira(config, options).await;
        }
        Command::Doctor { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Healthcheck { .. } => unreachable!("handled once the configuration is loaded"),
        Command::EventSchema => {
            let schema = serde_json::to_string_pretty(&crate::event::json_schema())?;
            emit(&format!("{schema}\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `doctor`: an invalid configuration is a report too (its first line), not an error.
async fn doctor(settings: Settings, json: bool, timeout: Duration) -> anyhow::Result<ExitCode> {
    let report = match Config::load(settings) {
        Err(e) => DoctorReport::invalid_config(&e.to_string()),
        Ok(mut config) => {
            let sdk = match Doctor::needs_aws(&config) {
                true => Some(crate::aws::load(&config.aws).await),
                false => None,
            };
            let resolved = config
                .resolve_secrets(&crate::aws::SecretResolver::new(sdk.as_ref()))
                .await;
            match resolved {
                Err(e) => DoctorReport::invalid_config(&e.to_string()),
                Ok(()) => Doctor::from_config(config, sdk, timeout).run().await,
            }
        }
    };
    if json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        emit(&report.to_string())?;
    }
    Ok(match report.ok {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}

/// `setup jira`: 0 when the webhook is in place, 2 when a person has to register it.
async fn setup_jira(mut config: Config, options: SetupOptions) -> anyhow::Result<ExitCode> {
    resolve_secrets(&mut config).await?;
    if let Some(path) = config.ensure_webhook_secret()? {
        eprintln!(
            "note: registering the secret generated into {}: the gateway must use the same \
             data_dir, or set jira_webhook_secrets for both",
            path.display()
        );
    }
    let jira = config.jira.as_ref().ok_or(onboard::SetupError::NoJira)?;
    let client = onboard::jira_client(jira, Duration::from_secs(30))?;
    let report = onboard::setup_jira(&config, &client, &options).await?;
    emit(&report.to_string())?;
    Ok(match report.is_done() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(2),
    })
}

/// `backfill`: the store and bus of the configuration, the SIR client, and a progress bar on
/// stderr (logs go there too, at warn unless configured lower, so they do not fight the bar).
async fn backfill(config: Config, restart: bool) -> anyhow::Result<()> {
    use std::sync::Arc;

    use crate::{
        backends::Backends, metrics::Metrics, peers::PeerHealth, poll::backfill::Backfill,
        sir::SirClient,
    };

    let Some(sir) = config.sir.clone() else {
        anyhow::bail!("backfill needs SIR: set sir_enabled = true (env SIR_JIRA_SIR_ENABLED)");
    };
    let level = match config.log_level {
        crate::config::LogLevel::Info => crate::config::LogLevel::Warn,
        other => other,
    };
    crate::telemetry::init(level, config.log_format);
    let sdk = crate::aws::load(&config.aws).await;
    let backends = Backends::open(&config, Some(&sdk))?;
    let client = SirClient::from_sdk(
        &sdk,
        sir.region.as_deref(),
        sir.endpoint_url.as_deref(),
        Arc::new(Metrics::new()),
        Arc::new(PeerHealth::default()),
    );
    let job = Backfill::new(Arc::new(client), backends.store, backends.bus);

    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cases ({per_sec}) {msg}",
        )
        .expect("the template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let progress = job
        .run(restart, |p| {
            if let Some(total) = p.total {
                bar.set_length(total.max(p.published));
            }
            bar.set_position(p.published);
            bar.set_message(format!("{} pages", p.pages));
        })
        .await;
    bar.finish_and_clear();
    match progress {
        Ok(p) => {
            emit(&format!(
                "published {} case events ({} ListCases pages) onto the bus; the workers sync them \
                 to Jira at the pace Jira allows\n",
                p.published, p.pages
            ))?;
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!(
            "backfill stopped: {e}. Run `backfill` again to resume where it stopped"
        )),
    }
}

/// Fetches secrets given by reference, loading the AWS SDK only if one is kept in AWS.
async fn resolve_secrets(config: &mut Config) -> anyhow::Result<()> {
    let sdk = match config.secrets_need_aws() {
        true => Some(crate::aws::load(&config.aws).await),
        false => None,
    };
    config
        .resolve_secrets(&crate::aws::SecretResolver::new(sdk.as_ref()))
        .await?;
    Ok(())
}

/// The sample, moved into the first configured project so the project filter lets it in.
fn sample_webhook(config: &Config) -> String {
    let mut value: serde_json::Value =
        serde_json::from_str(SAMPLE_WEBHOOK).expect("sample webhook is valid JSON");
    if let Some(project) = config.intake.project_keys.first() {
        value["issue"]["key"] = format!("{project}-1").into();
        value["issue"]["fields"]["project"]["key"] = project.as_str().into();
    }
    value["timestamp"] = (time::OffsetDateTime::now_utc().unix_timestamp() * 1000).into();
    value.to_string()
}

/// Writes a command's output. A reader that went away (`doctor | head`) is not an error of
/// ours: `println!` would panic (exit 101) on the broken pipe, so the rest is dropped and the
/// command ends with the exit code its result deserves. Any other write error (a full disk
/// under `openapi > file`) fails the command.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;

    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
