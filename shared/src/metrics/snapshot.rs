//! One snapshot of the dashboard's numbers: what the metrics job writes every five minutes and
//! the dashboard serves.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::counts::{self, DAILY, day_of, posts_in};
use crate::domain::PostStatus;

/// Days of history a snapshot holds.
pub const HISTORY_DAYS: usize = 90;
/// One snapshot per this many milliseconds.
pub const BUCKET_MS: i64 = 5 * 60 * 1000;

/// The start of the bucket `ms` falls in.
pub fn bucket_of(ms: i64) -> i64 {
    ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The bucket's start, RFC 3339.
    pub bucket: String,
    /// When its counts were read (just before reading, RFC 3339): the snapshot holds every
    /// count written before then. A bucket's snapshot is replaced only by one taken later.
    pub generated_at: String,
    pub totals: Totals,
    /// Oldest first, one per day, the last being the bucket's own day.
    pub days: Vec<Day>,
    pub queues: Vec<QueueDepth>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub users: i64,
    pub posts: i64,
    pub drafts: i64,
    pub published: i64,
    pub archived: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Day {
    pub date: String,
    pub signups: i64,
    pub active_users: i64,
    pub posts_created: i64,
    pub posts_published: i64,
    pub failed_logins: i64,
    pub lockouts: i64,
}

/// Messages waiting in a queue and in its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDepth {
    pub queue: String,
    pub waiting: i64,
    pub dead_letters: i64,
}

/// The dates of the `HISTORY_DAYS` days ending with the day of `ms`, oldest first.
pub fn history_dates(ms: i64) -> Vec<String> {
    (0..HISTORY_DAYS as i64)
        .rev()
        .map(|back| day_of(ms - back * 86_400_000))
        .collect()
}

impl Snapshot {
    /// Builds the snapshot of bucket `bucket` from summed counter values keyed by
    /// (name, bucket).
    pub fn build(
        bucket: i64,
        generated_at: i64,
        values: &HashMap<(String, String), i64>,
        queues: Vec<QueueDepth>,
    ) -> Self {
        let value = |name: &str, bucket: &str| {
            values
                .get(&(name.to_owned(), bucket.to_owned()))
                .copied()
                .unwrap_or(0)
        };
        let total = |name: &str| value(name, counts::TOTAL);
        let days = history_dates(bucket)
            .into_iter()
            .map(|date| {
                let [
                    signups,
                    active_users,
                    posts_created,
                    posts_published,
                    failed_logins,
                    lockouts,
                ] = [0, 1, 2, 3, 4, 5].map(|i| value(DAILY[i], &date));
                Day {
                    date,
                    signups,
                    active_users,
                    posts_created,
                    posts_published,
                    failed_logins,
                    lockouts,
                }
            })
            .collect();
        Self {
            bucket: crate::clock::rfc3339(bucket),
            generated_at: crate::clock::rfc3339(generated_at),
            totals: Totals {
                users: total(counts::USERS),
                posts: total(counts::POSTS),
                drafts: total(&posts_in(PostStatus::Draft)),
                published: total(&posts_in(PostStatus::Published)),
                archived: total(&posts_in(PostStatus::Archived)),
            },
            days,
            queues,
        }
    }

    /// The same snapshot with only its last `days` days.
    pub fn last_days(mut self, days: usize) -> Self {
        let skip = self.days.len().saturating_sub(days);
        self.days.drain(..skip);
        self
    }
}
