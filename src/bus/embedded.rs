//! The durable queue in the embedded SQLite file: at-least-once delivery to in-process workers.
//!
//! A received event is leased (`state = 'leased'`, `available_at` = lease end), so a crashed
//! worker's event becomes due again when its lease runs out. Failures are retried with
//! exponential backoff and jitter; after `max_attempts` the event moves to the dead letters
//! in the same transaction, keeping the last error.

use crate::retry::Backoff;
use std::{collections::HashSet, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

use super::{
    BusError, Delivery, EventBus, EventLog, EventSource, Failure, Outgoing, QueueConfig,
    QueueStats, Settlement,
};
use crate::{
    db::{Db, DbError, now_ms},
    event::EventEnvelope,
    store::Claim,
    store::{DeadLetter, sqlite::insert_dead_letter},
};

impl From<DbError> for BusError {
    fn from(e: DbError) -> Self {
        BusError::backend(None, e)
    }
}

pub struct EmbeddedQueue {
    db: Db,
    config: QueueConfig,
    notify: Notify,
}

/// Which events to list.
#[derive(Debug, Clone)]
pub struct EventFilter {
    pub event_type: Option<String>,
    /// `ready`, `leased`, `done` or `dead`.
    pub state: Option<String>,
    /// Only events older than this position (paging: the last `seq` of the previous page).
    pub before: Option<i64>,
    pub limit: usize,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self {
            event_type: None,
            state: None,
            before: None,
            limit: 50,
        }
    }
}

/// An event in the queue and how far its processing got.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    /// Position in the queue; later events have larger values.
    pub seq: i64,
    pub envelope: EventEnvelope,
    /// `ready`, `leased`, `done` or `dead`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl EmbeddedQueue {
    pub fn new(db: Db, config: QueueConfig) -> Self {
        Self {
            db,
            config,
            notify: Notify::new(),
        }
    }

    pub async fn stats(&self) -> Result<QueueStats, BusError> {
        Ok(self
            .db
            .read(|c| {
                let mut stats = QueueStats::default();
                let mut stmt =
                    c.prepare_cached("SELECT state, count(*) FROM queue GROUP BY state")?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let n: i64 = row.get(1)?;
                    let n = n as u64;
                    match row.get_ref(0)?.as_str().unwrap_or("") {
                        "ready" => stats.ready = n,
                        "leased" => stats.leased = n,
                        "done" => stats.done = n,
                        _ => stats.dead = n,
                    }
                }
                // The oldest by `seq`, which grows with `enqueued_at`: one step of the
                // unfinished events' index instead of a pass over all of them.
                let oldest: Option<i64> = c
                    .query_row(
                        "SELECT enqueued_at FROM queue WHERE state IN ('ready', 'leased')
                         ORDER BY seq LIMIT 1",
                        [],
                        |r| r.get(0),
                    )
                    .optional()?;
                stats.oldest_pending_ms = oldest.map(|t| now_ms() - t);
                Ok(stats)
            })
            .await?)
    }

    /// Events newest first, with their processing state, matching `filter`.
    pub async fn recent(&self, filter: &EventFilter) -> Result<Vec<QueuedEvent>, BusError> {
        let filter = filter.clone();
        let rows = self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT seq, payload, state, attempts, last_error FROM queue
                     WHERE (?1 IS NULL OR event_type = ?1) AND (?2 IS NULL OR state = ?2)
                       AND (?3 IS NULL OR seq < ?3)
                     ORDER BY seq DESC LIMIT ?4",
                )?;
                let rows = stmt
                    .query_map(
                        params![
                            filter.event_type,
                            filter.state,
                            filter.before,
                            filter.limit as i64
                        ],
                        |r| {
                            Ok((
                                r.get::<_, i64>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, u32>(3)?,
                                r.get::<_, Option<String>>(4)?,
                            ))
                        },
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(seq, payload, state, attempts, last_error)| {
                Ok(QueuedEvent {
                    seq,
                    envelope: Self::parse(&payload)?,
                    state,
                    attempts,
                    last_error,
                })
            })
            .collect()
    }

    /// Events accepted in each of the last `minutes` minutes, oldest first.
    pub async fn per_minute(&self, minutes: usize) -> Result<Vec<u64>, BusError> {
        let now = now_ms();
        let since = now - (now % 60_000) - (minutes.saturating_sub(1) as i64) * 60_000;
        let mut counts = vec![0u64; minutes];
        // Newest first by `seq`, which grows with `enqueued_at` (both are set in the write
        // transaction): the walk stops at the first older event instead of scanning the whole
        // retained queue, which has no index on `enqueued_at`.
        let times = self
            .db
            .read(move |c| {
                let mut stmt =
                    c.prepare_cached("SELECT enqueued_at FROM queue ORDER BY seq DESC")?;
                let mut rows = stmt.query([])?;
                let mut times = Vec::new();
                while let Some(row) = rows.next()? {
                    let at: i64 = row.get(0)?;
                    if at < since {
                        break;
                    }
                    times.push(at);
                }
                Ok(times)
            })
            .await?;
        for at in times {
            let minute = ((at - since) / 60_000) as usize;
            if let Some(slot) = counts.get_mut(minute) {
                *slot += 1;
            }
        }
        Ok(counts)
    }

    /// Deletes finished events older than the retention period.
    pub async fn purge_finished(&self) -> Result<u64, BusError> {
        let cutoff = now_ms() - self.config.retention.as_millis() as i64;
        Ok(self
            .db
            .write(move |c| {
                Ok(c.execute(
                    "DELETE FROM queue WHERE state = 'done' AND finished_at < ?1",
                    [cutoff],
                )? as u64)
            })
            .await?)
    }

    /// Wakes every waiting worker, and leaves one permit for a worker that found the queue
    /// empty but has not started waiting yet: `notify_waiters` alone stores nothing, and that
    /// worker would sleep out its whole poll interval with an event due. A permit nobody needed
    /// costs one empty receive.
    fn wake(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    fn backoff(&self, attempt: u32) -> Duration {
        Backoff::new(self.config.backoff_base, self.config.backoff_max).delay(attempt)
    }

    fn parse(payload: &str) -> Result<EventEnvelope, BusError> {
        serde_json::from_str(payload).map_err(BusError::undecodable)
    }
}

