//! The metrics job locally: once at start and every five minutes while serving, or once with
//! `local-api metrics`. On the embedded store the queue depths come from its own queue, and the
//! change log is counted up before each snapshot.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shared::clock::now_ms;
use shared::metrics::{BUCKET_MS, QueueDepth, QueueDepths, run_metrics_job};
use shared::stream::{Consumer, Runner};
use shared::{App, BoxError};

/// No queue to read (a local run against DynamoDB): the snapshot lists none.
struct NoQueues;

#[async_trait]
impl QueueDepths for NoQueues {
    async fn depths(&self) -> Result<Vec<QueueDepth>, BoxError> {
        Ok(Vec::new())
    }
}

/// Runs the job for the current bucket; prints what it did.
pub async fn run_once(app: Arc<App>) -> Result<(), BoxError> {
    let (snapshot, written) = snapshot_now(&app).await?;
    let counts = format!(
        "{} users, {} posts",
        snapshot.totals.users, snapshot.totals.posts
    );
    if written {
        println!("wrote snapshot of {}: {counts}", snapshot.bucket);
    } else {
        println!(
            "kept the snapshot of {}: it was taken after this run's ({counts})",
            snapshot.bucket
        );
    }
    Ok(())
}

/// On the embedded store, the change log is counted up first (what the server's counts consumer
/// would do a moment later), so a snapshot taken by hand holds every committed change.
async fn snapshot_now(app: &App) -> Result<(shared::metrics::Snapshot, bool), BoxError> {
    match app.embedded_store() {
        Some(store) => {
            let counts = Runner {
                feed: Arc::new(store.change_log(Consumer::Counts.name())?),
                stores: app.stores.clone(),
                consumer: Consumer::Counts,
            };
            counts.drain().await?;
            run_metrics_job(&*app.stores.metrics, &**store, now_ms()).await
        }
        None => run_metrics_job(&*app.stores.metrics, &NoQueues, now_ms()).await,
    }
}

/// Snapshots now and at every five-minute bucket after, while the server runs; not at all with
/// `LOCAL_METRICS=off` (e.g. while seeding data whose snapshot is taken later).
pub fn start_timer(app: Arc<App>) {
    if std::env::var("LOCAL_METRICS").is_ok_and(|v| v == "off") {
        tracing::info!("LOCAL_METRICS=off: no metrics snapshots");
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(error) = snapshot_now(&app).await {
                tracing::warn!(error = ?error, "metrics job");
            }
            let into_bucket = now_ms().rem_euclid(BUCKET_MS);
            let wait = (BUCKET_MS - into_bucket + 1_000) as u64;
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    });
}
