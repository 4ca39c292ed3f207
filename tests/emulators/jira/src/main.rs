//! `jira-emulator`: the emulator as a standalone server, for manual runs and benchmarks.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;
use jira_emulator::{EmulatorConfig, JiraEmulator, Mode};

#[derive(Parser)]
#[command(
    version,
    about = "A Jira Cloud / Data Center REST API and webhook emulator"
)]
struct Args {
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1", env = "JIRA_EMULATOR_BIND")]
    bind: std::net::IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8080, env = "JIRA_EMULATOR_PORT")]
    port: u16,
    /// TOML configuration (see the README); flags override it.
    #[arg(long, env = "JIRA_EMULATOR_CONFIG")]
    config: Option<PathBuf>,
    /// cloud, data-center or both.
    #[arg(long, value_parser = parse_mode)]
    mode: Option<Mode>,
    /// Where the configured admin webhook posts.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Secret for X-Hub-Signature.
    #[arg(long, env = "JIRA_EMULATOR_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s {
        "cloud" => Ok(Mode::Cloud),
        "data-center" | "dc" => Ok(Mode::DataCenter),
        "both" => Ok(Mode::Both),
        other => Err(format!("unknown mode {other} (cloud, data-center, both)")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => EmulatorConfig::from_toml(&std::fs::read_to_string(path)?)?,
        None => EmulatorConfig::default(),
    };
    if let Some(mode) = args.mode {
        config.mode = mode;
    }
    if let Some(url) = args.webhook_url {
        config.webhooks.url = Some(url);
    }
    if let Some(secret) = args.webhook_secret {
        config.webhooks.secret = Some(secret);
    }
    let stop = shutdown_signal();
    let emulator = JiraEmulator::start_on(config, SocketAddr::new(args.bind, args.port)).await?;
    let account = emulator.integration_account();
    println!(
        "jira-emulator listening on {} ({:?})",
        emulator.base_url(),
        emulator.mode()
    );
    println!(
        "integration account: {} / token {} / PAT {}",
        account.email,
        account.api_token.as_deref().unwrap_or("-"),
        account.pat.as_deref().unwrap_or("-")
    );
    stop.await;
    emulator.shutdown().await;
    println!("jira-emulator stopped");
    Ok(())
}

/// Registers the handlers now, before start-up, so an early SIGTERM is not lost to the default
/// action (which would skip the graceful shutdown).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
