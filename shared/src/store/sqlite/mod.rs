//! The embedded adapter: one SQLite file, used for zero-setup local runs and tests.
//! Listings order by the same sort keys as the DynamoDB indexes, so both stores page alike.

use std::path::Path;
use std::sync::{Arc, Mutex};

mod accounts;
mod audit;
mod jobs;
mod leads;
mod limits;
mod metrics;
mod posts;
pub mod queue;
mod sessions;
mod users;

use rusqlite::Connection;

use super::StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    session_generation INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER,
    name_key TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    verify_sent_at INTEGER,
    reset_token TEXT,
    reset_sent_at INTEGER,
    pending_email_token TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS users_active_email ON users(email) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS users_active_name ON users(name_key) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at INTEGER,
    successor_hash TEXT,
    successor_kid TEXT
);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY,
    author_id TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL,
    tags TEXT NOT NULL,
    published_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    author_deleted INTEGER NOT NULL DEFAULT 0,
    feed_key TEXT NOT NULL,
    author_key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_feed ON posts(status, feed_key);
CREATE INDEX IF NOT EXISTS posts_author ON posts(author_id, author_key);
CREATE TABLE IF NOT EXISTS post_tags (
    post_id TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (tag, post_id)
);
CREATE TABLE IF NOT EXISTS account_tokens (
    hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    generation INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leads (
    id TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    source TEXT NOT NULL,
    name TEXT,
    message TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    list_key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS leads_newest ON leads(list_key);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_age ON outbox(created_at);
CREATE TABLE IF NOT EXISTS outbox_dead (
    id TEXT PRIMARY KEY,
    raw TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    dead_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS job_records (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queued_jobs (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL,
    dead_at INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS queued_jobs_ready ON queued_jobs(queue, visible_at) WHERE dead_at IS NULL;
CREATE TABLE IF NOT EXISTS limit_counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS limit_counters_expiry ON limit_counters(expires_at);
CREATE TABLE IF NOT EXISTS login_locks (
    account TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    lockouts INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_events (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actor TEXT,
    target TEXT,
    source_ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    detail TEXT,
    sort_key TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_newest ON audit_events(sort_key);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events(actor, sort_key);
CREATE INDEX IF NOT EXISTS audit_by_target ON audit_events(target, sort_key);
CREATE INDEX IF NOT EXISTS audit_expiry ON audit_events(expires_at);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT NOT NULL,
    bucket TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (name, bucket)
);
CREATE TABLE IF NOT EXISTS active_markers (
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (day, user_id)
);
CREATE TABLE IF NOT EXISTS snapshots (
    bucket INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    taken_at INTEGER NOT NULL DEFAULT 0
);
";

/// Columns added since the first release, for data files made before them.
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("users", "session_generation INTEGER NOT NULL DEFAULT 0"),
    ("users", "email_verified INTEGER NOT NULL DEFAULT 0"),
    ("users", "verify_sent_at INTEGER"),
    ("users", "reset_token TEXT"),
    ("users", "pending_email_token TEXT"),
    ("users", "reset_sent_at INTEGER"),
    ("sessions", "generation INTEGER NOT NULL DEFAULT 0"),
    ("account_tokens", "generation INTEGER"),
    ("refresh_tokens", "successor_hash TEXT"),
    ("refresh_tokens", "successor_kid TEXT"),
    ("snapshots", "taken_at INTEGER NOT NULL DEFAULT 0"),
];

fn add_missing_columns(conn: &Connection) -> Result<(), StoreError> {
    for (table, column) in ADDED_COLUMNS {
        let name = column.split(' ').next().unwrap_or_default();
        let exists: bool = conn.query_row(
            &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            [name],
            |row| row.get(0),
        )?;
        if !exists {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column}"))?;
        }
    }
    Ok(())
}

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        add_missing_columns(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Folds the write-ahead log into the main file so the data survives as one file.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.run(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// Runs blocking SQLite work off the async runtime, one statement batch at a time.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| StoreError::backend("sqlite connection poisoned"))?;
            work(&mut conn)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::backend(e)
    }
}
