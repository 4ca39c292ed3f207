//! The model-based test of the two-way sync (issue 22).
//!
//! Each scenario is drawn from a seed: one SIR case, its Jira issue, and a sequence of actions
//! by people on both sides (a Jira user edits the summary, the description inside their own part
//! and inside the service's details section, adds and edits comments, moves the issue; a SIR
//! analyst changes title, description and status, closes the case, adds and edits comments).
//! Every change the peers report (Jira webhook deliveries, normalized as the gateway does; SIR
//! events, as the native consumer does) goes into a pool. Between actions a scheduler takes
//! events from the pool at random: reordered, delayed past later actions, sometimes duplicated,
//! sometimes two at once (two workers), while Jira answers 429/503 and SIR throttles or fails.
//! A handler failure that may be retried goes back to the pool, as the queue would retry it.
//! Everything runs through the production handlers and clients against both emulators,
//! in-process.
//!
//! After quiescence (pool drained, then a full sync of the case both ways) the invariants are
//! checked; a further full sync round must write nothing on either side. A failing scenario
//! prints its seed and its whole trace (actions and scheduler steps).
//!
//! People act only between handler calls, never in the middle of one: a person's edit that
//! lands between a sync's last read and its write is a lost update no implementation can avoid
//! for fields Jira cannot compare-and-set, so the model does not generate it. Slow syncs are
//! modelled by events held back in the pool and by retries, concurrency by two handler calls
//! at once.
//!
//! Environment:
//! - `SIR_JIRA_MODEL_CASES=N`: scenarios to run (default 200);
//! - `SIR_JIRA_MODEL_SEED=S`: replay one scenario (decimal or `0x…` hex, as printed);
//! - `SIR_JIRA_MODEL_THREADS=N`: scenarios run on N threads (default 2);
//! - `SIR_JIRA_MODEL_IGNORE=a,b`: skip the named invariants (local diagnosis only; CI sets none).

use std::{
    collections::{BTreeMap, HashSet},
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use jira_emulator::{
    EmulatorConfig as JiraConfig, JiraEmulator, MEMORY_TARGET, Mode, RateLimitPolicy,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;
use sir_emulator::{
    CaseStatus as SirStatus, ClosureCode, EmulatorConfig as SirConfig, EmulatorHandle, FaultMode,
    INTEGRATION_ACCESS_KEY_ID, NewCase, SirEmulator, ThrottleMode,
};
use sir_jira_bridge::{
    db::Db,
    event::{
        Event, EventEnvelope, Origin, SyncIssueRequest,
        sir::{CaseChange, CaseChanged, Native, from_native},
    },
    jira::{Flavour, IssueType, JiraApi, JiraClient, RetryPolicy},
    metrics::Metrics,
    peers::PeerHealth,
    sir::SirApi,
    store::{SqliteStore, StateStore},
    sync::{
        CaseToIssueSync, IssueToCaseSync, Mappings, SyncSettings,
        issue_to_case::{IssueToCaseConfig, JiraIssueSource},
    },
    worker::{Dispatcher, EventHandler},
};

use crate::helpers::{fast_retries, sir_client_with};

const DETAILS_HEADING: &str = "AWS Security Incident Response case details";
/// Handler attempts before an event counts as a dead letter (the queue's max receive count).
const MAX_ATTEMPTS: u32 = 10;
/// Handler calls a drain may take before the scenario is declared not to quiesce.
const DRAIN_LIMIT: usize = 400;
const WORDS: &[&str] = &[
    "miner",
    "bucket",
    "token",
    "rotated",
    "scope",
    "host",
    "egress",
    "lateral",
    "audit",
    "key",
    "role",
    "region",
    "alert",
    "isolated",
    "snapshot",
    "forensics",
];

// ---------------------------------------------------------------------------------------------
// Configuration

struct Settings {
    cases: u64,
    seed: Option<u64>,
    threads: usize,
    ignore: HashSet<String>,
}

fn parse_u64(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).expect("a hex seed"),
        None => s.parse().expect("a number"),
    }
}

impl Settings {
    fn from_env() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Settings {
            cases: var("SIR_JIRA_MODEL_CASES").map_or(200, |v| parse_u64(&v)),
            seed: var("SIR_JIRA_MODEL_SEED").map(|v| parse_u64(&v)),
            threads: var("SIR_JIRA_MODEL_THREADS").map_or(2, |v| parse_u64(&v).max(1) as usize),
            ignore: var("SIR_JIRA_MODEL_IGNORE")
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default(),
        }
    }
}

