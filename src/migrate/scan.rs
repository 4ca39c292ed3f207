//! Reading the sample's table page by page. A page the table refuses for throughput (the
//! sample's table is on-demand, but on-demand tables throttle too, and a scan competes with the
//! sample's own Lambdas while both run) is asked for again after a growing, jittered pause,
//! starting from the same key, so nothing is skipped and nothing read twice.

use std::{collections::HashMap, future::Future, time::Duration};

use aws_sdk_dynamodb::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    operation::scan::ScanError,
    types::AttributeValue,
};

use super::MigrateError;
use crate::aws::{self, Fault};

pub type RawItem = HashMap<String, AttributeValue>;

/// How long to wait between attempts at one page, and how many to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanRetry {
    pub base: Duration,
    pub max: Duration,
    /// Attempts per page, the first included.
    pub attempts: u32,
}

impl Default for ScanRetry {
    /// About two minutes of trying before a page is given up (on top of the SDK's own three
    /// quick attempts per call): long enough to outlast a burst of the sample's own traffic.
    fn default() -> Self {
        ScanRetry {
            base: Duration::from_millis(200),
            max: Duration::from_secs(20),
            attempts: 10,
        }
    }
}

impl ScanRetry {
    /// Runs `call` until it succeeds, fails for good, or the attempts are spent; waits between
    /// attempts only after a transient failure (`transient` says which).
    pub async fn retry<T, E, F, Fut>(
        &self,
        mut call: F,
        transient: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.attempts && transient(&e) => {
                    let pause = crate::retry::Backoff::new(self.base, self.max).delay(attempt);
                    tracing::warn!(
                        attempt,
                        pause_ms = pause.as_millis() as u64,
                        "the sample's table throttled the scan: waiting before asking again"
                    );
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The sample's table, read page by page.
pub struct SampleTable {
    client: Client,
    name: String,
    backoff: ScanRetry,
    page_size: Option<i32>,
}

/// One page of items and where the next one starts (`None`: this was the last).
pub struct ScanPage {
    pub items: Vec<RawItem>,
    pub next: Option<RawItem>,
}

impl SampleTable {
    pub fn new(client: Client, name: &str) -> SampleTable {
        SampleTable {
            client,
            name: name.to_owned(),
            backoff: ScanRetry::default(),
            page_size: None,
        }
    }

    pub fn with_backoff(mut self, backoff: ScanRetry) -> Self {
        self.backoff = backoff;
        self
    }

    /// Items per page (DynamoDB's own limit is 1 MB of data a page).
    pub fn with_page_size(mut self, size: i32) -> Self {
        self.page_size = Some(size);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table's approximate item count (DynamoDB refreshes it about every six hours), for
    /// the progress bar; `None` when the table cannot say. A table that does not exist is an
    /// error naming the fix.
    pub async fn approximate_count(&self) -> Result<Option<u64>, MigrateError> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.name)
            .send()
            .await;
        match described {
            Ok(out) => Ok(out
                .table()
                .and_then(|t| t.item_count())
                .and_then(|n| u64::try_from(n).ok())),
            Err(e) => Err(table_error(&self.name, &e)),
        }
    }

    /// The page starting after `start` (`None`: the first).
    pub async fn page(&self, start: Option<RawItem>) -> Result<ScanPage, MigrateError> {
        let call = || {
            let mut scan = self
                .client
                .scan()
                .table_name(&self.name)
                // Strongly consistent: an item the sample wrote a moment ago is not missed.
                .consistent_read(true)
                .set_exclusive_start_key(start.clone());
            if let Some(size) = self.page_size {
                scan = scan.limit(size);
            }
            scan.send()
        };
        let out = self
            .backoff
            .retry(call, |e: &SdkError<ScanError>| {
                aws::fault(e) == Fault::Transient
            })
            .await
            .map_err(|e| table_error(&self.name, &e))?;
        Ok(ScanPage {
            items: out.items.unwrap_or_default(),
            next: out.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }
}

/// One line: the service's code and message with what to do about it, or the SDK's account of
/// a failure that never reached the service.
fn table_error<E>(table: &str, e: &SdkError<E>) -> MigrateError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let Some(code) = aws::error_code(e) else {
        return MigrateError::Table {
            table: table.to_owned(),
            message: aws::describe(e),
        };
    };
    let fix = match code {
        "ResourceNotFoundException" => return MigrateError::NoTable(table.to_owned()),
        "AccessDeniedException" | "UnrecognizedClientException" => {
            "the credentials need dynamodb:DescribeTable and dynamodb:Scan on the table"
        }
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => {
            "the table kept refusing for throughput; run again later (adopted cases are kept)"
        }
        _ => "see the message",
    };
    let message = match e {
        SdkError::ServiceError(s) => s.err().message().unwrap_or_default(),
        _ => "",
    };
    MigrateError::Table {
        table: table.to_owned(),
        message: format!("{code}: {message} ({fix})"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn fast(attempts: u32) -> ScanRetry {
        ScanRetry {
            base: Duration::from_millis(1),
            max: Duration::from_millis(4),
            attempts,
        }
    }

    #[tokio::test]
    async fn a_throttled_call_is_asked_again_until_it_succeeds() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, &str> = fast(5)
            .retry(
                || async {
                    match calls.fetch_add(1, Ordering::SeqCst) {
                        0..=2 => Err("throttled"),
                        n => Ok(n),
                    }
                },
                |e| *e == "throttled",
            )
            .await;
        assert_eq!(result, Ok(3));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn the_attempts_are_bounded_and_a_permanent_error_is_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), &str> = fast(3)
            .retry(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err("throttled")
                },
                |e| *e == "throttled",
            )
            .await;
        assert_eq!(result, Err("throttled"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let result: Result<(), &str> = fast(3)
            .retry(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err("no such table")
                },
                |e| *e == "throttled",
            )
            .await;
        assert_eq!(result, Err("no such table"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// The pauses grow and stay under the cap (half fixed, half jitter).
    #[test]
    fn pauses_grow_to_the_cap() {
        let b = ScanRetry::default();
        for attempt in 1..12 {
            let pause = crate::retry::Backoff::new(b.base, b.max).delay(attempt);
            let full = (b.base * 2u32.pow(attempt - 1)).min(b.max);
            assert!(pause >= full / 2 && pause <= full, "{attempt}: {pause:?}");
        }
    }
}
