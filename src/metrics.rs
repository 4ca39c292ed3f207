//! Prometheus metrics: one registry per application (tests run several in one process), shared
//! by the HTTP layer, the intake and the workers, rendered in text format at `/metrics`.

use std::sync::Mutex;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `jira` or `sns`.
    pub source: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub source: &'static str,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub event_type: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub event_type: &'static str,
    /// `done`, `failed` (retried or dead-lettered by the queue) or `released`.
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerCallLabels {
    /// `jira` or `sir`.
    pub peer: &'static str,
    pub operation: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    /// `ok`, `failed`, or `skipped` (another replica holds the poller lease).
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub verification_failures: Family<ReasonLabels, Counter>,
    pub duplicates: Family<SourceLabels, Counter>,
    pub ignored: Family<ReasonLabels, Counter>,
    pub accepted: Family<EventLabels, Counter>,
    pub processed: Family<OutcomeLabels, Counter>,
    /// Seconds from the delivery's arrival to the end of its successful processing.
    pub sync_latency: Family<EventLabels, Histogram>,
    /// Calls to Jira and SIR by operation and HTTP status (429s included).
    pub peer_calls: Family<PeerCallLabels, Counter>,
    /// SNS subscriptions confirmed by visiting their SubscribeURL.
    pub sns_confirmations: Counter,
    /// SNS UnsubscribeConfirmation messages (logged, never acted on).
    pub sns_unsubscribe_confirmations: Counter,
    /// SNS messages refused because their topic is not allowed.
    pub sns_topic_refused: Counter,
    /// SNS signing certificate fetches started (a burst shares one).
    pub sns_certificate_fetches: Counter,
    /// SIR poller runs by result.
    pub sir_poll_runs: Family<PollLabels, Counter>,
    /// Cases the SIR poller found changed (and published an event for).
    pub sir_poll_changed_cases: Counter,
    /// Jira changes a closed SIR case cannot take (recorded, left in Jira, never dead letters).
    pub not_applicable: Counter,
    /// Jira reconciler runs by result.
    pub jira_reconcile_runs: Family<PollLabels, Counter>,
    /// Events the Jira reconciler published for changes no webhook had delivered.
    pub jira_reconcile_recovered: Counter,
    queue_events: Family<StateLabels, Gauge>,
    queue_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Serialises renders so concurrent scrapes do not interleave gauge updates.
    render_lock: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sir_jira");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            http_requests.clone(),
        );
        let verification_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "verification_failures",
            "Deliveries refused by signature or secret verification, by reason",
            verification_failures.clone(),
        );
        let duplicates = Family::<SourceLabels, Counter>::default();
        registry.register(
            "duplicate_deliveries",
            "Deliveries acknowledged as duplicates",
            duplicates.clone(),
        );
        let ignored = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "ignored_deliveries",
            "Deliveries acknowledged and dropped, by reason",
            ignored.clone(),
        );
        let accepted = Family::<EventLabels, Counter>::default();
        registry.register(
            "events_accepted",
            "Events accepted onto the bus",
            accepted.clone(),
        );
        let processed = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "events_processed",
            "Events settled by workers, by outcome",
            processed.clone(),
        );
        let sync_latency = Family::<EventLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ])
        });
        registry.register(
            "sync_latency_seconds",
            "From delivery received to event processed",
            sync_latency.clone(),
        );
        let peer_calls = Family::<PeerCallLabels, Counter>::default();
        registry.register(
            "peer_api_calls",
            "Calls to Jira and SIR by operation and HTTP status",
            peer_calls.clone(),
        );
        let sns_confirmations = Counter::default();
        registry.register(
            "sns_subscriptions_confirmed",
            "SNS subscriptions confirmed by visiting their SubscribeURL",
            sns_confirmations.clone(),
        );
        let sns_unsubscribe_confirmations = Counter::default();
        registry.register(
            "sns_unsubscribe_confirmations",
            "SNS UnsubscribeConfirmation messages received (logged, not acted on)",
            sns_unsubscribe_confirmations.clone(),
        );
        let sns_topic_refused = Counter::default();
        registry.register(
            "sns_topic_refused",
            "SNS messages refused because their topic is not in sns_topic_arns",
            sns_topic_refused.clone(),
        );
        let sns_certificate_fetches = Counter::default();
        registry.register(
            "sns_certificate_fetches",
            "SNS signing certificate fetches started",
            sns_certificate_fetches.clone(),
        );
        let sir_poll_runs = Family::<PollLabels, Counter>::default();
        registry.register(
            "sir_poll_runs",
            "SIR poller runs by result (skipped: another replica holds the lease)",
            sir_poll_runs.clone(),
        );
        let sir_poll_changed_cases = Counter::default();
        registry.register(
            "sir_poll_changed_cases",
            "SIR cases the poller found changed and published an event for",
            sir_poll_changed_cases.clone(),
        );
        let not_applicable = Counter::default();
        registry.register(
            "sync_not_applicable",
            "Jira changes that a closed SIR case cannot take (left in Jira, not retried)",
            not_applicable.clone(),
        );
        let jira_reconcile_runs = Family::<PollLabels, Counter>::default();
        registry.register(
            "jira_reconcile_runs",
            "Jira reconciler runs by result (skipped: another replica holds the lease)",
            jira_reconcile_runs.clone(),
        );
        let jira_reconcile_recovered = Counter::default();
        registry.register(
            "jira_reconcile_recovered",
            "Jira changes the reconciler recovered that no webhook had delivered",
            jira_reconcile_recovered.clone(),
        );
        let queue_events = Family::<StateLabels, Gauge>::default();
        registry.register(
            "queue_events",
            "Events in the embedded queue by state",
            queue_events.clone(),
        );
        let queue_oldest_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "queue_oldest_pending_age_seconds",
            "Age of the oldest event not yet processed",
            queue_oldest_age.clone(),
        );
        Metrics {
            registry,
            http_requests,
            verification_failures,
            duplicates,
            ignored,
            accepted,
            processed,
            sync_latency,
            peer_calls,
            sns_confirmations,
            sns_unsubscribe_confirmations,
            sns_topic_refused,
            sns_certificate_fetches,
            sir_poll_runs,
            sir_poll_changed_cases,
            not_applicable,
            jira_reconcile_runs,
            jira_reconcile_recovered,
            queue_events,
            queue_oldest_age,
            render_lock: Mutex::new(()),
        }
    }

    /// The text exposition, with the queue gauges refreshed from `queue` when there is one.
    pub fn render(&self, queue: Option<QueueStats>) -> String {
        let _guard = self.render_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = queue {
            for (state, n) in [
                ("ready", q.ready),
                ("leased", q.leased),
                ("done", q.done),
                ("dead", q.dead),
            ] {
                self.queue_events
                    .get_or_create(&StateLabels { state })
                    .set(n as i64);
            }
            self.queue_oldest_age
                .set(q.oldest_pending_ms.unwrap_or(0) as f64 / 1000.0);
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// What the embedded queue holds, for readiness and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub ready: u64,
    pub leased: u64,
    pub done: u64,
    pub dead: u64,
    /// Age of the oldest unfinished event, in milliseconds.
    pub oldest_pending_ms: Option<i64>,
}
