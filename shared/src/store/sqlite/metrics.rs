//! Dashboard counters and snapshots in the embedded store. Counter changes run inside the
//! transaction of the write they count (one connection: no shards needed here).

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::SqliteStore;
use crate::metrics::counts::{self, Delta, day_of};
use crate::store::{MetricsStore, StoreError};

pub(super) fn apply_counts(conn: &Connection, deltas: &[Delta]) -> Result<(), StoreError> {
    for delta in deltas {
        conn.execute(
            "INSERT INTO counters (name, bucket, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (name, bucket) DO UPDATE SET value = value + excluded.value",
            params![delta.name, delta.bucket, delta.by],
        )?;
    }
    Ok(())
}

#[async_trait]
impl MetricsStore for SqliteStore {
    async fn mark_active(&self, user_id: &str, at: i64) -> Result<bool, StoreError> {
        let (user_id, day) = (user_id.to_owned(), day_of(at));
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let marked = tx.execute(
                "INSERT INTO active_markers (day, user_id) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                params![day, user_id],
            )?;
            if marked == 1 {
                apply_counts(&tx, &[counts::became_active(at)])?;
                // Markers are needed for their own day only.
                tx.execute("DELETE FROM active_markers WHERE day < ?1", [&day])?;
            }
            tx.commit()?;
            Ok(marked == 1)
        })
        .await
    }

    async fn read_counters(
        &self,
        names: &[String],
        buckets: &[String],
    ) -> Result<HashMap<(String, String), i64>, StoreError> {
        let (names, buckets) = (names.to_vec(), buckets.to_vec());
        self.run(move |conn| {
            let sql = format!(
                "SELECT name, bucket, value FROM counters WHERE name IN ({}) AND bucket IN ({})",
                vec!["?"; names.len()].join(", "),
                vec!["?"; buckets.len()].join(", "),
            );
            let mut statement = conn.prepare(&sql)?;
            let rows = statement
                .query_map(params_from_iter(names.iter().chain(&buckets)), |row| {
                    Ok(((row.get(0)?, row.get(1)?), row.get(2)?))
                })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn put_snapshot(
        &self,
        bucket: i64,
        taken_at: i64,
        body: &str,
    ) -> Result<bool, StoreError> {
        let body = body.to_owned();
        self.run(move |conn| {
            // One statement: inserted, or the stored row replaced only when this one was taken
            // later; otherwise no row changes (0).
            let written = conn.execute(
                "INSERT INTO snapshots (bucket, taken_at, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (bucket) DO UPDATE SET taken_at = excluded.taken_at, body = excluded.body
                 WHERE snapshots.taken_at < excluded.taken_at",
                params![bucket, taken_at, body],
            )?;
            // Kept a week, as on DynamoDB (TTL there).
            conn.execute(
                "DELETE FROM snapshots WHERE bucket < ?1",
                [bucket - 7 * 86_400_000],
            )?;
            Ok(written == 1)
        })
        .await
    }

    async fn latest_snapshot(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.run(|conn| {
            Ok(conn
                .query_row(
                    "SELECT bucket, body FROM snapshots ORDER BY bucket DESC LIMIT 1",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?)
        })
        .await
    }
}
