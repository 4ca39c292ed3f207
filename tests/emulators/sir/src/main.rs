//! `sir-emulator`: the emulator as a standalone process.

use std::net::{IpAddr, SocketAddr};

use clap::{Parser, ValueEnum};
use sir_emulator::{
    EmulatorConfig, EventBridgeTarget, PrincipalDisplay, SirEmulator, ThrottleMode,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Display {
    Account,
    Arn,
}

/// An AWS Security Incident Response emulator speaking the service's REST-JSON protocol.
#[derive(Debug, Parser)]
#[command(name = "sir-emulator", version)]
struct Args {
    /// Port to listen on (0 picks a free one; the URL is printed on start).
    #[arg(long, default_value_t = 0, env = "SIR_EMULATOR_PORT")]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Cases to create at start.
    #[arg(long, default_value_t = 0)]
    seed_cases: usize,
    /// EventBridge endpoint to PutEvents native-style case events to (e.g. moto's URL).
    #[arg(long, requires = "event_bus")]
    events_to: Option<String>,
    /// Event bus name for --events-to.
    #[arg(long)]
    event_bus: Option<String>,
    #[arg(long, default_value = sir_emulator::DEFAULT_ACCOUNT_ID)]
    account_id: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// How callers appear in creator/lastUpdatedBy/event details.
    #[arg(long, value_enum, default_value = "account")]
    principal_display: Display,
    /// Throttle every k-th API call (ThrottlingException, 429).
    #[arg(long)]
    throttle_every: Option<u64>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut config = EmulatorConfig {
        bind: SocketAddr::new(args.host, args.port),
        region: args.region.clone(),
        seed_cases: args.seed_cases,
        principal_display: match args.principal_display {
            Display::Account => PrincipalDisplay::AccountId,
            Display::Arn => PrincipalDisplay::Arn,
        },
        ..EmulatorConfig::for_account(&args.account_id)
    };
    if let (Some(url), Some(bus)) = (args.events_to, args.event_bus) {
        let mut target = EventBridgeTarget::new(url, bus);
        target.region = args.region.clone();
        config.event_bridge = Some(target);
    }
    let emu = SirEmulator::start(config).await?;
    if let Some(k) = args.throttle_every {
        emu.set_throttle(ThrottleMode::EveryNth(k));
    }
    // The one line scripts wait for.
    println!("SIR emulator listening on {}", emu.endpoint_url());
    tracing::info!(
        endpoint = %emu.endpoint_url(),
        cases = emu.case_count(),
        "ready; stop with Ctrl-C"
    );
    tokio::signal::ctrl_c().await?;
    emu.shutdown().await;
    Ok(())
}