#[async_trait]
impl EventLog for EmbeddedQueue {
    async fn recent(&self, filter: &EventFilter) -> Result<Vec<QueuedEvent>, BusError> {
        EmbeddedQueue::recent(self, filter).await
    }

    async fn stats(&self) -> Result<QueueStats, BusError> {
        EmbeddedQueue::stats(self).await
    }

    async fn per_minute(&self, minutes: usize) -> Result<Vec<u64>, BusError> {
        EmbeddedQueue::per_minute(self, minutes).await
    }
}

#[async_trait]
impl EventBus for EmbeddedQueue {
    async fn publish(&self, events: &[Outgoing]) -> Result<(), BusError> {
        let rows = queue_rows(events)?;
        self.db
            .write(move |c| {
                insert_events(c, &rows, now_ms())?;
                Ok(())
            })
            .await?;
        self.wake();
        Ok(())
    }

    /// The queue and the dedupe keys live in one SQLite file, so the check, the insert and
    /// the record of the key commit together: a crash leaves either all or nothing, and one
    /// commit (shared with concurrent requests) replaces three.
    async fn publish_once(
        &self,
        delivery_key: &str,
        events: &[Outgoing],
        ttl: Duration,
    ) -> Option<Result<Claim, BusError>> {
        let rows = match queue_rows(events) {
            Ok(rows) => rows,
            Err(e) => return Some(Err(e)),
        };
        let key = delivery_key.to_owned();
        let ttl = ttl.as_millis() as i64;
        let result = self
            .db
            .write(move |c| {
                let now = now_ms();
                // Claim first: a new key (the usual case) costs one statement, not a lookup
                // and an insert. An unexpired key is left alone and reported below.
                let claimed = c
                    .prepare_cached(
                        "INSERT INTO deliveries (key, state, expires_at) VALUES (?1, 'accepted', ?2)
                         ON CONFLICT (key) DO UPDATE SET state = 'accepted', expires_at = ?2
                         WHERE deliveries.expires_at <= ?3",
                    )?
                    .execute(params![key, now + ttl, now])?;
                if claimed == 0 {
                    let state: String = c
                        .prepare_cached("SELECT state FROM deliveries WHERE key = ?1")?
                        .query_row([&key], |r| r.get(0))?;
                    return Ok(if state == "accepted" {
                        Claim::Accepted
                    } else {
                        Claim::Pending
                    });
                }
                insert_events(c, &rows, now)?;
                Ok(Claim::New)
            })
            .await
            .map_err(BusError::from);
        if matches!(result, Ok(Claim::New)) {
            self.wake();
        }
        Some(result)
    }
}

