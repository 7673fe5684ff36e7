//! Dashboard counters (`COUNTER#<name>#<shard>` / `<date>` or `total`), the changes already
//! counted (`COUNTED#<change id>` / `COUNTED`), active-user markers (`ACTIVE#<date>#<user>` /
//! `ACTIVE`) and snapshots (`SNAPSHOT` / `<bucket>`, with `takenAt`: when their counts were
//! read).
//!
//! Only the `counts` stream consumer writes counters, one transaction per batch of changes: a
//! marker per change (written only if absent, so a redelivered change is skipped) and one
//! update per counter. A counter is spread over `counter_shards` items, one picked at random
//! per transaction and all summed on read, so consumers of several stream shards rarely meet
//! on one item.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::TableStore;
use crate::metrics::counts::{Delta, day_of};
use crate::store::keys;
use crate::store::table::schema::{SORT_KEY, TTL_ATTRIBUTE};
use crate::store::table::{
    Action, Condition, MAX_TRANSACTION_ACTIONS, Put, Query, TableError, Update, get_n, get_s, item,
    ttl_from_ms,
};
use crate::store::{Counted, MetricsStore, StoreError};

const DAY_MS: i64 = 86_400_000;
/// Daily counters outlive the dashboard's 90 days a little, then TTL removes them.
const DAILY_KEEP_MS: i64 = 100 * DAY_MS;
/// When a snapshot's counts were read (epoch ms); a bucket's snapshot is replaced only by a
/// later one.
const TAKEN_AT: &str = "takenAt";
/// Snapshots are kept a week (the dashboard reads the newest).
const SNAPSHOT_KEEP_MS: i64 = 7 * DAY_MS;
/// How long a counted change's marker is kept: past the stream's 24 hours, the longest a
/// change can be delivered again.
const COUNTED_KEEP_MS: i64 = 2 * DAY_MS;

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
fn counter_updates(shards: u32, deltas: &[Delta]) -> Vec<Action> {
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

/// The deltas of `changes` summed per counter, without the ones that cancel out.
fn summed<'a>(changes: impl Iterator<Item = &'a Counted>) -> Vec<Delta> {
    let mut sums: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for delta in changes.flat_map(|c| &c.deltas) {
        *sums.entry((&delta.name, &delta.bucket)).or_default() += delta.by;
    }
    sums.into_iter()
        .filter(|(_, by)| *by != 0)
        .map(|((name, bucket), by)| Delta {
            name: name.to_owned(),
            bucket: bucket.to_owned(),
            by,
        })
        .collect()
}

/// How many of `changes` fit in one transaction beside the counters they touch (at least one).
fn fitting(changes: &[&Counted]) -> usize {
    let mut counters = BTreeSet::new();
    for (taken, change) in changes.iter().enumerate() {
        counters.extend(change.deltas.iter().map(|d| (&d.name, &d.bucket)));
        if taken + 1 + counters.len() > MAX_TRANSACTION_ACTIONS {
            return taken.max(1);
        }
    }
    changes.len()
}

impl TableStore {
    /// Counts the changes of one transaction's worth, skipping those counted before: a
    /// marker per change and the summed counters, all or nothing. When some markers exist
    /// already (a redelivery), the rest are counted without them.
    async fn count_once(&self, mut changes: Vec<&Counted>, now: i64) -> Result<(), StoreError> {
        let keep_until = ttl_from_ms(now + COUNTED_KEEP_MS);
        // Each round that fails on markers drops at least one change.
        for _ in 0..=changes.len() {
            if changes.is_empty() {
                return Ok(());
            }
            let mut actions: Vec<Action> = changes
                .iter()
                .map(|change| {
                    let marker = item(
                        &keys::counted(&change.change_id),
                        [(TTL_ATTRIBUTE, keep_until.clone())],
                    );
                    Put::if_absent(marker).into()
                })
                .collect();
            actions.extend(counter_updates(
                self.counter_shards,
                &summed(changes.iter().copied()),
            ));
            match self.table.transact(actions).await {
                Ok(()) => return Ok(()),
                Err(TableError::ConditionFailed(counted)) => {
                    let mut index = 0;
                    changes.retain(|_| {
                        index += 1;
                        !counted.contains(&(index - 1))
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict)
    }

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
        match self.table.put(Put::if_absent(marker)).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn add_counts(&self, changes: &[Counted], now: i64) -> Result<(), (usize, StoreError)> {
        let counted: Vec<(usize, &Counted)> = changes
            .iter()
            .enumerate()
            .filter(|(_, change)| !change.deltas.is_empty())
            .collect();
        let mut start = 0;
        while start < counted.len() {
            let rest: Vec<&Counted> = counted[start..].iter().map(|(_, c)| *c).collect();
            let take = fitting(&rest);
            self.count_once(rest[..take].to_vec(), now)
                .await
                .map_err(|e| (counted[start].0, e))?;
            start += take;
        }
        Ok(())
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
