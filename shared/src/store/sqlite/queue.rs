//! A durable queue in the embedded store, with SQS's semantics: a received message is hidden
//! for a visibility timeout and comes back if it is not deleted (so a restart loses nothing);
//! the consumer moves a message that keeps failing to the dead letters.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use crate::BoxError;
use crate::jobs::{Job, JobQueue, Queue};
use crate::store::StoreError;

/// A message handed to a consumer.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn send(&self, job: &Job) -> Result<(), BoxError> {
        let queue = job.queue().ok_or("this job is not queued")?.name();
        let body = job.to_json();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO queued_jobs (id, queue, body, visible_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    uuid::Uuid::now_v7().to_string(),
                    queue,
                    body,
                    crate::clock::now_ms()
                ],
            )?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

impl SqliteStore {
    /// Up to `max` visible messages of `queue`, each hidden for `visibility_ms`.
    pub async fn receive(
        &self,
        queue: Queue,
        now: i64,
        visibility_ms: i64,
        max: usize,
    ) -> Result<Vec<Received>, StoreError> {
        let queue = queue.name();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let received: Vec<Received> = {
                let mut statement = tx.prepare(
                    "SELECT id, body, receive_count FROM queued_jobs
                     WHERE queue = ?1 AND dead_at IS NULL AND visible_at <= ?2
                     ORDER BY visible_at, id LIMIT ?3",
                )?;
                let rows = statement.query_map(params![queue, now, max as i64], |row| {
                    Ok(Received {
                        message_id: row.get(0)?,
                        body: row.get(1)?,
                        receive_count: row.get::<_, u32>(2)? + 1,
                    })
                })?;
                rows.collect::<Result<_, _>>()?
            };
            for message in &received {
                tx.execute(
                    "UPDATE queued_jobs SET receive_count = ?1, visible_at = ?2 WHERE id = ?3",
                    params![
                        message.receive_count,
                        now + visibility_ms,
                        message.message_id
                    ],
                )?;
            }
            tx.commit()?;
            Ok(received)
        })
        .await
    }

    /// The consumer is done with the message.
    pub async fn delete_message(&self, message_id: &str) -> Result<(), StoreError> {
        let id = message_id.to_owned();
        self.run(move |conn| {
            conn.execute("DELETE FROM queued_jobs WHERE id = ?1", [&id])?;
            Ok(())
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
        self.run(move |conn| {
            conn.execute(
                "UPDATE queued_jobs SET visible_at = ?1, last_error = ?2 WHERE id = ?3",
                params![visible_at, error, id],
            )?;
            Ok(())
        })
        .await
    }

    /// Moves the message to the dead letters: kept, never received again.
    pub async fn dead_letter(&self, message_id: &str, error: &str) -> Result<(), StoreError> {
        let (id, error) = (message_id.to_owned(), error.to_owned());
        let now = crate::clock::now_ms();
        self.run(move |conn| {
            conn.execute(
                "UPDATE queued_jobs SET dead_at = ?1, last_error = ?2 WHERE id = ?3",
                params![now, error, id],
            )?;
            Ok(())
        })
        .await
    }

    /// Messages waiting (or in flight) and dead letters of `queue`.
    pub async fn queue_depth(&self, queue: Queue) -> Result<(u64, u64), StoreError> {
        let queue = queue.name();
        self.run(move |conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL), COUNT(*) FILTER (WHERE dead_at IS NOT NULL)
                 FROM queued_jobs WHERE queue = ?1",
                [queue],
                |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
            )?)
        })
        .await
    }
}

#[async_trait]
impl crate::metrics::QueueDepths for SqliteStore {
    async fn depths(&self) -> Result<Vec<crate::metrics::QueueDepth>, BoxError> {
        let depths = self
            .run(|conn| {
                let mut depths = Vec::new();
                for queue in [Queue::Email, Queue::Telegram] {
                    let (waiting, dead): (i64, i64) = conn.query_row(
                        "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL),
                                COUNT(*) FILTER (WHERE dead_at IS NOT NULL)
                         FROM queued_jobs WHERE queue = ?1",
                        [queue.name()],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )?;
                    depths.push(crate::metrics::QueueDepth {
                        queue: queue.name().to_owned(),
                        waiting,
                        dead_letters: dead,
                    });
                }
                Ok(depths)
            })
            .await?;
        Ok(depths)
    }
}