type QueueRow = (String, &'static str, String, Option<Bytes>, Option<String>);

fn queue_rows(events: &[Outgoing]) -> Result<Vec<QueueRow>, BusError> {
    events
        .iter()
        .map(|o| {
            let payload = serde_json::to_string(&o.envelope).map_err(BusError::rejected_by)?;
            Ok((
                o.envelope.id.to_string(),
                o.envelope.event.type_name(),
                payload,
                o.raw.clone(),
                o.envelope.event.subject(),
            ))
        })
        .collect()
}

/// Inserts new events as ready; an event id already queued is left alone, except a dead one,
/// which a replay makes due again.
fn insert_events(c: &rusqlite::Connection, rows: &[QueueRow], now: i64) -> Result<(), DbError> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO queue (event_id, event_type, payload, raw, state, available_at, enqueued_at,
           subject)
         VALUES (?1, ?2, ?3, ?4, 'ready', ?5, ?5, ?6)
         ON CONFLICT (event_id) DO UPDATE SET state = 'ready', attempts = 0,
           available_at = ?5, last_error = NULL, finished_at = NULL
         WHERE queue.state = 'dead'",
    )?;
    for (id, kind, payload, raw, subject) in rows {
        stmt.execute(params![id, kind, payload, raw.as_deref(), now, subject])?;
    }
    Ok(())
}

#[async_trait]
impl EventSource for EmbeddedQueue {
    async fn receive(&self, max: usize) -> Result<Vec<Delivery>, BusError> {
        let lease = self.config.lease.as_millis() as i64;
        let max_attempts = self.config.max_attempts;
        let rows = self
            .db
            .write(move |c| {
                let now = now_ms();
                let mut leased = Vec::with_capacity(max.min(64));
                // One token for the whole hand-out: a receipt is `seq:token`, unique per event
                // and per lease all the same.
                let token = uuid::Uuid::new_v4().simple().to_string();
                let mut load = c.prepare_cached("SELECT payload FROM queue WHERE seq = ?1")?;
                let mut lease_it = c.prepare_cached(
                    "UPDATE queue SET state = 'leased', attempts = attempts + 1,
                     available_at = ?2, lease_token = ?3 WHERE seq = ?1",
                )?;
                for (seq, attempts) in due_events(c, now, max)? {
                    if attempts >= max_attempts {
                        // Its leases ran out every time (a worker crashed or hung on it).
                        dead_letter(c, seq, None, None, now)?;
                        continue;
                    }
                    let payload: String = load.query_row([seq], |r| r.get(0))?;
                    lease_it.execute(params![seq, now + lease, token])?;
                    leased.push((payload, attempts + 1, format!("{seq}:{token}")));
                }
                Ok(leased)
            })
            .await?;
        rows.into_iter()
            .map(|(payload, attempt, receipt)| {
                Ok(Delivery {
                    envelope: Self::parse(&payload)?,
                    attempt,
                    receipt,
                })
            })
            .collect()
    }

