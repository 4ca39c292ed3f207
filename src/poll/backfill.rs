//! Backfill on demand: a `sir.case.changed` event (change `backfill`) for every case, page by
//! page, onto the configured bus. It only publishes: the workers apply the events at the pace
//! Jira allows (they honour its rate limits and back off), so a backfill of thousands of cases
//! never floods Jira, it only makes the queue longer for a while.
//!
//! Resumable: after each page, the checkpoint `sir.backfill.progress` records the ListCases
//! token of the next page and the counts so far. Run again after an interruption and it goes
//! on from there (the page in flight when it stopped may be published twice; consumers are
//! idempotent). A finished backfill is not resumed: running again starts a new one.

use crate::retry::Backoff;
use std::{collections::HashSet, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    poller::{BASELINE, PollerError, publish_changed},
    watermark,
};
use crate::{
    bus::EventBus,
    event::sir::CaseChange,
    sir::{CasePage, SirApi, SirError},
    store::StateStore,
};

/// The checkpoint that makes a backfill resumable.
pub const PROGRESS: &str = "sir.backfill.progress";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub started_at: String,
    /// The ListCases token of the next page; `None` before the first page.
    pub next_token: Option<String>,
    /// Pages and cases done.
    pub pages: u64,
    pub published: u64,
    /// Cases in the listing, when the service says.
    pub total: Option<u64>,
    pub finished_at: Option<String>,
}

/// How a page that SIR throttles (past the SDK's own retries) or fails to serve is retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Tries per page, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 8,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

pub struct Backfill {
    sir: Arc<dyn SirApi>,
    store: Arc<dyn StateStore>,
    bus: Arc<dyn EventBus>,
    retry: Retry,
}

impl Backfill {
    pub fn new(sir: Arc<dyn SirApi>, store: Arc<dyn StateStore>, bus: Arc<dyn EventBus>) -> Self {
        Self {
            sir,
            store,
            bus,
            retry: Retry::default(),
        }
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Where an unfinished backfill stopped, if one did.
    pub async fn unfinished(&self) -> Result<Option<Progress>, PollerError> {
        let Some(text) = self.store.checkpoint(PROGRESS).await? else {
            return Ok(None);
        };
        match serde_json::from_str::<Progress>(&text) {
            Ok(p) if p.finished_at.is_none() => Ok(Some(p)),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable backfill progress: starting over");
                Ok(None)
            }
        }
    }

    /// Publishes every case, resuming an unfinished backfill unless `restart`. `on_page` sees
    /// the progress after each page (and once before the first, when resuming).
    pub async fn run(
        &self,
        restart: bool,
        mut on_page: impl FnMut(&Progress),
    ) -> Result<Progress, PollerError> {
        let resumed = match restart {
            true => None,
            false => self.unfinished().await?,
        };
        let mut progress = match resumed {
            Some(p) => {
                tracing::info!(pages = p.pages, published = p.published, started_at = %p.started_at, "resuming the backfill");
                on_page(&p);
                p
            }
            None => Progress {
                started_at: now(),
                ..Progress::default()
            },
        };
        let mut seen_tokens = HashSet::new();
        loop {
            let page = match self.page(progress.next_token.clone()).await {
                // The service no longer takes the saved token (expired): page from the start
                // again; what was published before is published again, harmlessly.
                Err(SirError::Validation { message, .. }) if progress.next_token.is_some() => {
                    tracing::warn!(error = %message, "the saved ListCases token was refused: starting the listing over");
                    progress.next_token = None;
                    seen_tokens.clear();
                    self.page(None).await?
                }
                other => other?,
            };
            let published = publish_changed(
                self.bus.as_ref(),
                self.store.as_ref(),
                &page.cases,
                CaseChange::Backfill,
                true,
            )
            .await?;
            progress.pages += 1;
            progress.published += published;
            progress.total = page.total.or(progress.total);
            progress.next_token = page.next_token.filter(|t| seen_tokens.insert(t.clone()));
            if progress.next_token.is_none() {
                progress.finished_at = Some(now());
            }
            self.store
                .put_checkpoint(
                    PROGRESS,
                    &serde_json::to_string(&progress).expect("serializes"),
                )
                .await?;
            on_page(&progress);
            if progress.finished_at.is_some() {
                break;
            }
        }
        // Every case now has a watermark: the poller's first run need not backfill again.
        if self.store.checkpoint(BASELINE).await?.is_none() {
            self.store.put_checkpoint(BASELINE, &now()).await?;
        }
        tracing::info!(
            pages = progress.pages,
            published = progress.published,
            "backfill done"
        );
        Ok(progress)
    }

    /// One page, retried with backoff while SIR throttles or is unavailable.
    async fn page(&self, token: Option<String>) -> Result<CasePage, SirError> {
        let mut attempt = 1;
        loop {
            match self.sir.list_cases(token.clone()).await {
                Err(e) if e.is_retryable() && attempt < self.retry.attempts => {
                    let delay = Backoff::new(self.retry.base, self.retry.max).delay(attempt);
                    tracing::warn!(error = %e, attempt, delay_ms = delay.as_millis() as u64, "ListCases failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

fn now() -> String {
    watermark::format(OffsetDateTime::now_utc())
}
