//! A durable job queue beside the table, with SQS's semantics, for local runs: a received
//! message is hidden for a visibility timeout and comes back if it is not deleted (so a restart
//! loses nothing); the consumer moves a message that keeps failing to the dead letters.

use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior, params};

use super::{SqliteTable, sql_error};
use crate::BoxError;
use crate::jobs::{Job, JobQueue, Queue};
use crate::store::StoreError;
use crate::store::table::TableError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queued_jobs (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL,
    dead_at INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS queued_jobs_ready ON queued_jobs (queue, visible_at)
    WHERE dead_at IS NULL;
";

pub(super) fn create(conn: &Connection) -> Result<(), TableError> {
    conn.execute_batch(SCHEMA).map_err(TableError::backend)
}

/// A message handed to a consumer.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

#[async_trait]
impl JobQueue for SqliteTable {
    async fn send(&self, job: &Job) -> Result<(), BoxError> {
        let queue = job.queue().ok_or("this job is not queued")?.name();
        let body = job.to_json();
        let (id, now) = (uuid::Uuid::now_v7().to_string(), crate::clock::now_ms());
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO queued_jobs (id, queue, body, visible_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut statement| statement.execute(params![id, queue, body, now]))
            .map_err(sql_error)?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

impl SqliteTable {
    /// Up to `max` visible messages of `queue`, each hidden for `visibility_ms`.
    pub async fn receive(
        &self,
        queue: Queue,
        now: i64,
        visibility_ms: i64,
        max: usize,
    ) -> Result<Vec<Received>, StoreError> {
        let queue = queue.name();
        let received = self
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                let received: Vec<Received> = {
                    let mut statement = tx
                        .prepare_cached(
                            "SELECT id, body, receive_count FROM queued_jobs
                             WHERE queue = ?1 AND dead_at IS NULL AND visible_at <= ?2
                             ORDER BY visible_at, id LIMIT ?3",
                        )
                        .map_err(sql_error)?;
                    let rows = statement
                        .query_map(params![queue, now, max as i64], |row| {
                            Ok(Received {
                                message_id: row.get(0)?,
                                body: row.get(1)?,
                                receive_count: row.get::<_, u32>(2)? + 1,
                            })
                        })
                        .map_err(sql_error)?;
                    rows.collect::<Result<_, _>>().map_err(sql_error)?
                };
                for message in &received {
                    tx.prepare_cached(
                        "UPDATE queued_jobs SET receive_count = ?1, visible_at = ?2 WHERE id = ?3",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![
                            message.receive_count,
                            now + visibility_ms,
                            message.message_id
                        ])
                    })
                    .map_err(sql_error)?;
                }
                tx.commit().map_err(sql_error)?;
                Ok(received)
            })
            .await?;
        Ok(received)
    }

    /// The consumer is done with the message.
    pub async fn delete_message(&self, message_id: &str) -> Result<(), StoreError> {
        let id = message_id.to_owned();
        self.change("DELETE FROM queued_jobs WHERE id = ?1", move |statement| {
            statement.execute([id])
        })
        .await
    }

    /// Makes the message visible again at `visible_at`, noting why it failed.
    pub async fn retry_message(
        &self,
        message_id: &str,
        visible_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let (id, error) = (message_id.to_owned(), error.to_owned());
        self.change(
            "UPDATE queued_jobs SET visible_at = ?1, last_error = ?2 WHERE id = ?3",
            move |statement| statement.execute(params![visible_at, error, id]),
        )
        .await
    }

    /// Moves the message to the dead letters: kept, never received again.
    pub async fn dead_letter(&self, message_id: &str, error: &str) -> Result<(), StoreError> {
        let (id, error) = (message_id.to_owned(), error.to_owned());
        let now = crate::clock::now_ms();
        self.change(
            "UPDATE queued_jobs SET dead_at = ?1, last_error = ?2 WHERE id = ?3",
            move |statement| statement.execute(params![now, error, id]),
        )
        .await
    }

    /// Messages waiting (or in flight) and dead letters of `queue`.
    pub async fn queue_depth(&self, queue: Queue) -> Result<(u64, u64), StoreError> {
        let queue = queue.name();
        let (waiting, dead) = self.read(move |conn| depth(conn, queue)).await?;
        Ok((waiting as u64, dead as u64))
    }

    /// Runs one statement that changes the queue.
    async fn change(
        &self,
        sql: &'static str,
        run: impl FnOnce(&mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<usize> + Send + 'static,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(sql)
                .and_then(|mut statement| run(&mut statement))
                .map_err(sql_error)?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

/// Messages waiting (or in flight) and dead letters of the queue named `queue`.
fn depth(conn: &Connection, queue: &str) -> Result<(i64, i64), TableError> {
    conn.prepare_cached(
        "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL), COUNT(*) FILTER (WHERE dead_at IS NOT NULL)
         FROM queued_jobs WHERE queue = ?1",
    )
    .and_then(|mut statement| statement.query_row([queue], |row| Ok((row.get(0)?, row.get(1)?))))
    .map_err(sql_error)
}

#[async_trait]
impl crate::metrics::QueueDepths for SqliteTable {
    async fn depths(&self) -> Result<Vec<crate::metrics::QueueDepth>, BoxError> {
        let depths = self
            .read(|conn| {
                [Queue::Email, Queue::Telegram]
                    .into_iter()
                    .map(|queue| {
                        let (waiting, dead_letters) = depth(conn, queue.name())?;
                        Ok(crate::metrics::QueueDepth {
                            queue: queue.name().to_owned(),
                            waiting,
                            dead_letters,
                        })
                    })
                    .collect::<Result<Vec<_>, TableError>>()
            })
            .await?;
        Ok(depths)
    }
}