    /// One write for the whole batch: the acks, retries, dead letters and hand-backs commit
    /// together.
    async fn settle(&self, batch: &[(Delivery, Settlement)]) -> Result<(), BusError> {
        let mut jobs = Vec::with_capacity(batch.len());
        for (d, settlement) in batch {
            let (seq, token) = receipt(d)?;
            let delay = self.backoff(d.attempt).as_millis() as i64;
            let settlement = match settlement {
                Settlement::Nack(failure)
                    if !failure.retryable || d.attempt >= self.config.max_attempts =>
                {
                    Settle::DeadLetter(failure.error.clone())
                }
                Settlement::Nack(failure) => Settle::Retry {
                    delay,
                    error: failure.error.clone(),
                },
                Settlement::Ack => Settle::Ack,
                Settlement::Release => Settle::Release,
            };
            jobs.push((seq, token, settlement, d.envelope.id.to_string()));
        }
        let lost = self
            .db
            .write(move |c| {
                let now = now_ms();
                let mut lost = Vec::new();
                for (seq, token, settlement, event_id) in &jobs {
                    if !settle_one(c, *seq, token, settlement, now)? {
                        lost.push(event_id.clone());
                    }
                }
                Ok(lost)
            })
            .await?;
        for event_id in lost {
            // The lease ran out and another worker took the event; it will settle it.
            tracing::warn!(event_id, "settled after the lease was lost");
        }
        if batch.iter().any(|(_, s)| *s != Settlement::Ack) {
            // A hand-back is due at once: a waiting worker may take it.
            self.wake();
        }
        Ok(())
    }

