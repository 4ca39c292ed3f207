//! The integration's own Jira account, which tells its own writes (echoes) from people's.

use std::{sync::Arc, time::Duration};

use tokio::sync::OnceCell;

use super::{JiraApi, JiraError};

/// The first and the longest pause between two tries to learn the integration's account.
const ACCOUNT_RETRY_MIN: Duration = Duration::from_secs(1);
const ACCOUNT_RETRY_MAX: Duration = Duration::from_secs(60);

/// The integration's own Jira account, which tells its own writes (echoes) from people's:
/// `jira_account_id`, or else learned from `/myself`. Learned when first needed, not at
/// start-up: a Jira outage during a restart must not take down the intake whose job is to
/// buffer Jira's events. Until Jira answers, the syncs wait (their events stay leased, then
/// queued) and the failures show in `/v1/status` and `doctor`.
pub struct OwnAccount {
    api: Arc<dyn JiraApi>,
    id: OnceCell<String>,
}

impl OwnAccount {
    pub fn new(api: Arc<dyn JiraApi>, configured: Option<String>) -> OwnAccount {
        OwnAccount {
            api,
            id: OnceCell::new_with(configured),
        }
    }

    /// The account, when configured or already learned.
    pub fn known(&self) -> Option<&str> {
        self.id.get().map(String::as_str)
    }

    /// The account, asking `/myself` once when it is not known yet: for callers that would
    /// rather fail and try again later than wait.
    pub async fn try_get(&self) -> Result<&str, JiraError> {
        self.id
            .get_or_try_init(|| async { self.api.myself().await.map(|me| me.id) })
            .await
            .map(String::as_str)
    }

    /// The account; asks `/myself` until it answers, backing off with jitter. Concurrent
    /// callers share one series of tries.
    pub async fn get(&self) -> &str {
        self.id
            .get_or_init(|| async {
                let mut delay = ACCOUNT_RETRY_MIN;
                loop {
                    match self.api.myself().await {
                        Ok(me) => {
                            tracing::info!(own_account = %me.id, "learned the integration's Jira account from /myself");
                            return me.id;
                        }
                        Err(e) => {
                            let pause = delay.mul_f64(rand::random_range(0.8..1.2));
                            tracing::warn!(
                                error = %e,
                                retry_in_ms = pause.as_millis() as u64,
                                "cannot learn the integration's account from /myself (check jira_url, jira_email, jira_api_token, or set jira_account_id): Jira events wait"
                            );
                            tokio::time::sleep(pause).await;
                            delay = (delay * 2).min(ACCOUNT_RETRY_MAX);
                        }
                    }
                }
            })
            .await
    }
}