/// The seed of scenario `i`: fixed, so CI runs the same scenarios every time.
fn scenario_seed(i: u64) -> u64 {
    let mut z = 0x22_5EED_0000_0000u64.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------------
// Actions

#[derive(Debug, Clone)]
enum Action {
    /// Jira: the person edits the summary.
    JiraSummary(String),
    /// Jira: the person rewrites the first paragraph of the description, keeping the rest.
    JiraFirstParagraph(String),
    /// Jira: the person's own formatting replaces the first paragraph: a bold word, a heading.
    JiraFormatted(u32),
    /// Jira: the person types inside the service's details section.
    JiraEditDetails(String),
    JiraComment(String),
    /// Jira: edit the person's n-th comment (modulo how many there are).
    JiraEditComment(usize, String),
    JiraMove(&'static str),
    SirTitle(String),
    SirDescription(String),
    SirStatus(SirStatus),
    SirClose,
    SirComment(String),
    SirEditComment(usize, String),
}

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A scenario's actions, from its seed alone (so the printed list is the whole input).
fn generate(rng: &mut StdRng) -> Vec<Action> {
    let n = rng.random_range(4..=10);
    let mut out = Vec::with_capacity(n);
    for i in 0..n as u32 {
        let tok = |p: &str| format!("{p}{i}q");
        let a = match rng.random_range(0..100) {
            0..=7 => Action::JiraSummary(format!("{} {}", words(rng, 2), tok("sum"))),
            8..=17 => {
                Action::JiraFirstParagraph(format!("person note {} {}.", words(rng, 3), tok("jd")))
            }
            18..=23 => Action::JiraFormatted(i),
            24..=28 => Action::JiraEditDetails(tok("dt")),
            29..=40 => Action::JiraComment(format!("jira comment {} {}", words(rng, 3), tok("jc"))),
            41..=45 => Action::JiraEditComment(rng.random_range(0..4), format!("revised {i}")),
            46..=57 => {
                Action::JiraMove(["In Progress", "In Review", "Done"][rng.random_range(0..3)])
            }
            58..=63 => Action::SirTitle(format!("{} {}", words(rng, 2), tok("st"))),
            64..=70 => Action::SirDescription(format!(
                "analyst text {} {}.\n\nsecond paragraph {}.",
                words(rng, 3),
                tok("sd"),
                words(rng, 2)
            )),
            71..=80 => Action::SirStatus(
                [
                    SirStatus::DetectionAndAnalysis,
                    SirStatus::ContainmentEradicationAndRecovery,
                    SirStatus::PostIncidentActivities,
                ][rng.random_range(0..3)],
            ),
            81..=83 => Action::SirClose,
            84..=94 => {
                Action::SirComment(format!("analyst comment {} {}", words(rng, 3), tok("sc")))
            }
            _ => Action::SirEditComment(rng.random_range(0..4), format!("revised {i}")),
        };
        out.push(a);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// What people did, for the checks

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Jira,
    Sir,
}

/// A comment a person wrote, identified by its token.
#[derive(Debug, Clone)]
struct PersonComment {
    id: String,
    token: String,
    text: String,
    /// Why it is left out of the exactly-once check, if it is.
    excluded: Option<&'static str>,
    /// Whether the latest text must be mirrored (false: edited after a close).
    edit_checked: bool,
}

/// A status change a person made, with where both status histories stood right after it.
#[derive(Debug, Clone)]
struct StatusMark {
    side: Side,
    /// A Jira status name or a SIR status wire value.
    status: String,
    jira_len: usize,
    sir_len: usize,
}

#[derive(Debug, Clone)]
enum DescriptionEdit {
    /// Text that must appear in both descriptions, in the case as plain text.
    Texts(Vec<String>),
}

#[derive(Default)]
struct Model {
    initial_description: String,
    title: Option<String>,
    description: Option<DescriptionEdit>,
    /// The latest title or description is a Jira edit made after a close: a closed case takes
    /// no update, so only Jira is checked for it.
    title_jira_only: bool,
    description_jira_only: bool,
    /// Characters people wrote into descriptions (bounds growth).
    description_chars: usize,
    description_max: usize,
    jira_comments: Vec<PersonComment>,
    sir_comments: Vec<PersonComment>,
    statuses: Vec<StatusMark>,
    details_tokens: Vec<String>,
    formatted: Vec<(String, String)>,
    closed: bool,
}

// ---------------------------------------------------------------------------------------------
// The world: both emulators, the production handlers, the pool of pending events

struct Pending {
    envelope: EventEnvelope,
    label: String,
    attempts: u32,
}

struct World {
    jira: JiraEmulator,
    sir: EmulatorHandle,
    handler: Arc<Dispatcher>,
    store: Arc<dyn StateStore>,
    own_jira: String,
    human_jira: String,
    case_id: String,
    key: String,
    jira_cursor: usize,
    sir_cursor: usize,
    change_keys: HashSet<String>,
    pool: Vec<Pending>,
    next_label: usize,
    trace: Vec<String>,
    dead: Vec<String>,
    handled: usize,
    _dir: tempfile::TempDir,
}

fn jira_client(jira: &JiraEmulator, flavour: Flavour) -> JiraClient {
    // Waits on a millisecond scale: a 429's Retry-After is cut to 5 ms.
    let retry = RetryPolicy {
        max_attempts: 2,
        min_wait: Duration::from_millis(1),
        max_wait: Duration::from_millis(5),
    };
    let (metrics, peers) = (Arc::new(Metrics::new()), Arc::new(PeerHealth::default()));
    crate::jira_sync::jira_client_with(jira, flavour, metrics, peers, retry)
}

fn rich_text(r: &jira_emulator::RichText) -> String {
    sir_jira_bridge::event::adf::to_text(&r.to_adf())
}

/// The text's words, one space apart: what is left of it without markup and layout.
fn plain_words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

impl World {
    async fn start(flavour: Flavour) -> World {
        let jira = JiraEmulator::start(JiraConfig {
            mode: match flavour {
                Flavour::Cloud => Mode::Cloud,
                Flavour::DataCenter => Mode::DataCenter,
            },
            ..JiraConfig::default()
        })
        .await
        .unwrap();
        jira.webhooks()
            .set_target(MEMORY_TARGET, Some("model-secret"));
        jira.webhooks().set_retry_delays(Vec::new());
        let sir = SirEmulator::start(SirConfig::default()).await.unwrap();
        let sir_api: Arc<dyn SirApi> = Arc::new(sir_client_with(
            &sir,
            fast_retries(2),
            Arc::new(Metrics::new()),
            Arc::new(PeerHealth::default()),
        ));
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn StateStore> = Arc::new(SqliteStore::new(
            Db::open(&dir.path().join("s.sqlite3")).unwrap(),
        ));
        let client = Arc::new(jira_client(&jira, flavour));
        let own = client.myself().await.unwrap().id;
        let mut settings =
            SyncSettings::new("SEC", IssueType::Name("Security Incident".into()), &own);
        settings.lease_wait = Duration::from_secs(30);
        let api: Arc<dyn JiraApi> = client.clone();
        let reverse = IssueToCaseSync::new(
            IssueToCaseConfig::for_jira(&settings.own_account, &settings.mappings),
            sir_api.clone(),
            store.clone(),
        )
        .with_issue_source(Arc::new(JiraIssueSource::new(api.clone())))
        .with_attachment_limit(settings.attachment_max_bytes);
        let forward = CaseToIssueSync::new(api, sir_api, store.clone(), settings);
        let handler = Arc::new(Dispatcher {
            case_to_issue: Arc::new(forward),
            issue_to_case: Arc::new(reverse),
        });
        World {
            own_jira: jira.integration_account().account_id,
            human_jira: jira.human_account().account_id,
            jira,
            sir,
            handler,
            store,
            case_id: String::new(),
            key: String::new(),
            jira_cursor: 0,
            sir_cursor: 0,
            change_keys: HashSet::new(),
            pool: Vec::new(),
            next_label: 0,
            trace: Vec::new(),
            dead: Vec::new(),
            handled: 0,
            _dir: dir,
        }
    }

    fn note(&mut self, line: String) {
        self.trace.push(line);
    }

    fn push(&mut self, envelope: EventEnvelope, what: String) {
        self.next_label += 1;
        let label = format!("e{} {what}", self.next_label);
        self.pool.push(Pending {
            envelope,
            label,
            attempts: 0,
        });
    }

    /// Moves every new Jira delivery and SIR event into the pool, as the gateway and the native
    /// consumer would publish them.
    async fn collect(&mut self) {
        assert!(
            self.jira.webhooks().wait_idle(Duration::from_secs(5)).await,
            "webhook deliveries stuck"
        );
        let deliveries = self.jira.webhooks().deliveries();
        for d in deliveries.iter().skip(self.jira_cursor) {
            let event = match sir_jira_bridge::event::jira::from_webhook(&d.body) {
                Ok(e) => e,
                Err(e) => {
                    self.trace
                        .push(format!("   (delivery {} not normalized: {e})", d.event));
                    continue;
                }
            };
            if event.jira_project().is_some_and(|p| p != "SEC") {
                continue;
            }
            // The gateway's intake dedupes the two deliveries Jira sends for one comment change.
            let key = event
                .change_key()
                .unwrap_or_else(|| format!("jira:{}", d.identifier));
            if !self.change_keys.insert(key) {
                continue;
            }
            let who = jira_actor(&event, &self.own_jira, &self.human_jira);
            let what = format!("{} by {who}", event.type_name());
            self.push(
                EventEnvelope::new(Origin::JiraWebhook, d.identifier.clone(), event),
                what,
            );
        }
        self.jira_cursor = deliveries.len();
        let events = self.sir.events();
        for e in events.iter().skip(self.sir_cursor) {
            if let Ok(Native::Changed(envelope)) = from_native(&e.to_json()) {
                let who = if e.actor_access_key_id == INTEGRATION_ACCESS_KEY_ID {
                    "bridge"
                } else {
                    "analyst"
                };
                let what = format!("sir {} by {who}", e.detail_type);
                self.push(*envelope, what);
            }
        }
        self.sir_cursor = events.len();
    }

    /// The result of one handler call: retried later (back to the pool) or a dead letter.
    fn settle(&mut self, p: Pending, result: Result<(), sir_jira_bridge::bus::Failure>) {
        self.handled += 1;
        match result {
            Ok(()) => self.trace.push(format!("   sync {} → ok", p.label)),
            Err(f) if f.retryable && p.attempts + 1 < MAX_ATTEMPTS => {
                self.trace
                    .push(format!("   sync {} → retry ({})", p.label, short(&f.error)));
                self.pool.push(Pending {
                    attempts: p.attempts + 1,
                    ..p
                });
            }
            Err(f) => {
                self.trace.push(format!(
                    "   sync {} → DEAD LETTER ({})",
                    p.label,
                    short(&f.error)
                ));
                self.dead.push(format!("{}: {}", p.label, f.error));
            }
        }
    }

    fn take(&mut self, rng: &mut StdRng, duplicate: bool) -> Pending {
        let i = rng.random_range(0..self.pool.len());
        if duplicate {
            let p = &self.pool[i];
            self.trace.push(format!("   duplicate {}", p.label));
            Pending {
                envelope: p.envelope.clone(),
                label: format!("{} (copy)", p.label),
                attempts: 0,
            }
        } else {
            self.pool.swap_remove(i)
        }
    }

    /// One scheduler step: one event (sometimes a copy that stays pending), or two at once.
    async fn step(&mut self, rng: &mut StdRng) {
        if self.pool.is_empty() {
            return;
        }
        if self.pool.len() >= 2 && rng.random_bool(0.2) {
            let a = self.take(rng, false);
            let b = self.take(rng, false);
            self.trace
                .push(format!("   together: {} | {}", a.label, b.label));
            let (ra, rb) = tokio::join!(
                self.handler.handle(&a.envelope),
                self.handler.handle(&b.envelope)
            );
            self.settle(a, ra);
            self.settle(b, rb);
        } else {
            let duplicate = rng.random_bool(0.1);
            let p = self.take(rng, duplicate);
            let r = self.handler.handle(&p.envelope).await;
            self.settle(p, r);
        }
        self.collect().await;
    }

    /// Runs the pool empty; false when it does not empty within [`DRAIN_LIMIT`] calls.
    async fn drain(&mut self, rng: &mut StdRng) -> bool {
        let start = self.handled;
        while !self.pool.is_empty() {
            if self.handled - start > DRAIN_LIMIT {
                return false;
            }
            self.step(rng).await;
        }
        true
    }

    /// A full sync of the case both ways, as an operator's resync or the reconciler does.
    fn full_sync(&mut self) {
        let case = EventEnvelope::new(
            Origin::SirPoller,
            uuid::Uuid::new_v4().to_string(),
            Event::SirCaseChanged(CaseChanged {
                case_id: self.case_id.clone(),
                change: CaseChange::Polled,
                actor: None,
                last_updated: None,
            }),
        );
        self.push(case, "full sync: sir.case.changed".into());
        let issue = EventEnvelope::new(
            Origin::AdminApi,
            uuid::Uuid::new_v4().to_string(),
            Event::SyncIssueRequested(SyncIssueRequest {
                issue_key: self.key.clone(),
            }),
        );
        self.push(issue, "full sync: sync.issue.requested".into());
    }

    fn faults_off(&self) {
        self.jira.clear_rate_limit();
        self.sir.set_throttle(ThrottleMode::Off);
        self.sir.set_fault(FaultMode::Off);
    }

    /// Sometimes switches a fault on or off.
    fn faults(&mut self, rng: &mut StdRng) {
        match rng.random_range(0..100) {
            0..=9 => {
                let k = rng.random_range(2..=4);
                self.jira.rate_limit_every(k, rng.random_range(0..=1));
                self.note(format!("   fault: Jira answers 429 to every {k}th call"));
            }
            10..=14 => {
                let n = rng.random_range(1..=3);
                self.jira
                    .unavailable(RateLimitPolicy::Next { n }, rng.random_range(0..=1));
                self.note(format!("   fault: Jira answers 503 to the next {n} calls"));
            }
            15..=22 => {
                let k = rng.random_range(2..=4);
                self.sir.set_throttle(ThrottleMode::EveryNth(k));
                self.note(format!("   fault: SIR throttles every {k}th call"));
            }
            23..=27 => {
                let n = rng.random_range(1..=3);
                self.sir.set_fault(FaultMode::Next(n));
                self.note(format!("   fault: SIR fails the next {n} calls (500)"));
            }
            28..=40 => {
                self.faults_off();
                self.note("   faults off".into());
            }
            _ => {}
        }
    }

    fn jira_status(&self) -> String {
        self.jira.status_of(&self.key).unwrap_or_default()
    }

    fn sir_status(&self) -> SirStatus {
        self.sir.case(&self.case_id).unwrap().case_status
    }

    fn jira_history_len(&self) -> usize {
        self.jira.status_history(&self.key).len()
    }

    fn sir_history(&self) -> Vec<(String, String, bool)> {
        sir_status_history(&self.sir, &self.case_id)
    }

    fn mark(&self, model: &mut Model, side: Side, status: String) {
        model.statuses.push(StatusMark {
            side,
            status,
            jira_len: self.jira_history_len(),
            sir_len: self.sir_history().len(),
        });
    }

    fn sir_comment_texts(&self) -> Vec<String> {
        self.sir
            .comments(&self.case_id)
            .into_iter()
            .map(|c| c.body)
            .collect()
    }

    /// At a close, Jira comments not yet on the case are left out: SIR takes no comments on a
    /// closed case (what the product records for them is the sync engineer's decision).
    fn closing(&mut self, model: &mut Model) {
        if model.closed {
            return;
        }
        model.closed = true;
        // Likewise a Jira title or description not yet on the case stays in Jira only.
        let case = self.sir.case(&self.case_id).unwrap();
        if model.title.as_ref().is_some_and(|t| *t != case.title) {
            model.title_jira_only = true;
        }
        if let Some(DescriptionEdit::Texts(texts)) = &model.description
            && texts.iter().any(|t| !case.description.contains(t.as_str()))
        {
            model.description_jira_only = true;
        }
        let on_case = self.sir_comment_texts();
        for c in &mut model.jira_comments {
            if c.excluded.is_none() && !on_case.iter().any(|b| b.contains(&c.token)) {
                c.excluded = Some("not yet on the case when it was closed");
            }
            if c.edit_checked && !on_case.iter().any(|b| b.contains(&c.text)) {
                c.edit_checked = false;
            }
        }
    }

    /// Performs one person action; returns what happened, for the trace.
    fn act(&mut self, a: &Action, model: &mut Model) -> String {
        let key = self.key.clone();
        let case = self.case_id.clone();
        let human = self.jira.as_human();
        let analyst = self.sir.analyst();
        let jira_final = self.jira_status() == "Done";
        let sir_final = self.sir_status() == SirStatus::Closed;
        match a {
            Action::JiraSummary(s) => match human.edit_summary(&key, s) {
                Ok(_) => {
                    model.title = Some(s.clone());
                    model.title_jira_only = model.closed;
                    "ok".into()
                }
                Err(e) => format!("refused: {e:?}"),
            },
            Action::JiraFirstParagraph(t) => match human.edit_first_paragraph(&key, t) {
                Ok(_) => {
                    model.description = Some(DescriptionEdit::Texts(vec![t.clone()]));
                    model.description_jira_only = model.closed;
                    model.description_chars += t.len() + 2;
                    "ok".into()
                }
                Err(e) => format!("refused: {e:?}"),
            },
            Action::JiraFormatted(i) => {
                let Some(mut doc) = self
                    .jira
                    .issue(&key)
                    .and_then(|i| i.description.map(|d| d.to_adf()))
                else {
                    return "skipped: no description".into();
                };
                let tok = format!("fm{i}q");
                let blocks = doc["content"].as_array_mut().unwrap();
                let first = blocks.iter().position(|b| b["type"] == "paragraph");
                let mine = vec![
                    json!({"type": "paragraph", "content": [
                        {"type": "text", "text": format!("note {tok} with ")},
                        {"type": "text", "text": "bold", "marks": [{"type": "strong"}]},
                        {"type": "text", "text": " word"},
                    ]}),
                    json!({"type": "heading", "attrs": {"level": 3}, "content": [
                        {"type": "text", "text": format!("Timeline {tok}")},
                    ]}),
                    json!({"type": "paragraph", "content": [
                        {"type": "text", "text": format!("first seen {tok} at noon")},
                    ]}),
                ];
                match first {
                    Some(p) => {
                        blocks.splice(p..=p, mine);
                    }
                    None => {
                        blocks.splice(0..0, mine);
                    }
                }
                match human.edit_description_adf(&key, doc) {
                    Ok(_) => {
                        let texts = vec![
                            format!("note {tok} with bold word"),
                            format!("Timeline {tok}"),
                            format!("first seen {tok} at noon"),
                        ];
                        model.description_chars += texts.iter().map(|t| t.len() + 2).sum::<usize>();
                        model.description = Some(DescriptionEdit::Texts(texts));
                        model.description_jira_only = model.closed;
                        model
                            .formatted
                            .push(("*bold*".to_owned(), format!("h3. Timeline {tok}")));
                        "ok".into()
                    }
                    Err(e) => format!("refused: {e:?}"),
                }
            }
            Action::JiraEditDetails(tok) => {
                let Some(mut doc) = self
                    .jira
                    .issue(&key)
                    .and_then(|i| i.description.map(|d| d.to_adf()))
                else {
                    return "skipped: no description".into();
                };
                let blocks = doc["content"].as_array_mut().unwrap();
                let Some(h) = blocks.iter().position(|b| {
                    b["type"] == "heading" && b.to_string().contains(DETAILS_HEADING)
                }) else {
                    return "skipped: no details section".into();
                };
                // The person appends a line inside the section (after its heading).
                blocks.insert(
                    h + 1,
                    json!({"type": "paragraph", "content": [
                        {"type": "text", "text": format!("person typed {tok} here")},
                    ]}),
                );
                match human.edit_description_adf(&key, doc) {
                    Ok(_) => {
                        model.details_tokens.push(tok.clone());
                        "ok".into()
                    }
                    Err(e) => format!("refused: {e:?}"),
                }
            }
            Action::JiraComment(text) => match human.add_comment(&key, text) {
                Ok(c) => {
                    let token = text.rsplit(' ').next().unwrap().to_owned();
                    model.jira_comments.push(PersonComment {
                        id: c.id,
                        token,
                        text: text.clone(),
                        excluded: model.closed.then_some("added after a close"),
                        edit_checked: !model.closed,
                    });
                    "ok".into()
                }
                Err(e) => format!("refused: {e:?}"),
            },
            Action::JiraEditComment(n, suffix) => {
                if model.jira_comments.is_empty() {
                    return "skipped: no comment yet".into();
                }
                let i = n % model.jira_comments.len();
                let c = &model.jira_comments[i];
                let text = format!("{} {}", c.text, suffix);
                match human.edit_comment(&key, &c.id, &text) {
                    Ok(_) => {
                        let closed = model.closed;
                        let c = &mut model.jira_comments[i];
                        c.text = text;
                        if closed {
                            c.edit_checked = false;
                        }
                        format!("edited {}", c.token)
                    }
                    Err(e) => format!("refused: {e:?}"),
                }
            }
            Action::JiraMove(to) => {
                if jira_final || sir_final {
                    return "skipped: the issue or the case is already done".into();
                }
                match human.move_to(&key, to) {
                    Ok(path) if path.is_empty() => "no change".into(),
                    Ok(path) => {
                        self.mark(model, Side::Jira, (*to).to_owned());
                        if *to == "Done" {
                            self.closing(model);
                        }
                        format!("ok via transitions {path:?}")
                    }
                    Err(e) => format!("refused: {e:?}"),
                }
            }
            Action::SirTitle(t) => match analyst.set_title(&case, t) {
                Ok(()) => {
                    model.title = Some(t.clone());
                    model.title_jira_only = false;
                    "ok".into()
                }
                Err(e) => format!("refused: {}", e.message()),
            },
            Action::SirDescription(d) => match analyst.set_description(&case, d) {
                Ok(()) => {
                    model.description = Some(DescriptionEdit::Texts(
                        d.split("\n\n").map(str::to_owned).collect(),
                    ));
                    model.description_max = model.description_max.max(d.len());
                    model.description_jira_only = false;
                    "ok".into()
                }
                Err(e) => format!("refused: {}", e.message()),
            },
            Action::SirStatus(s) => {
                if jira_final || sir_final {
                    return "skipped: the issue or the case is already done".into();
                }
                match analyst.update_status(&case, *s) {
                    Ok(_) => {
                        self.mark(model, Side::Sir, s.as_str().to_owned());
                        "ok".into()
                    }
                    Err(e) => format!("refused: {}", e.message()),
                }
            }
            Action::SirClose => {
                if jira_final || sir_final {
                    return "skipped: the issue or the case is already done".into();
                }
                match analyst.close(&case, ClosureCode::InvestigationCompleted) {
                    Ok(_) => {
                        self.mark(model, Side::Sir, SirStatus::Closed.as_str().to_owned());
                        self.closing(model);
                        "ok".into()
                    }
                    Err(e) => format!("refused: {}", e.message()),
                }
            }
            Action::SirComment(text) => match analyst.add_comment(&case, text) {
                Ok(id) => {
                    let token = text.rsplit(' ').next().unwrap().to_owned();
                    model.sir_comments.push(PersonComment {
                        id,
                        token,
                        text: text.clone(),
                        excluded: None,
                        edit_checked: true,
                    });
                    "ok".into()
                }
                Err(e) => format!("refused: {}", e.message()),
            },
            Action::SirEditComment(n, suffix) => {
                if model.sir_comments.is_empty() {
                    return "skipped: no comment yet".into();
                }
                let i = n % model.sir_comments.len();
                let c = &model.sir_comments[i];
                let text = format!("{} {}", c.text, suffix);
                match analyst.edit_comment(&case, &c.id, &text) {
                    Ok(()) => {
                        let c = &mut model.sir_comments[i];
                        c.text = text;
                        format!("edited {}", c.token)
                    }
                    Err(e) => format!("refused: {}", e.message()),
                }
            }
        }
    }
}

fn short(error: &str) -> String {
    error.chars().take(160).collect()
}

fn jira_actor(event: &Event, own: &str, human: &str) -> &'static str {
    let actor = match event {
        Event::JiraIssueCreated(e) | Event::JiraIssueUpdated(e) | Event::JiraIssueDeleted(e) => {
            e.actor.as_ref()
        }
        Event::JiraCommentCreated(e)
        | Event::JiraCommentUpdated(e)
        | Event::JiraCommentDeleted(e) => e.actor.as_ref().or(e.comment.update_author.as_ref()),
        _ => None,
    };
    let ids: Vec<&str> = actor
        .map(|a| {
            [a.account_id.as_deref(), a.name.as_deref()]
                .into_iter()
                .flatten()
                .collect()
        })
        .unwrap_or_default();
    if ids.iter().any(|i| *i == own || *i == "sir-bridge") {
        "bridge"
    } else if ids.iter().any(|i| *i == human || *i == "dana") {
        "person"
    } else {
        "?"
    }
}

/// `(from, to, by the integration)` of every status change of the case, oldest first.
fn sir_status_history(sir: &EmulatorHandle, case_id: &str) -> Vec<(String, String, bool)> {
    let case = sir.case(case_id).unwrap();
    let mut out = Vec::new();
    for e in &case.edits {
        let by_us = e.principal.access_key_id == INTEGRATION_ACCESS_KEY_ID;
        if let Some(rest) = e.message.strip_prefix("Case status changed from ") {
            if let Some((from, to)) = rest.split_once(" to ") {
                out.push((from.to_owned(), to.to_owned(), by_us));
            }
        } else if let Some(rest) = e.message.strip_prefix("Case closed from ") {
            let from = rest.split(" with closure code").next().unwrap_or(rest);
            out.push((from.to_owned(), "Closed".to_owned(), by_us));
        }
    }
    out
}

fn jira_rank(status: &str) -> usize {
    match status {
        "To Do" => 0,
        "In Progress" => 1,
        "In Review" => 2,
        "Done" => 3,
        _ => 0,
    }
}

fn sir_rank(status: &str) -> usize {
    match SirStatus::from_wire(status) {
        Some(SirStatus::Submitted) => 0,
        Some(SirStatus::Acknowledged) => 1,
        Some(SirStatus::DetectionAndAnalysis) => 2,
        Some(SirStatus::ContainmentEradicationAndRecovery) => 3,
        Some(SirStatus::PostIncidentActivities) => 4,
        Some(SirStatus::ReadyToClose) => 5,
        Some(SirStatus::Closed) => 6,
        None => 0,
    }
}

/// The Jira status the default mapping shows a SIR status as.
fn shown_as(mappings: &Mappings, sir_status: &str) -> Option<String> {
    let s = sir_jira_bridge::sir::CaseStatus::parse(sir_status)?;
    mappings.status.get(&s).cloned()
}

/// The SIR status the default mapping takes a Jira status to (`Closed` for a close).
fn target_of(mappings: &Mappings, jira_status: &str) -> Option<String> {
    use sir_jira_bridge::sync::issue_to_case::StatusTarget;
    match mappings.issue_to_case.target_for(jira_status, None)? {
        StatusTarget::Status(s) => Some(s.as_str().to_owned()),
        StatusTarget::Close => Some("Closed".to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

struct Violations {
    ignore: HashSet<String>,
    found: BTreeMap<&'static str, Vec<String>>,
}

impl Violations {
    fn check(&mut self, name: &'static str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok && !self.ignore.contains(name) {
            self.found.entry(name).or_default().push(detail());
        }
    }
}

/// Markup that must never reach the case's description: Jira wiki, a person's formatting
/// written as wiki, ADF JSON.
fn markup_in(text: &str) -> Option<String> {
    for line in text.lines() {
        let l = line.trim_start();
        let b = l.as_bytes();
        if b.len() > 3
            && b[0] == b'h'
            && (b'1'..=b'6').contains(&b[1])
            && b[2] == b'.'
            && b[3] == b' '
        {
            return Some(format!("wiki heading `{line}`"));
        }
        if l.starts_with("----") {
            return Some(format!("wiki rule `{line}`"));
        }
        if l.starts_with("* ") || l.starts_with("# ") || l.starts_with("||") {
            return Some(format!("wiki list or table `{line}`"));
        }
    }
    for needle in [
        "*bold*",
        "{\"type\"",
        "\"content\":",
        "{code",
        "{quote",
        "{noformat",
    ] {
        if text.contains(needle) {
            return Some(format!("`{needle}`"));
        }
    }
    // A wiki link: `[text|url]`.
    if let Some(start) = text.find('[')
        && let Some(end) = text[start..].find(']')
        && text[start..start + end].contains('|')
    {
        return Some(format!("wiki link `{}`", &text[start..=start + end]));
    }
    None
}

fn check_state(w: &World, model: &Model, v: &mut Violations) {
    let mappings = Mappings::default();
    // Exactly one issue per case.
    let issues = w.jira.issues();
    let labelled = w
        .jira
        .issues_with_label(&format!("aws-sir-{}", w.case_id))
        .len();
    v.check(
        "one-issue-per-case",
        issues.len() == 1 && labelled == 1,
        || {
            format!(
                "{} issues in Jira ({} with the case's label): {:?}",
                issues.len(),
                labelled,
                issues.iter().map(|i| &i.key).collect::<Vec<_>>()
            )
        },
    );
    let case = w.sir.case(&w.case_id).unwrap();
    let issue = w.jira.issue(&w.key).unwrap();
    let jira_desc = issue
        .description
        .as_ref()
        .map(rich_text)
        .unwrap_or_default();

    // The details section: at most once in Jira, never in the case.
    let copies = count(&jira_desc, DETAILS_HEADING);
    v.check("details-section-at-most-once-in-jira", copies <= 1, || {
        format!(
            "{copies} copies in the Jira description ({} chars)",
            jira_desc.len()
        )
    });
    v.check(
        "no-details-section-in-case",
        !case.description.contains(DETAILS_HEADING)
            && !case.description.contains("Kept in step with the case"),
        || {
            format!(
                "case description ({} chars): {:?}",
                case.description.len(),
                short(&case.description)
            )
        },
    );
    // What a person typed inside the service's part never reaches the case, and the next case →
    // issue sync restores the section.
    for tok in &model.details_tokens {
        v.check(
            "service-part-never-reaches-case",
            !case.description.contains(tok.as_str()),
            || format!("`{tok}` typed in the details section is in the case description"),
        );
        v.check(
            "service-part-restored-in-jira",
            !jira_desc.contains(tok.as_str()),
            || format!("`{tok}` typed in the details section is still in the Jira description"),
        );
    }
    // Plain text only in the case.
    if let Some(m) = markup_in(&case.description) {
        v.check("case-description-plain", false, || {
            format!(
                "{m} in the case description: {:?}",
                short(&case.description)
            )
        });
    }
    for (bold, heading) in &model.formatted {
        v.check(
            "person-formatting-not-literal",
            !case.description.contains(bold.as_str())
                && !case.description.contains(heading.as_str())
                && !jira_desc.contains(heading.as_str()),
            || {
                format!(
                    "`{bold}` / `{heading}` as literal text; case: {:?}; jira: {:?}",
                    short(&case.description),
                    short(&jira_desc)
                )
            },
        );
    }
    // No text grew without a person's action.
    let bound =
        model.initial_description.len().max(model.description_max) + model.description_chars + 64;
    v.check(
        "no-description-growth-in-case",
        case.description.len() <= bound,
        || {
            format!(
                "case description is {} chars; people wrote at most {bound}",
                case.description.len()
            )
        },
    );
    let person_part = jira_desc.split(DETAILS_HEADING).next().unwrap_or("");
    v.check("no-description-growth-in-jira", person_part.len() <= bound + 64, || {
        format!(
            "the Jira description outside the details section is {} chars; people wrote at most {bound}",
            person_part.len()
        )
    });

    // The later title and description win, on both sides.
    if let Some(title) = &model.title {
        v.check(
            "latest-title-wins",
            (model.title_jira_only || case.title == *title) && issue.summary == *title,
            || {
                format!(
                    "latest person title {title:?}; case {:?}, issue {:?}",
                    case.title, issue.summary
                )
            },
        );
    } else {
        v.check("title-agrees", case.title == issue.summary, || {
            format!("case {:?}, issue {:?}", case.title, issue.summary)
        });
    }
    if let Some(DescriptionEdit::Texts(texts)) = &model.description {
        for t in texts {
            v.check(
                "latest-description-wins",
                (model.description_jira_only || case.description.contains(t.as_str()))
                    // Data Center keeps a person's formatting as wiki markup (`*bold*`): their
                    // words, not the markup, must be there.
                    && plain_words(&jira_desc).contains(&plain_words(t)),
                || {
                    format!(
                        "latest person text {t:?} missing; case: {:?}; jira: {:?}",
                        short(&case.description),
                        short(&jira_desc)
                    )
                },
            );
        }
    }

    // Comments: each person's comment exactly once on the other side, never echoed back.
    let sir_bodies = w.sir_comment_texts();
    let jira_bodies: Vec<String> = w
        .jira
        .comments(&w.key)
        .iter()
        .map(|c| rich_text(&c.body))
        .collect();
    let copies_in = |bodies: &[String], tok: &str| {
        bodies
            .iter()
            .filter(|b| b.split(|c: char| !c.is_alphanumeric()).any(|t| t == tok))
            .count()
    };
    for c in &model.jira_comments {
        v.check(
            "person-comment-once-on-own-side",
            copies_in(&jira_bodies, &c.token) == 1,
            || {
                format!(
                    "Jira comment `{}` appears {} times in Jira",
                    c.token,
                    copies_in(&jira_bodies, &c.token)
                )
            },
        );
        if c.excluded.is_some() {
            continue;
        }
        let n = copies_in(&sir_bodies, &c.token);
        v.check("jira-comment-once-on-case", n == 1, || {
            format!("Jira comment `{}` appears {n} times on the case", c.token)
        });
        if n == 1 && c.edit_checked {
            v.check(
                "comment-edits-follow",
                sir_bodies.iter().any(|b| b.contains(c.text.as_str())),
                || {
                    let copy = sir_bodies.iter().find(|b| b.contains(c.token.as_str()));
                    format!(
                        "the case's copy of `{}` reads {copy:?}, not {:?}",
                        c.token, c.text
                    )
                },
            );
        }
    }
    for c in &model.sir_comments {
        v.check(
            "person-comment-once-on-own-side",
            copies_in(&sir_bodies, &c.token) == 1,
            || {
                format!(
                    "SIR comment `{}` appears {} times on the case",
                    c.token,
                    copies_in(&sir_bodies, &c.token)
                )
            },
        );
        let n = copies_in(&jira_bodies, &c.token);
        v.check("sir-comment-once-on-issue", n == 1, || {
            format!("SIR comment `{}` appears {n} times in Jira", c.token)
        });
        if n == 1 && c.edit_checked {
            v.check(
                "comment-edits-follow",
                jira_bodies.iter().any(|b| b.contains(c.text.as_str())),
                || {
                    let copy = jira_bodies.iter().find(|b| b.contains(c.token.as_str()));
                    format!(
                        "the issue's copy of `{}` reads {copy:?}, not {:?}",
                        c.token, c.text
                    )
                },
            );
        }
    }

    // Statuses: agree by the mapping; the latest person's change wins.
    let jira_status = w.jira_status();
    let sir_status = case.case_status.as_str().to_owned();
    v.check(
        "statuses-agree",
        shown_as(&mappings, &sir_status).as_deref() == Some(jira_status.as_str()),
        || {
            format!(
                "case {sir_status:?} shows as {:?}, issue is {jira_status:?}",
                shown_as(&mappings, &sir_status)
            )
        },
    );
    let (want_jira, want_sir): (String, Vec<String>) = match model.statuses.last() {
        None => ("To Do".into(), vec!["Submitted".into()]),
        Some(m) if m.side == Side::Jira => {
            // Any SIR status that shows as the person's Jira status satisfies it.
            let sirs = SirStatus::ALL
                .iter()
                .map(|s| s.as_str().to_owned())
                .filter(|s| shown_as(&mappings, s).as_deref() == Some(m.status.as_str()))
                .collect();
            (m.status.clone(), sirs)
        }
        Some(m) => (
            shown_as(&mappings, &m.status).unwrap_or_default(),
            vec![m.status.clone()],
        ),
    };
    v.check(
        "latest-status-wins",
        jira_status == want_jira && want_sir.contains(&sir_status),
        || {
            format!(
                "latest person status change {:?}; issue {jira_status:?} (want {want_jira:?}), case {sir_status:?} (want one of {want_sir:?})",
                model.statuses.last().map(|m| (m.side, &m.status))
            )
        },
    );

    // No status moved backwards by the integration unless a person's later change on the
    // other side asked for it.
    let latest_before = |jira_i: Option<usize>, sir_i: Option<usize>| {
        model.statuses.iter().rev().find(|m| match (jira_i, sir_i) {
            (Some(i), _) => m.jira_len <= i,
            (_, Some(i)) => m.sir_len <= i,
            _ => false,
        })
    };
    for (i, change) in w.jira.status_history(&w.key).iter().enumerate() {
        if change.author != w.own_jira || jira_rank(&change.to) >= jira_rank(&change.from) {
            continue;
        }
        let p = latest_before(Some(i), None);
        let justified = p.is_some_and(|p| {
            p.side == Side::Sir
                && shown_as(&mappings, &p.status)
                    .is_some_and(|s| jira_rank(&s) <= jira_rank(&change.to))
        });
        v.check("no-backward-status-from-older-read", justified, || {
            format!(
                "the bridge moved the issue {} → {}; the latest person status change before it: {:?}",
                change.from,
                change.to,
                p.map(|p| (p.side, &p.status))
            )
        });
    }
    for (i, (from, to, by_us)) in w.sir_history().iter().enumerate() {
        if !by_us || sir_rank(to) >= sir_rank(from) {
            continue;
        }
        let p = latest_before(None, Some(i));
        let justified = p.is_some_and(|p| {
            p.side == Side::Jira
                && target_of(&mappings, &p.status).is_some_and(|s| sir_rank(&s) <= sir_rank(to))
        });
        v.check("no-backward-status-from-older-read", justified, || {
            format!(
                "the bridge moved the case {from} → {to}; the latest person status change before it: {:?}",
                p.map(|p| (p.side, &p.status))
            )
        });
    }

    // Never write a value the target already holds: every field edit the integration made in
    // Jira changed something.
    let edits = w
        .jira
        .requests()
        .writes()
        .into_iter()
        .filter(|r| {
            r.method == "PUT"
                && r.account.as_deref() == Some(w.own_jira.as_str())
                && (200..300).contains(&r.status)
                && r.path.rsplit('/').next() == Some(w.key.as_str())
        })
        .count();
    let changed = issue
        .changelog
        .iter()
        .filter(|g| {
            g.author == w.own_jira
                && g.items
                    .iter()
                    .any(|i| !matches!(i.field.as_str(), "status" | "resolution" | "Attachment"))
        })
        .count();
    v.check("no-useless-jira-edit", edits <= changed, || {
        format!("{edits} successful issue edits by the bridge, {changed} of them changed anything")
    });
}

// ---------------------------------------------------------------------------------------------
// One scenario

struct Outcome {
    seed: u64,
    flavour: Flavour,
    actions: Vec<Action>,
    trace: Vec<String>,
    violations: BTreeMap<&'static str, Vec<String>>,
    handled: usize,
}

async fn run_scenario(seed: u64, ignore: &HashSet<String>) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed);
    let flavour = if rng.random_bool(0.5) {
        Flavour::Cloud
    } else {
        Flavour::DataCenter
    };
    let actions = generate(&mut rng);
    let mut w = World::start(flavour).await;
    let mut v = Violations {
        ignore: ignore.clone(),
        found: BTreeMap::new(),
    };
    let mut model = Model::default();

    // The case, and its issue made by the first sync (no faults yet).
    let description = format!(
        "Initial text {}.\n\nSecond paragraph {}.",
        words(&mut rng, 3),
        words(&mut rng, 2)
    );
    model.initial_description = description.clone();
    w.case_id = w.sir.analyst().create_case(NewCase {
        title: format!("Incident {}", words(&mut rng, 2)),
        description,
        impacted_services: vec!["Amazon EC2".into()],
        impacted_aws_regions: vec!["us-east-1".into()],
        ..NewCase::default()
    });
    w.note(format!("case {} created by the analyst", w.case_id));
    w.collect().await;
    let created = w.drain(&mut rng).await;
    match w.store.mapping_by_case(&w.case_id).await.ok().flatten() {
        Some(m) if created => w.key = m.issue_key,
        _ => {
            v.check("one-issue-per-case", false, || {
                "the first sync made no issue".into()
            });
            return Outcome {
                seed,
                flavour,
                actions,
                trace: w.trace,
                violations: v.found,
                handled: w.handled,
            };
        }
    }
    w.note(format!("issue {} made", w.key));

    for (n, a) in actions.iter().enumerate() {
        w.faults(&mut rng);
        let result = w.act(a, &mut model);
        w.note(format!("{n}. {a:?} → {result}"));
        w.collect().await;
        for _ in 0..rng.random_range(0..=3) {
            w.step(&mut rng).await;
        }
    }

    // Quiescence: faults off, pool drained, then a full sync both ways.
    w.faults_off();
    w.note("faults off; drain".into());
    let mut quiet = w.drain(&mut rng).await;
    w.note("full sync round".into());
    w.full_sync();
    quiet &= w.drain(&mut rng).await;
    v.check("quiesces", quiet, || {
        format!(
            "{} events still pending after {DRAIN_LIMIT} handler calls (an echo loop?)",
            w.pool.len()
        )
    });
    v.check("no-dead-letters", w.dead.is_empty(), || {
        w.dead.join("\n      ")
    });
    check_state(&w, &model, &mut v);

    // A further quiet period writes nothing on either side.
    w.jira.requests().reset();
    w.sir.reset_log();
    w.note("quiet full sync round".into());
    w.full_sync();
    w.drain(&mut rng).await;
    let jira_writes: Vec<String> = w
        .jira
        .requests()
        .writes()
        .iter()
        .filter(|r| r.account.as_deref() == Some(w.own_jira.as_str()))
        .map(|r| r.line())
        .collect();
    let sir_writes: Vec<String> = w
        .sir
        .log()
        .writes()
        .iter()
        .filter(|r| r.access_key_id() == Some(INTEGRATION_ACCESS_KEY_ID))
        .map(|r| format!("{} {}", r.operation.name(), r.status))
        .collect();
    v.check(
        "quiet-round-writes-nothing",
        jira_writes.is_empty() && sir_writes.is_empty(),
        || format!("Jira: {jira_writes:?}; SIR: {sir_writes:?}"),
    );

    Outcome {
        seed,
        flavour,
        actions,
        trace: w.trace,
        violations: v.found,
        handled: w.handled,
    }
}

fn report(o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "seed {:#x} ({:?}); replay with SIR_JIRA_MODEL_SEED={:#x}",
        o.seed, o.flavour, o.seed
    );
    let _ = writeln!(s, "  actions:");
    for (i, a) in o.actions.iter().enumerate() {
        let _ = writeln!(s, "    {i}. {a:?}");
    }
    let _ = writeln!(s, "  trace:");
    for line in &o.trace {
        let _ = writeln!(s, "    {line}");
    }
    let _ = writeln!(s, "  violated:");
    for (name, details) in &o.violations {
        for d in details {
            let _ = writeln!(s, "    {name}: {d}");
        }
    }
    s
}

fn run_on_thread(seeds: Vec<u64>, ignore: HashSet<String>) -> Vec<Outcome> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut out = Vec::new();
        for seed in seeds {
            out.push(run_scenario(seed, &ignore).await);
        }
        out
    })
}