    async fn extend_all(&self, batch: &[Delivery]) -> Result<(), BusError> {
        let receipts = batch.iter().map(receipt).collect::<Result<Vec<_>, _>>()?;
        let lease = self.config.lease.as_millis() as i64;
        self.db
            .write(move |c| {
                let until = now_ms() + lease;
                let mut stmt = c.prepare_cached(
                    "UPDATE queue SET available_at = ?3 WHERE seq = ?1 AND lease_token = ?2",
                )?;
                for (seq, token) in &receipts {
                    stmt.execute(params![seq, token, until])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn ack(&self, d: &Delivery) -> Result<(), BusError> {
        self.settle(&[(d.clone(), Settlement::Ack)]).await
    }

    async fn nack(&self, d: &Delivery, failure: &Failure) -> Result<(), BusError> {
        self.settle(&[(d.clone(), Settlement::Nack(failure.clone()))])
            .await
    }

    async fn extend(&self, d: &Delivery) -> Result<(), BusError> {
        let (seq, token) = receipt(d)?;
        let lease = self.config.lease.as_millis() as i64;
        self.db
            .write(move |c| {
                c.execute(
                    "UPDATE queue SET available_at = ?3 WHERE seq = ?1 AND lease_token = ?2",
                    params![seq, token, now_ms() + lease],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn release(&self, d: &Delivery) -> Result<(), BusError> {
        self.settle(&[(d.clone(), Settlement::Release)]).await
    }

    async fn wait_for_work(&self, max_wait: Duration) {
        let _ = tokio::time::timeout(max_wait, self.notify.notified()).await;
    }
}

/// Most unfinished events one receive looks at. Bounds the scan when the oldest events all
/// wait on subjects held by other workers (one busy issue with a deep backlog): events behind
/// them wait for the next receive, after the head of the line moved.
const SCAN_LIMIT: i64 = 4096;

/// Up to `max` events that may be handed out now, oldest first, with their attempts so far.
///
/// An event waits while an older one about the same subject is unfinished (leased elsewhere,
/// or backing off after a failure): one subject's events are applied one at a time, in order.
/// Unfinished events are read in queue order, so when an event is reached, every older
/// unfinished event of its subject has been seen: its subject is free unless one of them was
/// held back. Several events of one subject may be taken at once; the worker applies them in
/// order. A dead letter no longer holds the line.
fn due_events(c: &rusqlite::Connection, now: i64, max: usize) -> Result<Vec<(i64, u32)>, DbError> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, state, available_at, attempts, subject FROM queue
         WHERE state IN ('ready', 'leased') ORDER BY seq LIMIT ?1",
    )?;
    let mut rows = stmt.query([SCAN_LIMIT])?;
    let mut held: HashSet<String> = HashSet::new();
    let mut due = Vec::new();
    while due.len() < max
        && let Some(row) = rows.next()?
    {
        let available_at: i64 = row.get(2)?;
        let subject: Option<String> = row.get(4)?;
        if subject.as_ref().is_some_and(|s| held.contains(s)) {
            continue;
        }
        // A lease that ran out makes its event due again, like a retry whose time came.
        if available_at <= now {
            due.push((row.get(0)?, row.get(3)?));
        } else if let Some(subject) = subject {
            held.insert(subject);
        }
    }
    Ok(due)
}

/// How one event of a batch is settled, worked out before the write.
enum Settle {
    Ack,
    Retry { delay: i64, error: String },
    DeadLetter(String),
    Release,
}

/// Settles the event leased as `seq` under `token`; false when that lease was lost (the
/// event was handed out again, and its new holder settles it).
fn settle_one(
    c: &rusqlite::Connection,
    seq: i64,
    token: &str,
    settlement: &Settle,
    now: i64,
) -> Result<bool, DbError> {
    let changed = match settlement {
        Settle::Ack => c
            .prepare_cached(
                "UPDATE queue SET state = 'done', finished_at = ?3, lease_token = NULL,
                 last_error = NULL WHERE seq = ?1 AND lease_token = ?2",
            )?
            .execute(params![seq, token, now])?,
        Settle::Retry { delay, error } => c
            .prepare_cached(
                "UPDATE queue SET state = 'ready', available_at = ?3, lease_token = NULL,
                 last_error = ?4 WHERE seq = ?1 AND lease_token = ?2",
            )?
            .execute(params![seq, token, now + delay, error])?,
        Settle::Release => c
            .prepare_cached(
                "UPDATE queue SET state = 'ready', available_at = ?3, lease_token = NULL,
                 attempts = max(attempts - 1, 0) WHERE seq = ?1 AND lease_token = ?2",
            )?
            .execute(params![seq, token, now])?,
        Settle::DeadLetter(error) => {
            return dead_letter(c, seq, Some(token), Some(error), now);
        }
    };
    Ok(changed > 0)
}

fn receipt(d: &Delivery) -> Result<(i64, String), BusError> {
    let (seq, token) = d
        .receipt
        .split_once(':')
        .ok_or_else(|| BusError::malformed("bad receipt"))?;
    let seq = seq
        .parse()
        .map_err(|_| BusError::malformed("bad receipt"))?;
    Ok((seq, token.to_owned()))
}

/// Moves the event at `seq` to the dead letters, in the same transaction, keeping `error` (or,
/// when there is none, the event's last error). With `token`, only while that lease holds;
/// false when it does not (the event was handed out again).
fn dead_letter(
    c: &rusqlite::Connection,
    seq: i64,
    token: Option<&str>,
    error: Option<&str>,
    now: i64,
) -> Result<bool, DbError> {
    let row = c
        .prepare_cached(
            "SELECT event_id, event_type, payload, raw, attempts, last_error FROM queue
             WHERE seq = ?1 AND (?2 IS NULL OR lease_token = ?2)",
        )?
        .query_row(params![seq, token], |r| {
            let last_error: Option<String> = r.get(5)?;
            Ok(DeadLetter {
                id: r.get(0)?,
                event_type: r.get(1)?,
                payload: r.get(2)?,
                raw: r.get(3)?,
                error: error.map(str::to_owned).or(last_error).unwrap_or_else(|| {
                    "lease expired on every attempt (worker crashed or hung)".into()
                }),
                attempts: r.get(4)?,
                failed_at_ms: now,
            })
        })
        .optional()?;
    let Some(letter) = row else {
        return Ok(false);
    };
    insert_dead_letter(c, &letter)?;
    c.prepare_cached(
        "UPDATE queue SET state = 'dead', lease_token = NULL, last_error = ?2, finished_at = ?3
         WHERE seq = ?1",
    )?
    .execute(params![seq, letter.error, now])?;
    tracing::error!(event_id = %letter.id, event_type = %letter.event_type, attempts = letter.attempts, error = %letter.error, "event dead-lettered");
    Ok(true)
}
