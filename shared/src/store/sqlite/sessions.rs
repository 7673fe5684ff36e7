use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use crate::store::{RefreshRecord, Session, SessionStore, StoreError, Successor};

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        user_id: row.get(1)?,
        created_at: row.get(2)?,
        expires_at: row.get(3)?,
        revoked_at: row.get(4)?,
        generation: row.get::<_, i64>(5)? as u64,
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
        successor: match (row.get(6)?, row.get(7)?) {
            (Some(hash), Some(kid)) => Some(Successor { hash, kid }),
            _ => None,
        },
    })
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
                "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, generation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    session.id,
                    session.user_id,
                    session.created_at,
                    session.expires_at,
                    session.revoked_at,
                    session.generation as i64
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
                    "SELECT id, user_id, created_at, expires_at, revoked_at, generation FROM sessions
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
                    "SELECT hash, user_id, session_id, created_at, expires_at, spent_at,
                            successor_hash, successor_kid
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
        kid: &str,
    ) -> Result<(), StoreError> {
        let (spent_hash, next, kid) = (spent_hash.to_owned(), next.clone(), kid.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let spent = tx.execute(
                "UPDATE refresh_tokens SET spent_at = ?1, successor_hash = ?3, successor_kid = ?4
                 WHERE hash = ?2 AND spent_at IS NULL",
                params![spent_at, spent_hash, next.hash, kid],
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
