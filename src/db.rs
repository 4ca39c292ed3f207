//! The embedded SQLite file shared by the queue and the state store.
//!
//! All writes go through one thread that commits them in batches: every job that arrives while
//! a commit is in progress joins the next transaction, so N concurrent webhooks cost one fsync,
//! not N. Each job runs in its own savepoint, so one job's failure never undoes another's.
//! A job's result is released to its caller only after the batch is durably committed.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, mpsc as std_mpsc},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::data_dir::{create_private_dir, create_private_file};

/// Most jobs committed together; bounds the latency one commit adds to the first job.
const MAX_BATCH: usize = 512;
/// Least time between two checkpoints (each ends with an fsync of the database file).
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);
/// WAL size (pages) at which the writer checkpoints inline after all: only when the background
/// checkpointer could not let the log start over (it never caught up under sustained writes).
/// Most of the log is already copied by then, so the inline pass is short.
const BACKSTOP_FRAMES: u32 = 8000;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot open database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("the database writer has stopped")]
    Closed,
    #[error("transaction failed: {0}")]
    Transaction(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A write waiting for the writer thread. It may run twice: once unguarded in the batch's
/// transaction and, if a job of that batch failed, once more under its own savepoint after the
/// batch was rolled back.
trait WriteJob: Send {
    /// Runs the job's statements; false when it failed.
    fn run(&mut self, conn: &Connection, guarded: bool) -> bool;
    /// Answers the caller once the transaction's fate is known (`Err`: it was not committed).
    fn finish(self: Box<Self>, transaction: Result<(), String>);
}

type Job = Box<dyn WriteJob>;

struct Pending<R, F> {
    f: F,
    result: Option<Result<R, DbError>>,
    reply: oneshot::Sender<Result<R, DbError>>,
}

impl<R, F> WriteJob for Pending<R, F>
where
    R: Send,
    F: Fn(&Connection) -> Result<R, DbError> + Send,
{
    fn run(&mut self, conn: &Connection, guarded: bool) -> bool {
        let result = if guarded {
            savepoint(conn, &self.f)
        } else {
            (self.f)(conn)
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, transaction: Result<(), String>) {
        let outcome = match (transaction, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(message), _) => Err(DbError::Transaction(message)),
            (Ok(()), None) => Err(DbError::Transaction("the job did not run".into())),
        };
        let _ = self.reply.send(outcome);
    }
}

/// Cheap to clone; the writer thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| DbError::Open {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        }
        // The queue keeps raw deliveries: the file (and so its -wal and -shm) is the owner's.
        create_private_file(path).map_err(|e| DbError::Open {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let open_err = |e: rusqlite::Error| DbError::Open {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let writer = Connection::open(path).map_err(open_err)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA busy_timeout = 5000;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(open_err)?;
        migrate(&writer).map_err(open_err)?;
        writer
            .execute_batch(&format!("PRAGMA wal_autocheckpoint = {BACKSTOP_FRAMES};"))
            .map_err(open_err)?;

        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        reader
            .execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(open_err)?;

        let checkpointer = Connection::open(path).map_err(open_err)?;
        checkpointer
            .execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(open_err)?;

        let spawn_err = |e: std::io::Error| DbError::Open {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let (committed, commits) = std_mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, commits))
            .map_err(spawn_err)?;
        let (tx, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx, committed))
            .map_err(spawn_err)?;
        Ok(Db {
            jobs: tx,
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// Runs `f` in a write transaction shared with concurrent jobs; returns once committed.
    /// `f` may run twice (see [`commit_batch`]): it must not consume what it captured.
    pub async fn write<R, F>(&self, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: Fn(&Connection) -> Result<R, DbError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel::<Result<R, DbError>>();
        let job: Job = Box::new(Pending {
            f,
            result: None,
            reply,
        });
        self.jobs.send(job).await.map_err(|_| DbError::Closed)?;
        rx.await.map_err(|_| DbError::Closed)?
    }

    /// Runs `f` on the read-only connection (WAL: it never waits for the writer).
    pub async fn read<R, F>(&self, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|_| DbError::Closed)?
    }
}

fn savepoint<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<R, DbError>,
) -> Result<R, DbError> {
    conn.execute_batch("SAVEPOINT job")?;
    match f(conn) {
        Ok(r) => {
            conn.execute_batch("RELEASE job")?;
            Ok(r)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

fn writer_loop(
    conn: Connection,
    mut jobs: mpsc::Receiver<Job>,
    committed: std_mpsc::SyncSender<()>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        let transaction = commit_batch(&conn, first, &mut jobs, &mut batch);
        if let Err(e) = &transaction {
            tracing::error!(error = %e, jobs = batch.len(), "sqlite transaction failed");
        }
        for job in batch.drain(..) {
            job.finish(transaction.clone());
        }
        // Full means a pass is already due; it will include this commit.
        let _ = committed.try_send(());
    }
}

/// Runs `first` and every job that arrives meanwhile (up to [`MAX_BATCH`]) in one transaction
/// and commits it. Jobs run unguarded: a savepoint per job made SQLite copy every page the job
/// touched, a quarter of its cost (docs/benchmarks.md). When one fails, the transaction is
/// rolled back and the batch runs again with a savepoint per job, so that failure stays the
/// job's own and the others commit.
fn commit_batch(
    conn: &Connection,
    first: Job,
    jobs: &mut mpsc::Receiver<Job>,
    batch: &mut Vec<Job>,
) -> Result<(), String> {
    let begin = || {
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| format!("cannot begin a transaction: {e}"))
    };
    batch.push(first);
    begin()?;
    let mut failed = !batch[0].run(conn, false);
    while !failed && batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(mut job) => {
                failed = !job.run(conn, false);
                batch.push(job);
            }
            Err(_) => break,
        }
    }
    if failed {
        let _ = conn.execute_batch("ROLLBACK");
        begin()?;
        for job in batch.iter_mut() {
            job.run(conn, true);
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        format!("commit failed: {e}")
    })
}

