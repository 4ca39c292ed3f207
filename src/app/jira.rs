//! The Jira side of the wiring: the client, the integration's own account and the settings the
//! syncs run with.

use std::{sync::Arc, time::Duration};

use super::StartupError;
use crate::{
    config::Config,
    jira::{JiraApi, JiraClient, OwnAccount},
    metrics::Metrics,
    peers::PeerHealth,
    sync::SyncSettings,
};

/// The Jira side when `jira_url` is configured: the client and the settings the case → issue
/// sync runs with once a SIR client is supplied ([`Application::with_sir`]).
#[derive(Clone)]
pub struct JiraPeer {
    pub api: Arc<dyn JiraApi>,
    /// `own_account` is empty here until [`JiraPeer::account`] knows it.
    pub settings: SyncSettings,
    pub account: Arc<OwnAccount>,
}

/// Builds the Jira client when `jira_url` is set. Nothing here calls Jira: the integration's
/// own account, unless configured, is learned when first needed ([`OwnAccount`]).
pub(super) fn jira_peer(
    config: &Config,
    metrics: &Arc<Metrics>,
    peers: &Arc<PeerHealth>,
) -> Result<Option<JiraPeer>, StartupError> {
    let Some(jira) = &config.jira else {
        return Ok(None);
    };
    let client = JiraClient::new(
        jira.client_config(Duration::from_secs(30), Default::default())?,
        metrics.clone(),
        peers.clone(),
    )
    .map_err(StartupError::Jira)?;
    let api: Arc<dyn JiraApi> = Arc::new(client);
    let account = Arc::new(OwnAccount::new(api.clone(), jira.account_id.clone()));
    let mut settings = SyncSettings::new(
        jira.project_key.as_str(),
        jira.issue_type.clone(),
        account.known().unwrap_or(""),
    );
    settings.mappings = jira.mappings.clone();
    settings.attachment_max_bytes = jira.attachment_max_bytes;
    // Console links name the case's region (from its ARN); this is the fallback.
    if let Some(region) = config
        .sir
        .as_ref()
        .and_then(|s| s.region.clone())
        .or_else(|| config.aws.region.clone())
    {
        settings.default_region = region;
    }
    settings.lease_ttl = config.queue.lease.max(Duration::from_secs(30));
    tracing::info!(
        jira_url = %jira.url,
        flavour = ?jira.flavour,
        project = %jira.project_key,
        own_account = account.known().unwrap_or("(learned from /myself when first needed)"),
        mappings_file = ?jira.mappings_file,
        "jira configured"
    );
    Ok(Some(JiraPeer {
        api,
        settings,
        account,
    }))
}
