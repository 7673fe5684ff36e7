//! The metrics job: reads the counters of the last `HISTORY_DAYS` days and the queues' depths,
//! and writes the snapshot of its five-minute bucket. A later run in the same bucket (a manual
//! `local-api metrics`, a retry) replaces it with its fresher numbers; a run whose numbers are
//! older than the stored ones (it read them before the stored run did) changes nothing.

use async_trait::async_trait;

use super::counts::{DAILY, TOTAL, totals};
use super::snapshot::{QueueDepth, Snapshot, bucket_of, history_dates};
use crate::BoxError;
use crate::clock::now_ms;
use crate::store::MetricsStore;

/// Messages waiting in each job queue and its dead-letter queue.
#[async_trait]
pub trait QueueDepths: Send + Sync {
    async fn depths(&self) -> Result<Vec<QueueDepth>, BoxError>;
}

/// Makes the snapshot of the bucket `at` falls in; returns it and whether this run wrote it
/// (false: the bucket already holds one taken at or after this one, which stays).
pub async fn run_metrics_job(
    metrics: &dyn MetricsStore,
    queues: &dyn QueueDepths,
    at: i64,
) -> Result<(Snapshot, bool), BoxError> {
    let bucket = bucket_of(at);
    // Taken before reading: every count written before this instant is in the snapshot, so of
    // two runs the one taken later never shows older numbers.
    let taken_at = now_ms();
    let mut names: Vec<String> = DAILY.iter().map(|n| (*n).to_owned()).collect();
    names.extend(totals());
    let mut buckets = history_dates(bucket);
    buckets.push(TOTAL.to_owned());
    let values = metrics.read_counters(&names, &buckets).await?;
    let depths = match queues.depths().await {
        Ok(depths) => depths,
        // The counters are still worth a snapshot; the queues show as unknown (none listed).
        Err(error) => {
            tracing::warn!(error = ?error, "reading queue depths");
            Vec::new()
        }
    };
    let snapshot = Snapshot::build(bucket, taken_at, &values, depths);
    let written = metrics
        .put_snapshot(bucket, taken_at, &serde_json::to_string(&snapshot)?)
        .await?;
    Ok((snapshot, written))
}