/// Copies committed pages from the WAL into the database on its own connection, off the
/// writer thread: SQLite's automatic checkpoint runs inside the commit that crosses its
/// threshold, which stalled every request of that batch (a twentieth of the ingest path's
/// time, docs/benchmarks.md). A passive checkpoint never blocks the writer or the readers.
/// Ends when the writer thread does.
fn checkpoint_loop(conn: Connection, commits: std_mpsc::Receiver<()>) {
    while commits.recv().is_ok() {
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        if let Err(e) = result {
            tracing::warn!(error = %e, "sqlite checkpoint failed; the next commit retries");
        }
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
}

/// Schema changes, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE queue (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    raw          BLOB,
    state        TEXT NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_token  TEXT,
    last_error   TEXT,
    enqueued_at  INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX queue_due ON queue (available_at, seq) WHERE state IN ('ready', 'leased');
CREATE INDEX queue_finished ON queue (finished_at) WHERE state = 'done';

CREATE TABLE deliveries (
    key        TEXT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX deliveries_expiry ON deliveries (expires_at);

CREATE TABLE mappings (
    case_id    TEXT PRIMARY KEY,
    issue_key  TEXT NOT NULL UNIQUE,
    issue_id   TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE ledger (
    side       TEXT NOT NULL,
    entity     TEXT NOT NULL,
    state      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (side, entity)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE dead_letters (
    id         TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL,
    raw        BLOB,
    error      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    failed_at  INTEGER NOT NULL
);
CREATE INDEX dead_letters_failed ON dead_letters (failed_at, id);
"#,
    r#"
CREATE TABLE blobs (
    key        TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX blobs_expiry ON blobs (expires_at);
"#,
    r#"
CREATE TABLE links (
    kind       TEXT NOT NULL,
    grp        TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, grp, key)
) WITHOUT ROWID;
"#,
    // Per-subject order: an event waits while an older one about the same issue or case is
    // unfinished (see `EmbeddedQueue::receive`).
    r#"
ALTER TABLE queue ADD COLUMN subject TEXT;
CREATE INDEX queue_subject ON queue (subject, seq) WHERE state IN ('ready', 'leased');
"#,
    // The ingest path's row costs (docs/benchmarks.md): `AUTOINCREMENT` wrote `sqlite_sequence`
    // with every insert, and of the three partial indexes a receive now needs one, the
    // unfinished events in queue order (`bus::embedded::due_events`). A plain rowid may reuse
    // the number of the newest row after it was purged; nothing keeps a number past its row.
    r#"
CREATE TABLE queue_v5 (
    seq          INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    raw          BLOB,
    state        TEXT NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_token  TEXT,
    last_error   TEXT,
    enqueued_at  INTEGER NOT NULL,
    finished_at  INTEGER,
    subject      TEXT
);
INSERT INTO queue_v5 (seq, event_id, event_type, payload, raw, state, attempts, available_at,
    lease_token, last_error, enqueued_at, finished_at, subject)
  SELECT seq, event_id, event_type, payload, raw, state, attempts, available_at, lease_token,
    last_error, enqueued_at, finished_at, subject FROM queue;
DROP TABLE queue;
ALTER TABLE queue_v5 RENAME TO queue;
CREATE INDEX queue_pending ON queue (seq) WHERE state IN ('ready', 'leased');
CREATE INDEX queue_finished ON queue (finished_at) WHERE state = 'done';
"#,
];

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(())
}

/// Milliseconds since the epoch: the unit of every timestamp in the file.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_writes_commit_and_failures_stay_isolated() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite3")).unwrap();
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |c| {
                    c.execute(
                        "INSERT INTO checkpoints (name, value, updated_at) VALUES (?1, 'v', 0)",
                        [format!("k{}", i % 150)],
                    )?;
                    Ok(())
                })
                .await
            }));
        }
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        // 50 duplicate names fail on the primary key; the other 150 rows all land.
        assert_eq!(failed, 50);
        let n: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM checkpoints", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 150);
    }

    /// Jobs run unguarded until one fails; then the batch runs again with a savepoint each. The
    /// failed job's own writes must not survive either pass, and its batch-mates must commit.
    #[tokio::test]
    async fn a_failed_job_rolls_back_alone_within_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite3")).unwrap();
        let insert = |c: &Connection, name: &str| -> Result<(), DbError> {
            c.execute(
                "INSERT INTO checkpoints (name, value, updated_at) VALUES (?1, 'v', 0)",
                [name],
            )?;
            Ok(())
        };
        // Holds the writer so that the jobs below queue up and share its batch.
        let slow = tokio::spawn({
            let db = db.clone();
            async move {
                db.write(move |c| {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    insert(c, "slow")
                })
                .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let a = db.write(move |c| insert(c, "a"));
        let failing = db.write(move |c| {
            insert(c, "partial")?;
            Err::<(), _>(DbError::Corrupt("boom".into()))
        });
        let b = db.write(move |c| insert(c, "b"));
        let (a, failing, b) = tokio::join!(a, failing, b);
        slow.await.unwrap().unwrap();
        a.unwrap();
        b.unwrap();
        assert!(matches!(failing, Err(DbError::Corrupt(_))), "{failing:?}");
        let names: Vec<String> = db
            .read(|c| {
                let mut stmt = c.prepare("SELECT name FROM checkpoints ORDER BY name")?;
                let names = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(names)
            })
            .await
            .unwrap();
        assert_eq!(names, ["a", "b", "slow"]);
    }

    /// Committed pages reach the database file through the checkpoint thread, long before the
    /// writer's own inline checkpoint (8,000 WAL pages) would run.
    #[tokio::test]
    async fn commits_are_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let db = Db::open(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        for i in 0..100i64 {
            db.write(move |c| {
                c.execute(
                    "INSERT INTO blobs (key, data, expires_at) VALUES (?1, zeroblob(4096), 0)",
                    [format!("k{i}")],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut size = before;
        while size < before + 300 * 1024 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            size = std::fs::metadata(&path).unwrap().len();
        }
        assert!(
            size >= before + 300 * 1024,
            "database file {before} -> {size} bytes: the WAL was not checkpointed"
        );
    }
}
