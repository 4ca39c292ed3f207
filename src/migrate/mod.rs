//! `migrate from-sample`: adopting the case ⇄ issue mappings of AWS's sample integration
//! (`aws-samples/sample-aws-security-incident-response-integrations`) from its DynamoDB table,
//! so the cases it synced keep their issues instead of getting a second one.
//!
//! - [`sample`]: the sample's items, as its code writes them;
//! - [`scan`]: the paged scan, with backoff on throttling;
//! - [`adopt`]: the per-case adoption (store checks, Jira marking, ledger seeding, mapping);
//!   the ledger and link seeding itself is the syncs' ([`crate::sync::adopt`]);
//! - [`report`]: the per-item outcomes and totals.

pub mod adopt;
pub mod report;
pub mod sample;
pub mod scan;

use std::{io::IsTerminal, process::ExitCode, time::Duration};

use clap::Subcommand;

pub use adopt::{AdoptProgress, Migrator};
pub use report::{Outcome, Report};
pub use scan::{SampleTable, ScanRetry};

use crate::{
    app::{Components, UnsetSecrets},
    config::Config,
    jira::JiraError,
    sir::SirError,
    store::StoreError,
};

/// Exit status of a run with items that need a person (conflicts, missing issues, malformed
/// items): distinct from 1, which is a run that could not finish.
pub const EXIT_ATTENTION: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "no DynamoDB table `{0}` here: pass the sample's mapping table (its common stack's \
         IncidentsTable; `aws dynamodb list-tables` lists them) and check the region \
         (SIR_JIRA_AWS_REGION / AWS_REGION)"
    )]
    NoTable(String),
    #[error("cannot read the table `{table}`: {message}")]
    Table { table: String, message: String },
    #[error(
        "migrate needs Jira: set jira_url, jira_project_key and the credentials (as for `serve`)"
    )]
    NoJira,
    #[error("migrate needs SIR to read the cases: set sir_enabled = true (SIR_JIRA_SIR_ENABLED)")]
    NoSir,
    #[error("the case {0} is being synced by a running service; run the command again")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Sir(#[from] SirError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    #[error("cannot start: {0}")]
    Startup(String),
}

#[derive(Debug, Clone, Subcommand)]
pub enum MigrateSource {
    /// Adopt the case ⇄ issue mappings of AWS's sample integration from its DynamoDB table:
    /// each case keeps the issue the sample made (marked with the label aws-sir-<caseId> and the
    /// `sir` property), and the first sync afterwards writes at most once per issue. Safe to run
    /// again. Exits 2 when some items need attention (listed), 1 when it could not finish.
    FromSample {
        /// The sample's table (its common stack's IncidentsTable).
        #[arg(long)]
        table: String,
        /// Read everything and report what would be adopted; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The command: the configured store, Jira and SIR (as `serve` wires them), the sample's table
/// through the same AWS SDK configuration. Per-item lines go to stdout; the progress bar (only
/// on a terminal) and logs (warn and above unless configured lower) to stderr.
pub async fn command(config: Config, source: MigrateSource) -> anyhow::Result<ExitCode> {
    let MigrateSource::FromSample { table, dry_run } = source;
    let level = match config.log_level {
        crate::config::LogLevel::Info => crate::config::LogLevel::Warn,
        other => other,
    };
    crate::telemetry::init(level, config.log_format);
    if config.jira.is_none() {
        return Err(MigrateError::NoJira.into());
    }
    if config.sir.is_none() {
        return Err(MigrateError::NoSir.into());
    }
    let sdk = crate::aws::load(&config.aws).await;
    let components = Components::build_with_aws(config, Some(sdk.clone()), UnsetSecrets::Ignore)
        .await
        .map_err(|e| MigrateError::Startup(e.to_string()))?;
    let (Some(jira), Some(sir)) = (components.jira.clone(), components.sir.clone()) else {
        return Err(MigrateError::NoJira.into());
    };
    let table = SampleTable::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let migrator =
        Migrator::new(components.store.clone(), jira.api, sir, jira.settings).dry_run(dry_run);

    let bar = match std::io::stderr().is_terminal() {
        true => {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} items ({per_sec})",
                )
                .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        }
        false => indicatif::ProgressBar::hidden(),
    };
    let report = migrator
        .run(&table, |progress, outcome| {
            if let Some(total) = progress.total {
                bar.set_length(total.max(progress.items));
            }
            bar.set_position(progress.items);
            // Above the bar, not through it.
            bar.suspend(|| println!("{outcome}"));
        })
        .await;
    bar.finish_and_clear();
    let report = report.map_err(|e| match e {
        // Nothing was read: there is nothing to resume.
        MigrateError::NoTable(_) => anyhow::anyhow!("{e}"),
        e => {
            anyhow::anyhow!("migration stopped: {e}. Run the command again: adopted cases are kept")
        }
    })?;
    println!("{}", report.summary());
    Ok(match report.needs_attention() {
        true => ExitCode::from(EXIT_ATTENTION),
        false => ExitCode::SUCCESS,
    })
}