#[test]
fn model_two_way_sync_survives_interleaved_people_faults_and_reordering() {
    let settings = Settings::from_env();
    let seeds: Vec<u64> = match settings.seed {
        Some(seed) => vec![seed],
        None => (0..settings.cases).map(scenario_seed).collect(),
    };
    let started = Instant::now();
    let threads = settings.threads.min(seeds.len()).max(1);
    let mut handles = Vec::new();
    for t in 0..threads {
        let mine: Vec<u64> = seeds.iter().copied().skip(t).step_by(threads).collect();
        let ignore = settings.ignore.clone();
        handles.push(std::thread::spawn(move || run_on_thread(mine, ignore)));
    }
    let mut outcomes: Vec<Outcome> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("a scenario thread panicked"))
        .collect();
    outcomes.sort_by_key(|o| seeds.iter().position(|s| *s == o.seed));
    let handled: usize = outcomes.iter().map(|o| o.handled).sum();
    eprintln!(
        "model: {} scenarios, {handled} handler calls, {:.1?}",
        outcomes.len(),
        started.elapsed()
    );
    let failing: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !o.violations.is_empty())
        .collect();
    if failing.is_empty() {
        return;
    }
    let mut by_invariant: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for o in &failing {
        for name in o.violations.keys() {
            by_invariant.entry(name).or_default().push(o.seed);
        }
    }
    let mut msg = format!(
        "{} of {} scenarios violate invariants:\n",
        failing.len(),
        outcomes.len()
    );
    for (name, seeds) in &by_invariant {
        let shown: Vec<String> = seeds.iter().take(5).map(|s| format!("{s:#x}")).collect();
        let _ = writeln!(
            msg,
            "  {name}: {} scenarios, e.g. {}",
            seeds.len(),
            shown.join(" ")
        );
    }
    let _ = writeln!(msg, "\nfirst failing scenario:\n{}", report(failing[0]));
    panic!("{msg}");
}
