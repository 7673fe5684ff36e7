//! The embedded adapter: one SQLite file, used for zero-setup local runs and tests.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{RefreshRecord, Session, SessionStore, StoreError, UserStore};
use crate::domain::{DisplayName, Email, Role, User};

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
    sessions_valid_after INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS users_active_email ON users(email) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS users_created ON users(created_at, id);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
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
    spent_at INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens(expires_at);
";

const USER_COLUMNS: &str = "id, email, name, role, password_hash, created_at, updated_at, version, sessions_valid_after, deleted_at";

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
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
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| StoreError::Backend("sqlite connection poisoned".into()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let text_error = |i: usize, e: crate::domain::Invalid| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.message.into())
    };
    Ok(User {
        id: row.get(0)?,
        email: Email::parse(row.get::<_, String>(1)?).map_err(|e| text_error(1, e))?,
        name: DisplayName::parse(row.get::<_, String>(2)?).map_err(|e| text_error(2, e))?,
        role: Role::parse(row.get::<_, String>(3)?).map_err(|e| text_error(3, e))?,
        password_hash: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        version: row.get::<_, i64>(7)? as u64,
        sessions_valid_after: row.get(8)?,
        deleted_at: row.get(9)?,
    })
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        user_id: row.get(1)?,
        created_at: row.get(2)?,
        expires_at: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}

fn refresh_from_row(row: &Row<'_>) -> rusqlite::Result<RefreshRecord> {
    Ok(RefreshRecord {
        hash: row.get(0)?,
        user_id: row.get(1)?,
        session_id: row.get(2)?,
        created_at: row.get(3)?,
        expires_at: row.get(4)?,
        spent_at: row.get(5)?,
    })
}

fn select_user(conn: &Connection, clause: &str, arg: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}");
    Ok(conn.query_row(&sql, [arg], user_from_row).optional()?)
}

fn insert_refresh(conn: &Connection, token: &RefreshRecord) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO refresh_tokens (hash, user_id, session_id, created_at, expires_at, spent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            token.hash,
            token.user_id,
            token.session_id,
            token.created_at,
            token.expires_at,
            token.spent_at
        ],
    )
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.run(move |conn| {
            let inserted = conn.execute(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![
                    user.id,
                    user.email.as_str(),
                    user.name.as_str(),
                    user.role.as_str(),
                    user.password_hash,
                    user.created_at,
                    user.updated_at,
                    user.version as i64,
                    user.sessions_valid_after,
                    user.deleted_at
                ],
            );
            match inserted {
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::EmailTaken)
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| select_user(conn, "id = ?1", &id))
            .await
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_owned();
        self.run(move |conn| select_user(conn, "email = ?1 AND deleted_at IS NULL", &email))
            .await
    }

    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE users SET role = ?1, updated_at = ?2, version = version + 1
                 WHERE id = ?3 AND deleted_at IS NULL",
                params![role.as_str(), now, id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            select_user(conn, "id = ?1", &id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn invalidate_sessions(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE users SET sessions_valid_after = MAX(sessions_valid_after, ?1) WHERE id = ?2",
                params![at, id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        session: &Session,
        token: &RefreshRecord,
    ) -> Result<(), StoreError> {
        let (session, token) = (session.clone(), token.clone());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session.id,
                    session.user_id,
                    session.created_at,
                    session.expires_at,
                    session.revoked_at
                ],
            )?;
            insert_refresh(&tx, &token)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let (user_id, session_id) = (user_id.to_owned(), session_id.to_owned());
        let now = crate::clock::now_ms();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, user_id, created_at, expires_at, revoked_at FROM sessions
                     WHERE id = ?1 AND user_id = ?2 AND expires_at > ?3",
                    params![session_id, user_id, now],
                    session_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let hash = hash.to_owned();
        let now = crate::clock::now_ms();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT hash, user_id, session_id, created_at, expires_at, spent_at
                     FROM refresh_tokens WHERE hash = ?1 AND expires_at > ?2",
                    params![hash, now],
                    refresh_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        spent_hash: &str,
        spent_at: i64,
        next: &RefreshRecord,
    ) -> Result<(), StoreError> {
        let (spent_hash, next) = (spent_hash.to_owned(), next.clone());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let spent = tx.execute(
                "UPDATE refresh_tokens SET spent_at = ?1 WHERE hash = ?2 AND spent_at IS NULL",
                params![spent_at, spent_hash],
            )?;
            let extended = tx.execute(
                "UPDATE sessions SET expires_at = ?1
                 WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
                params![next.expires_at, next.session_id, next.user_id],
            )?;
            if spent == 0 || extended == 0 {
                return Err(StoreError::Conflict);
            }
            insert_refresh(&tx, &next)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let (user_id, session_id) = (user_id.to_owned(), session_id.to_owned());
        self.run(move |conn| {
            conn.execute(
                "UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?1)
                 WHERE id = ?2 AND user_id = ?3",
                params![at, session_id, user_id],
            )?;
            Ok(())
        })
        .await
    }
}
