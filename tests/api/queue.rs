//! The embedded queue's delivery guarantees, through the `EventSource` trait.

use std::{sync::Arc, time::Duration};

use sir_jira_bridge::{
    bus::{EmbeddedQueue, EventBus, EventSource, Failure, Outgoing, Settlement},
    config::QueueConfig,
    db::Db,
    event::{Event, EventEnvelope, Origin, jira},
    store::{SqliteStore, StateStore},
};

struct Fixture {
    queue: Arc<EmbeddedQueue>,
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

fn queue(tune: impl FnOnce(&mut QueueConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("q.sqlite3")).unwrap();
    let mut config = QueueConfig {
        workers: 0,
        max_attempts: 3,
        lease: Duration::from_secs(60),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(2),
        retention: Duration::from_secs(3600),
    };
    tune(&mut config);
    Fixture {
        queue: Arc::new(EmbeddedQueue::new(db.clone(), config)),
        store: SqliteStore::new(db),
        _dir: dir,
    }
}

fn event(key: &str) -> Outgoing {
    Outgoing {
        envelope: EventEnvelope::new(
            Origin::JiraWebhook,
            format!("d-{key}"),
            Event::JiraIssueUpdated(jira::IssueEvent {
                issue: jira::Issue {
                    key: key.into(),
                    ..Default::default()
                },
                ..Default::default()
            }),
        ),
        raw: Some(bytes::Bytes::from_static(b"{\"raw\":true}")),
    }
}

async fn receive_one(q: &EmbeddedQueue) -> sir_jira_bridge::bus::Delivery {
    for _ in 0..200 {
        if let Some(d) = q.receive(1).await.unwrap().pop() {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("nothing became due");
}

#[tokio::test]
async fn delivered_once_and_not_again_after_ack() {
    let f = queue(|_| {});
    let e = event("SEC-1");
    f.queue.publish(std::slice::from_ref(&e)).await.unwrap();
    // Publishing the same event id again (a retry) does not duplicate it.
    f.queue.publish(std::slice::from_ref(&e)).await.unwrap();
    let d = receive_one(&f.queue).await;
    assert_eq!(d.envelope, e.envelope);
    assert_eq!(d.attempt, 1);
    // Leased: nobody else gets it.
    assert!(f.queue.receive(10).await.unwrap().is_empty());
    f.queue.ack(&d).await.unwrap();
    assert!(f.queue.receive(10).await.unwrap().is_empty());
    assert_eq!(f.queue.stats().await.unwrap().done, 1);
}

#[tokio::test]
async fn retries_with_backoff_then_dead_letters_with_the_last_error() {
    let f = queue(|c| {
        c.backoff_base = Duration::from_millis(200);
        c.backoff_max = Duration::from_millis(400);
    });
    let e = event("SEC-2");
    f.queue.publish(std::slice::from_ref(&e)).await.unwrap();
    for attempt in 1..=3 {
        let d = receive_one(&f.queue).await;
        assert_eq!(d.attempt, attempt);
        f.queue
            .nack(
                &d,
                &Failure {
                    error: format!("boom {attempt}"),
                    retryable: true,
                },
            )
            .await
            .unwrap();
        if attempt < 3 {
            // Backoff: not due straight away (at least half of 200 ms with jitter).
            assert!(f.queue.receive(1).await.unwrap().is_empty());
        }
    }
    assert!(f.queue.receive(1).await.unwrap().is_empty());
    let letters = f.store.list_dead_letters(None, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, e.envelope.id.to_string());
    assert_eq!(letters[0].error, "boom 3");
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(letters[0].raw.as_deref(), Some(&b"{\"raw\":true}"[..]));
    assert_eq!(f.queue.stats().await.unwrap().dead, 1);

    // Replay: publish the dead event again; it is due once more and can succeed.
    let replay: EventEnvelope = serde_json::from_str(&letters[0].payload).unwrap();
    f.queue
        .publish(&[Outgoing {
            envelope: replay,
            raw: None,
        }])
        .await
        .unwrap();
    let d = receive_one(&f.queue).await;
    assert_eq!(d.attempt, 1);
    f.queue.ack(&d).await.unwrap();
}

#[tokio::test]
async fn permanent_failures_skip_the_retries() {
    let f = queue(|_| {});
    f.queue.publish(&[event("SEC-3")]).await.unwrap();
    let d = receive_one(&f.queue).await;
    f.queue
        .nack(
            &d,
            &Failure {
                error: "invalid".into(),
                retryable: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(f.store.list_dead_letters(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_crashed_workers_event_comes_back_when_its_lease_ends() {
    let f = queue(|c| c.lease = Duration::from_millis(100));
    f.queue.publish(&[event("SEC-4")]).await.unwrap();
    let first = receive_one(&f.queue).await;
    // The worker "crashes": never settles. After the lease it is handed out again.
    let second = receive_one(&f.queue).await;
    assert_eq!(second.envelope.id, first.envelope.id);
    assert_eq!(second.attempt, 2);
    // The stale holder can no longer settle it.
    f.queue.ack(&first).await.unwrap();
    assert_eq!(f.queue.stats().await.unwrap().done, 0);
    f.queue.ack(&second).await.unwrap();
    assert_eq!(f.queue.stats().await.unwrap().done, 1);
}

#[tokio::test]
async fn an_event_whose_lease_always_expires_is_dead_lettered() {
    let f = queue(|c| {
        c.lease = Duration::from_millis(30);
        c.max_attempts = 2;
    });
    f.queue.publish(&[event("SEC-5")]).await.unwrap();
    receive_one(&f.queue).await;
    receive_one(&f.queue).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(f.queue.receive(1).await.unwrap().is_empty());
    let letters = f.store.list_dead_letters(None, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].error.contains("lease expired"),
        "{}",
        letters[0].error
    );
}

#[tokio::test]
async fn extend_keeps_the_lease_and_release_does_not_count_an_attempt() {
    let f = queue(|c| c.lease = Duration::from_millis(150));
    f.queue.publish(&[event("SEC-6")]).await.unwrap();
    let d = receive_one(&f.queue).await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        f.queue.extend(&d).await.unwrap();
    }
    assert!(
        f.queue.receive(1).await.unwrap().is_empty(),
        "lease was extended"
    );
    f.queue.release(&d).await.unwrap();
    let again = f
        .queue
        .receive(1)
        .await
        .unwrap()
        .pop()
        .expect("released is due at once");
    assert_eq!(again.attempt, 1);
}

/// One subject's events go to one worker at a time, oldest first; other subjects go on. A
/// batch may carry several events of one subject, in order; while any is leased, no newer
/// event of that subject is handed out.
#[tokio::test]
async fn events_about_one_issue_are_handed_out_one_holder_at_a_time_in_order() {
    let f = queue(|q| q.max_attempts = 2);
    let (a1, a2, a3, b) = (
        event("SEC-1"),
        event("SEC-1"),
        event("SEC-1"),
        event("SEC-2"),
    );
    f.queue
        .publish(&[a1.clone(), a2.clone(), a3.clone(), b.clone()])
        .await
        .unwrap();
    let ids = |ds: &[sir_jira_bridge::bus::Delivery]| {
        ds.iter().map(|d| d.envelope.id).collect::<Vec<_>>()
    };
    let first = f.queue.receive(2).await.unwrap();
    assert_eq!(ids(&first), [a1.envelope.id, a2.envelope.id]);
    // While SEC-1's oldest are leased, nothing else of SEC-1 is due; SEC-2 is.
    let a4 = event("SEC-1");
    f.queue.publish(std::slice::from_ref(&a4)).await.unwrap();
    let other = f.queue.receive(10).await.unwrap();
    assert_eq!(ids(&other), [b.envelope.id]);
    f.queue.ack(&other[0]).await.unwrap();

    // a1 done, a2 failed (retried later), in one settle: a3 and a4 wait for a2's retry.
    let retry = Failure {
        error: "Jira 503".into(),
        retryable: true,
    };
    f.queue
        .settle(&[
            (first[0].clone(), Settlement::Ack),
            (first[1].clone(), Settlement::Nack(retry.clone())),
        ])
        .await
        .unwrap();
    let again = receive_one(&f.queue).await;
    assert_eq!(again.envelope.id, a2.envelope.id);
    assert_eq!(again.attempt, 2);
    // Out of attempts: a2 becomes a dead letter and a3, then a4, are free to go.
    f.queue.nack(&again, &retry).await.unwrap();
    let rest = f.queue.receive(10).await.unwrap();
    assert_eq!(ids(&rest), [a3.envelope.id, a4.envelope.id]);
    assert_eq!(f.queue.stats().await.unwrap().dead, 1);
    // A hand-back is due at once and does not count the attempt.
    f.queue
        .settle(&[
            (rest[0].clone(), Settlement::Release),
            (rest[1].clone(), Settlement::Release),
        ])
        .await
        .unwrap();
    let back = f.queue.receive(10).await.unwrap();
    assert_eq!(ids(&back), [a3.envelope.id, a4.envelope.id]);
    assert!(back.iter().all(|d| d.attempt == 1));
}

/// A settle whose lease was lost (the event was handed out again) changes nothing: the new
/// holder's settle counts.
#[tokio::test]
async fn a_settle_after_the_lease_was_lost_leaves_the_new_holders_lease_alone() {
    let f = queue(|q| q.lease = Duration::from_millis(50));
    f.queue.publish(&[event("SEC-1")]).await.unwrap();
    let stale = receive_one(&f.queue).await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    let current = receive_one(&f.queue).await;
    assert_eq!(current.attempt, 2);
    f.queue.settle(&[(stale, Settlement::Ack)]).await.unwrap();
    let stats = f.queue.stats().await.unwrap();
    assert_eq!((stats.done, stats.leased), (0, 1));
    f.queue.ack(&current).await.unwrap();
    assert_eq!(f.queue.stats().await.unwrap().done, 1);
}

/// Workers take events in batches and settle a batch at once. Under random failures and
/// several workers, each subject's events are still applied one at a time, in publish order,
/// and every event is applied successfully exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_workers_apply_each_subjects_events_once_in_order_despite_failures() {
    use rand::{Rng, SeedableRng};
    use sir_jira_bridge::worker::EventHandler;
    use std::{collections::HashMap, sync::Mutex};

    /// Fails about one attempt in five; records every successful application and every overlap.
    struct Flaky {
        state: Mutex<Seen>,
        overlaps: std::sync::atomic::AtomicUsize,
    }

    struct Seen {
        rng: rand::rngs::StdRng,
        /// Per subject, the delivery ids applied successfully, in order.
        applied: HashMap<String, Vec<String>>,
        /// Per subject, whether an event of it is being applied now.
        busy: HashMap<String, bool>,
    }

    #[async_trait::async_trait]
    impl EventHandler for Flaky {
        async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
            let subject = envelope.event.subject().unwrap();
            let fail = {
                let mut state = self.state.lock().unwrap();
                if state.busy.insert(subject.clone(), true) == Some(true) {
                    self.overlaps
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                state.rng.random_bool(0.2)
            };
            tokio::time::sleep(Duration::from_micros(200)).await;
            let mut state = self.state.lock().unwrap();
            state.busy.insert(subject.clone(), false);
            if fail {
                return Err(Failure {
                    error: "Jira 503".into(),
                    retryable: true,
                });
            }
            state
                .applied
                .entry(subject)
                .or_default()
                .push(envelope.delivery_id.clone());
            Ok(())
        }
    }

    let f = queue(|q| q.max_attempts = 1_000);
    let mut published: HashMap<String, Vec<String>> = HashMap::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut events = Vec::new();
    for n in 0..400 {
        let key = format!("SEC-{}", rng.random_range(1..=5));
        let mut e = event(&key);
        e.envelope.delivery_id = format!("d-{n}");
        published
            .entry(format!("issue:{key}"))
            .or_default()
            .push(e.envelope.delivery_id.clone());
        events.push(e);
    }
    let handler = Arc::new(Flaky {
        state: Mutex::new(Seen {
            rng: rand::rngs::StdRng::seed_from_u64(11),
            applied: HashMap::new(),
            busy: HashMap::new(),
        }),
        overlaps: Default::default(),
    });
    let workers = Workers::start(&f, 3, handler.clone(), Duration::from_secs(60));
    // Published in several commits while the workers run.
    for chunk in events.chunks(37) {
        f.queue.publish(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    workers.stop_when_done(&f, 400).await;
    let state = handler.state.lock().unwrap();
    assert_eq!(
        state.applied, published,
        "each subject's events, once each, in publish order"
    );
    assert_eq!(
        handler.overlaps.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "two events of one subject were applied at once"
    );
}

/// A worker that found the queue empty and has not started waiting yet when an event is
/// published still wakes at once, not after its poll interval.
#[tokio::test]
async fn an_event_published_before_a_worker_waits_wakes_it_at_once() {
    let f = queue(|_| {});
    assert!(f.queue.receive(1).await.unwrap().is_empty());
    f.queue.publish(&[event("SEC-1")]).await.unwrap();
    let started = std::time::Instant::now();
    f.queue.wait_for_work(Duration::from_secs(30)).await;
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    assert_eq!(f.queue.receive(1).await.unwrap().len(), 1);
}

/// A batch is acknowledged at its end, so the heartbeat keeps every lease of the batch: an
/// event handled early is not handed out again while a slow one after it runs past the lease.
#[tokio::test]
async fn a_slow_event_keeps_the_leases_of_its_whole_batch() {
    use sir_jira_bridge::worker::EventHandler;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct SlowSecond(AtomicUsize);

    #[async_trait::async_trait]
    impl EventHandler for SlowSecond {
        async fn handle(&self, envelope: &EventEnvelope) -> Result<(), Failure> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if envelope.delivery_id == "d-SEC-2" {
                tokio::time::sleep(Duration::from_millis(900)).await;
            }
            Ok(())
        }
    }

    let f = queue(|q| q.lease = Duration::from_millis(300));
    f.queue
        .publish(&[event("SEC-1"), event("SEC-2")])
        .await
        .unwrap();
    let handler = Arc::new(SlowSecond(AtomicUsize::new(0)));
    // Two workers: the idle one would take SEC-1 again if its lease ran out.
    let workers = Workers::start(&f, 2, handler.clone(), Duration::from_millis(300));
    workers.stop_when_done(&f, 2).await;
    assert_eq!(
        handler.0.load(Ordering::SeqCst),
        2,
        "an event was handled twice"
    );
}

/// A worker pool on the fixture's queue, stopped once the queue has finished a number of events.
struct Workers {
    pool: sir_jira_bridge::worker::WorkerPool,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Workers {
    fn start(
        f: &Fixture,
        count: usize,
        handler: Arc<dyn sir_jira_bridge::worker::EventHandler>,
        lease: Duration,
    ) -> Workers {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let pool = sir_jira_bridge::worker::WorkerPool::spawn(
            count,
            f.queue.clone(),
            handler,
            Arc::new(sir_jira_bridge::metrics::Metrics::default()),
            lease,
            Duration::from_secs(1),
            shutdown.clone(),
        );
        Workers { pool, shutdown }
    }

    async fn stop_when_done(self, f: &Fixture, done: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while f.queue.stats().await.unwrap().done < done {
            assert!(
                std::time::Instant::now() < deadline,
                "the workers did not finish {done} events"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.shutdown.cancel();
        self.pool.join().await;
    }
}
