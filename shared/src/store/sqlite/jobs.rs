//! Which jobs ran, in the embedded store.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::store::{Claim, JobRecords, StoreError};

/// How long a finished job's record is kept: longer than any redelivery.
const KEEP_DONE_MS: i64 = 7 * 24 * 3600 * 1000;

#[async_trait]
impl JobRecords for SqliteStore {
    async fn claim_job(&self, job_id: &str, now: i64, lease_ms: i64) -> Result<Claim, StoreError> {
        let id = job_id.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let current: Option<(String, i64)> = tx
                .query_row(
                    "SELECT state, lease_until FROM job_records WHERE id = ?1",
                    [&id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let claim = match current {
                Some((state, _)) if state == "done" => Claim::Done,
                Some((_, lease_until)) if lease_until > now => Claim::Busy,
                _ => {
                    tx.execute(
                        "INSERT OR REPLACE INTO job_records (id, state, lease_until, expires_at)
                         VALUES (?1, 'running', ?2, ?3)",
                        params![id, now + lease_ms, now + KEEP_DONE_MS],
                    )?;
                    Claim::Claimed
                }
            };
            tx.commit()?;
            Ok(claim)
        })
        .await
    }

    async fn finish_job(&self, job_id: &str, now: i64) -> Result<(), StoreError> {
        let id = job_id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO job_records (id, state, lease_until, expires_at)
                 VALUES (?1, 'done', 0, ?2)",
                params![id, now + KEEP_DONE_MS],
            )?;
            conn.execute("DELETE FROM job_records WHERE expires_at < ?1", [now])?;
            Ok(())
        })
        .await
    }

    async fn release_job(&self, job_id: &str) -> Result<(), StoreError> {
        let id = job_id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM job_records WHERE id = ?1 AND state = 'running'",
                [&id],
            )?;
            Ok(())
        })
        .await
    }
}
