//! The embedded SQLite file shared by the queue and the state store.
//!
//! All writes go through one thread that commits them in batches: every job that arrives while
//! a commit is in progress joins the next transaction, so N concurrent webhooks cost one fsync,
//! not N. Each job runs in its own savepoint, so one job's failure never undoes another's.
//! A job's result is released to its caller only after the batch is durably committed.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

/// Most jobs committed together; bounds the latency one commit adds to the first job.
const MAX_BATCH: usize = 512;

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

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs on the writer thread; `None` when no transaction could be begun (the job must fail).
type Job = Box<dyn FnOnce(Option<&Connection>) -> Reply + Send>;

/// Cheap to clone; the writer thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Open {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        }
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

        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        reader
            .execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(open_err)?;

        let (tx, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx))
            .map_err(|e| DbError::Open {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Db {
            jobs: tx,
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// Runs `f` in a write transaction shared with concurrent jobs; returns once committed.
    pub async fn write<R, F>(&self, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<R, DbError>>();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => savepoint(conn, f),
                None => Err(DbError::Transaction("cannot begin a transaction".into())),
            };
            Box::new(move |commit: Result<(), String>| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(message) => Err(DbError::Transaction(format!("commit failed: {message}"))),
                };
                let _ = tx.send(outcome);
            })
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

fn writer_loop(conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut replies: Vec<Reply> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a transaction");
            first(None)(Err(e.to_string()));
            continue;
        }
        replies.push(first(Some(&conn)));
        while replies.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => replies.push(job(Some(&conn))),
                Err(_) => break,
            }
        }
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies.drain(..) {
            reply(commit.clone());
        }
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
}
