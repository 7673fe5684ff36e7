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
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::DynamoStore;
use super::item::{Item, get_n, get_s, key, n, s, ttl_from_ms};
use super::retry::WriteError;
use super::schema::TTL_ATTRIBUTE;
use crate::metrics::counts::{self, Delta, day_of};
use crate::store::{MetricsStore, StoreError};

const DAY_MS: i64 = 86_400_000;
/// Daily counters outlive the dashboard's 90 days a little, then TTL removes them.
const DAILY_KEEP_MS: i64 = 100 * DAY_MS;
const SNAPSHOTS: &str = "SNAPSHOT";
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
pub(super) fn counter_updates(
    table: &str,
    shards: u32,
    deltas: &[Delta],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let shard = random_shard(shards);
    deltas
        .iter()
        .map(|delta| {
            let mut update = Update::builder()
                .table_name(table)
                .set_key(Some(key(
                    format!("COUNTER#{}#{shard}", delta.name),
                    &delta.bucket,
                )))
                .expression_attribute_names("#value", "value")
                .expression_attribute_values(":by", n(delta.by));
            update = match day_start(&delta.bucket) {
                Some(start) => update
                    .update_expression("ADD #value :by SET #ttl = :ttl")
                    .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                    .expression_attribute_values(":ttl", ttl_from_ms(start + DAILY_KEEP_MS)),
                None => update.update_expression("ADD #value :by"),
            };
            Ok(TransactWriteItem::builder().update(update.build()?).build())
        })
        .collect()
}

impl DynamoStore {
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
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "PK")
                .expression_attribute_values(":pk", s(format!("COUNTER#{name}#{shard}")))
                // Strongly consistent: a snapshot holds every count written before it was
                // taken, so one taken later is never staler (see `put_snapshot`).
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            for item in output.items() {
                let bucket = get_s(item, "SK")?;
                if buckets.contains(&bucket) {
                    values.push(((name.to_owned(), bucket), get_n(item, "value")?));
                }
            }
            match output.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(next) => start = Some(next),
                None => return Ok(values),
            }
        }
    }
}

#[async_trait]
impl MetricsStore for DynamoStore {
    async fn mark_active(&self, user_id: &str, at: i64) -> Result<bool, StoreError> {
        let day = day_of(at);
        let mut marker: Item = key(format!("ACTIVE#{day}#{user_id}"), "ACTIVE");
        let end_of_day = day_start(&day).unwrap_or(at) + DAY_MS;
        marker.insert(TTL_ATTRIBUTE.to_owned(), ttl_from_ms(end_of_day + DAY_MS));
        let mut items = vec![super::put_if_absent(&self.table, marker)?];
        items.extend(counter_updates(
            &self.table,
            self.counter_shards,
            &[counts::became_active(at)],
        )?);
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(WriteError::Condition(_)) => Ok(false),
            Err(WriteError::Store(e)) => Err(e),
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
        let mut item = key(SNAPSHOTS, format!("{bucket:015}"));
        item.insert("body".to_owned(), s(body));
        item.insert(TAKEN_AT.to_owned(), n(taken_at));
        item.insert(
            TTL_ATTRIBUTE.to_owned(),
            ttl_from_ms(bucket + SNAPSHOT_KEEP_MS),
        );
        // One conditional write: DynamoDB checks and replaces the item atomically, so of racing
        // runs the one with the latest `takenAt` stays, and an older one never lands after it.
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#pk) OR attribute_not_exists(#taken) OR #taken < :taken",
            )
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#taken", TAKEN_AT)
            .expression_attribute_values(":taken", n(taken_at));
        match self.put(request).await {
            Ok(()) => Ok(true),
            Err(WriteError::Condition(_)) => Ok(false),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn latest_snapshot(&self) -> Result<Option<(i64, String)>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_values(":pk", s(SNAPSHOTS))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await?;
        let Some(item) = output.items().first() else {
            return Ok(None);
        };
        let bucket = get_s(item, "SK")?
            .parse()
            .map_err(|_| StoreError::backend("a snapshot key is not a number"))?;
        Ok(Some((bucket, get_s(item, "body")?)))
    }
}
