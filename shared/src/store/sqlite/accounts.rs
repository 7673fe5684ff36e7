//! Account tokens and the outbox in the embedded store.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::domain::User;
use crate::jobs::Job;
use crate::store::{
    AccountStore, AccountToken, DeadOutboxRow, Effects, OutboxRow, OutboxStore, StoreError,
    TokenPurpose, UnreadableJob,
};

/// Writes a change's token and outbox jobs inside the caller's transaction.
pub(super) fn write_effects(conn: &Connection, effects: &Effects) -> Result<(), StoreError> {
    if let Some(token) = &effects.token {
        conn.execute(
            "INSERT INTO account_tokens
             (hash, purpose, user_id, email, generation, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                token.hash,
                token.purpose.as_str(),
                token.user_id,
                token.email,
                token.generation as i64,
                token.created_at,
                token.expires_at
            ],
        )?;
    }
    for job in &effects.jobs {
        conn.execute(
            "INSERT INTO outbox (id, job, created_at) VALUES (?1, ?2, ?3)",
            params![job.id, job.to_json(), job.created_at],
        )?;
    }
    Ok(())
}

/// Deletes the token if it is still unspent and unexpired; false if it was not.
fn spend_token(conn: &Connection, token: &AccountToken, now: i64) -> Result<bool, StoreError> {
    let spent = conn.execute(
        "DELETE FROM account_tokens WHERE hash = ?1 AND purpose = ?2 AND expires_at > ?3",
        params![token.hash, token.purpose.as_str(), now],
    )?;
    Ok(spent == 1)
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn find_token(&self, hash: &str) -> Result<Option<AccountToken>, StoreError> {
        let hash = hash.to_owned();
        self.run(move |conn| {
            let row = conn
                .query_row(
                    "SELECT hash, purpose, user_id, email, generation, created_at, expires_at
                     FROM account_tokens WHERE hash = ?1",
                    [&hash],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            // NULL: stored before tokens carried their generation, taken as ended.
                            row.get::<_, Option<i64>>(4)?,
                            row.get::<_, i64>(5)?,
                            row.get::<_, i64>(6)?,
                        ))
                    },
                )
                .optional()?;
            let now = crate::clock::now_ms();
            Ok(row.and_then(
                |(hash, purpose, user_id, email, generation, created_at, expires_at)| {
                    Some(AccountToken {
                        hash,
                        purpose: TokenPurpose::parse(&purpose)?,
                        user_id,
                        email,
                        generation: generation? as u64,
                        created_at,
                        expires_at,
                    })
                    .filter(|t| t.expires_at > now)
                },
            ))
        })
        .await
    }

    async fn issue_token(
        &self,
        effects: &Effects,
        min_gap_ms: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let effects = effects.clone();
        self.run(move |conn| {
            let token = effects
                .token
                .as_ref()
                .ok_or_else(|| StoreError::backend("issue_token without a token"))?;
            let tx = conn.transaction()?;
            let changed = match token.purpose {
                TokenPurpose::VerifyEmail => tx.execute(
                    "UPDATE users SET verify_sent_at = ?1
                     WHERE id = ?2 AND email = ?3 AND deleted_at IS NULL AND email_verified = 0
                       AND session_generation = ?5
                       AND (verify_sent_at IS NULL OR verify_sent_at <= ?4)",
                    params![
                        now,
                        token.user_id,
                        token.email,
                        now - min_gap_ms,
                        token.generation as i64
                    ],
                )?,
                TokenPurpose::ResetPassword => tx.execute(
                    "UPDATE users SET reset_token = ?1, reset_sent_at = ?4
                     WHERE id = ?2 AND email = ?3 AND deleted_at IS NULL
                       AND session_generation = ?6
                       AND (reset_sent_at IS NULL OR reset_sent_at <= ?5)",
                    params![
                        token.hash,
                        token.user_id,
                        token.email,
                        now,
                        now - min_gap_ms,
                        token.generation as i64
                    ],
                )?,
                TokenPurpose::ChangeEmail => tx.execute(
                    "UPDATE users SET pending_email_token = ?1
                     WHERE id = ?2 AND deleted_at IS NULL AND session_generation = ?3",
                    params![token.hash, token.user_id, token.generation as i64],
                )?,
            };
            if changed == 0 {
                return Err(StoreError::Conflict);
            }
            write_effects(&tx, &effects)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn verify_email(&self, token: &AccountToken, now: i64) -> Result<(), StoreError> {
        let token = token.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            if !spend_token(&tx, &token, now)? {
                return Err(StoreError::NotFound);
            }
            let changed = tx.execute(
                "UPDATE users SET email_verified = 1, updated_at = ?1, version = version + 1
                 WHERE id = ?2 AND email = ?3 AND deleted_at IS NULL AND session_generation = ?4",
                params![now, token.user_id, token.email, token.generation as i64],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn change_email(
        &self,
        token: &AccountToken,
        previous: &User,
        next: &User,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let (token, previous, next, effects) = (
            token.clone(),
            previous.clone(),
            next.clone(),
            effects.clone(),
        );
        self.run(move |conn| {
            let tx = conn.transaction()?;
            if !spend_token(&tx, &token, next.updated_at)? {
                return Err(StoreError::NotFound);
            }
            let changed = tx.execute(
                "UPDATE users SET email = ?1, email_verified = 1, updated_at = ?2, version = ?3,
                 pending_email_token = NULL, reset_token = NULL
                 WHERE id = ?4 AND version = ?5 AND pending_email_token = ?6 AND deleted_at IS NULL
                   AND session_generation = ?7",
                params![
                    next.email.as_str(),
                    next.updated_at,
                    next.version as i64,
                    next.id,
                    previous.version as i64,
                    token.hash,
                    token.generation as i64
                ],
            );
            match changed {
                Ok(1) => {}
                Ok(_) => {
                    // The version moved, or a newer change request or an event that ends
                    // sessions superseded this token.
                    let still_good: bool = tx
                        .query_row(
                            "SELECT pending_email_token = ?2 AND session_generation = ?3
                             FROM users WHERE id = ?1",
                            params![next.id, token.hash, token.generation as i64],
                            |row| row.get::<_, Option<bool>>(0),
                        )
                        .optional()?
                        .flatten()
                        .unwrap_or(false);
                    return Err(if still_good {
                        StoreError::Conflict
                    } else {
                        StoreError::NotFound
                    });
                }
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::EmailTaken);
                }
                Err(e) => return Err(e.into()),
            }
            write_effects(&tx, &effects)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn reset_password(
        &self,
        token: &AccountToken,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let (token, new_hash, effects) = (token.clone(), new_hash.to_owned(), effects.clone());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            if !spend_token(&tx, &token, now)? {
                return Err(StoreError::NotFound);
            }
            let changed = tx.execute(
                "UPDATE users SET password_hash = ?1, reset_token = NULL, updated_at = ?2,
                 session_generation = session_generation + 1, version = version + 1
                 WHERE id = ?3 AND reset_token = ?4 AND deleted_at IS NULL
                   AND email = ?5 AND session_generation = ?6",
                params![
                    new_hash,
                    now,
                    token.user_id,
                    token.hash,
                    token.email,
                    token.generation as i64
                ],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            write_effects(&tx, &effects)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

/// An outbox row as stored: its job, or the text that does not read as one.
fn outbox_row(id: String, raw: String, created_at: i64) -> OutboxRow {
    let job = Job::from_json(&raw).map_err(|error| UnreadableJob { raw, error });
    OutboxRow {
        id,
        created_at,
        job,
    }
}

impl SqliteStore {
    /// Writes an outbox row exactly as given, unchecked: for tests and repairs that need a row
    /// no writer of this version would produce.
    #[doc(hidden)]
    pub async fn put_raw_outbox_row(
        &self,
        id: &str,
        raw: &str,
        created_at: i64,
    ) -> Result<(), StoreError> {
        let (id, raw) = (id.to_owned(), raw.to_owned());
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO outbox (id, job, created_at) VALUES (?1, ?2, ?3)",
                params![id, raw, created_at],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn outbox_rows(
        &self,
        before: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let (after_at, after_id) = match after {
            Some((at, id)) => (at, id.to_owned()),
            None => (i64::MIN, String::new()),
        };
        self.run(move |conn| {
            let mut statement = conn.prepare(
                "SELECT id, job, created_at FROM outbox
                 WHERE created_at < ?1 AND (created_at, id) > (?2, ?3)
                 ORDER BY created_at, id LIMIT ?4",
            )?;
            let rows = statement
                .query_map(params![before, after_at, after_id, limit as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?;
            rows.map(|row| {
                let (id, raw, created_at) = row?;
                Ok(outbox_row(id, raw, created_at))
            })
            .collect()
        })
        .await
    }

    async fn add_to_outbox(&self, jobs: &[Job]) -> Result<(), StoreError> {
        let effects = Effects::jobs(jobs.to_vec());
        self.run(move |conn| write_effects(conn, &effects)).await
    }

    async fn remove_from_outbox(&self, job_id: &str) -> Result<(), StoreError> {
        let id = job_id.to_owned();
        self.run(move |conn| {
            conn.execute("DELETE FROM outbox WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }

    async fn dead_letter_outbox(&self, dead: &DeadOutboxRow) -> Result<(), StoreError> {
        let dead = dead.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT OR REPLACE INTO outbox_dead (id, raw, error, created_at, dead_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![dead.id, dead.raw, dead.error, dead.created_at, dead.dead_at],
            )?;
            tx.execute("DELETE FROM outbox WHERE id = ?1", [&dead.id])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn outbox_dead_letters(&self, limit: usize) -> Result<Vec<DeadOutboxRow>, StoreError> {
        self.run(move |conn| {
            let mut statement = conn.prepare(
                "SELECT id, raw, error, created_at, dead_at FROM outbox_dead
                 ORDER BY dead_at, id LIMIT ?1",
            )?;
            let rows = statement.query_map([limit as i64], |row| {
                Ok(DeadOutboxRow {
                    id: row.get(0)?,
                    raw: row.get(1)?,
                    error: row.get(2)?,
                    created_at: row.get(3)?,
                    dead_at: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
