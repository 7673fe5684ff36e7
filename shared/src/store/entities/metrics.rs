//! Dashboard counters (`COUNTER#<name>#<shard>` / `<date>` or `total`), active-user markers
//! (`ACTIVE#<date>#<user>` / `ACTIVE`) and snapshots (`SNAPSHOT` / `<bucket>`, with `takenAt`:
//! when their counts were read).
//!
//! A counter is spread over `counter_shards` items, one picked at random per write and all
//! summed on read: one item takes ~1,000 writes a second, and transactions touching the same
//! item conflict, so N shards take N times the write rate before either bites.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::TableStore;
use crate::metrics::counts::{self, Delta, day_of};
use crate::store::keys;
use crate::store::table::schema::{SORT_KEY, TTL_ATTRIBUTE};
use crate::store::table::{
    Action, Condition, Put, Query, TableError, Update, get_n, get_s, item, ttl_from_ms,
};
use crate::store::{MetricsStore, StoreError};

const DAY_MS: i64 = 86_400_000;
/// Daily counters outlive the dashboard's 90 days a little, then TTL removes them.
const DAILY_KEEP_MS: i64 = 100 * DAY_MS;
/// When a snapshot's counts were read (epoch ms); a bucket's snapshot is replaced only by a
/// later one.
const TAKEN_AT: &str = "takenAt";
/// Snapshots are kept a week (the dashboard reads the newest).
const SNAPSHOT_KEEP_MS: i64 = 7 * DAY_MS;

fn random_shard(shards: u32) -> u32 {
    let mut bytes = [0u8; 4];
    let _ = SystemRandom::new().fill(&mut bytes);
    u32::from_le_bytes(bytes) % shards.max(1)
}

/// The start of a date bucket (`2026-11-25`), for its TTL.
fn day_start(date: &str) -> Option<i64> {
    crate::clock::parse_rfc3339(&format!("{date}T00:00:00Z"))
}

/// The counter updates for `deltas`, all on one shard picked at random, for a transaction.
pub(super) fn counter_updates(shards: u32, deltas: &[Delta]) -> Vec<Action> {
    let shard = random_shard(shards);
    deltas
        .iter()
        .map(|delta| {
            let update = Update::new(keys::counter(&delta.name, shard, &delta.bucket))
                .add("value", delta.by);
            match day_start(&delta.bucket) {
                Some(start) => update
                    .set(TTL_ATTRIBUTE, ttl_from_ms(start + DAILY_KEEP_MS))
                    .into(),
                None => update.into(),
            }
        })
        .collect()
}

impl TableStore {
    /// Every item of one counter shard in the given buckets.
    async fn read_shard(
        &self,
        name: &str,
        shard: u32,
        buckets: &[String],
    ) -> Result<Vec<((String, String), i64)>, StoreError> {
        let mut values = Vec::new();
        let mut start = None;
        loop {
            // Strongly consistent: a snapshot holds every count written before it was taken,
            // so one taken later is never staler (see `put_snapshot`).
            let query = Query::table(keys::counter_shard(name, shard))
                .consistent()
                .start(start.take());
            let page = self.table.query(&query).await?;
            for item in &page.items {
                let bucket = get_s(item, SORT_KEY)?;
                if buckets.contains(&bucket) {
                    values.push(((name.to_owned(), bucket), get_n(item, "value")?));
                }
            }
            match page.last_key {
                Some(next) => start = Some(next),
                None => return Ok(values),
            }
        }
    }
}

#[async_trait]
impl MetricsStore for TableStore {
    async fn mark_active(&self, user_id: &str, at: i64) -> Result<bool, StoreError> {
        let day = day_of(at);
        let end_of_day = day_start(&day).unwrap_or(at) + DAY_MS;
        let marker = item(
            &keys::active_marker(&day, user_id),
            [(TTL_ATTRIBUTE, ttl_from_ms(end_of_day + DAY_MS))],
        );
        let mut actions = vec![Put::if_absent(marker).into()];
        actions.extend(counter_updates(
            self.counter_shards,
            &[counts::became_active(at)],
        ));
        match self.table.transact(actions).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_counters(
        &self,
        names: &[String],
        buckets: &[String],
    ) -> Result<HashMap<(String, String), i64>, StoreError> {
        let mut names = names.to_vec();
        names.sort();
        names.dedup();
        let reads = names.iter().flat_map(|name| {
            (0..self.counter_shards.max(1)).map(move |shard| self.read_shard(name, shard, buckets))
        });
        let mut totals = HashMap::new();
        for shard_values in futures_util::future::try_join_all(reads).await? {
            for (key, value) in shard_values {
                *totals.entry(key).or_insert(0) += value;
            }
        }
        Ok(totals)
    }

    async fn put_snapshot(
        &self,
        bucket: i64,
        taken_at: i64,
        body: &str,
    ) -> Result<bool, StoreError> {
        let snapshot = item(
            &keys::snapshot(bucket),
            [
                ("body", body.into()),
                (TAKEN_AT, taken_at.into()),
                (TTL_ATTRIBUTE, ttl_from_ms(bucket + SNAPSHOT_KEEP_MS)),
            ],
        );
        // One conditional write: the table checks and replaces the item atomically, so of
        // racing runs the one with the latest `takenAt` stays, and an older one never lands
        // after it.
        let fresher = Condition::Or(vec![
            Condition::item_absent(),
            Condition::absent(TAKEN_AT),
            Condition::lt(TAKEN_AT, taken_at),
        ]);
        match self.table.put(Put::new(snapshot).when(fresher)).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn latest_snapshot(&self) -> Result<Option<(i64, String)>, StoreError> {
        let query = Query::table(keys::SNAPSHOTS)
            .backward()
            .limit(1)
            .consistent();
        let page = self.table.query(&query).await?;
        let Some(item) = page.items.first() else {
            return Ok(None);
        };
        let bucket = get_s(item, SORT_KEY)?
            .parse()
            .map_err(|_| StoreError::backend("a snapshot key is not a number"))?;
        Ok(Some((bucket, get_s(item, "body")?)))
    }
}
