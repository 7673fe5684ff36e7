//! Plays Lambda's event source mappings locally: takes the next batch of changes from a feed
//! (the embedded engine's change log, or DynamoDB Local's stream), hands it to both consumers,
//! and acknowledges what both handled. A batch a consumer stopped in is handed out again from
//! that change, as `ReportBatchItemFailures` does on AWS.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::jobs::{JobQueue, relay_changes};
use crate::metrics::count_changes;
use crate::store::table::ChangeFeed;
use crate::store::{StoreError, Stores};

/// Changes per batch (the template's `BatchSize`).
const BATCH: usize = 100;
/// How often an idle runner looks for new changes.
const POLL_EVERY: Duration = Duration::from_millis(100);

pub struct Runner {
    pub feed: Arc<dyn ChangeFeed>,
    pub stores: Stores,
    pub queue: Arc<dyn JobQueue>,
}

impl Runner {
    /// Handles one batch: how many changes it acknowledged (0 when none were waiting).
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let changes = self.feed.pending(BATCH).await?;
        if changes.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        let counted = count_changes(&*self.stores.metrics, &changes, now).await;
        let relayed = relay_changes(&self.stores, &*self.queue, &changes, now).await;
        let (stop, error) = match (counted, relayed) {
            (Ok(()), Ok(_)) => (changes.len(), None),
            (Err(a), Err(b)) if b.from < a.from => (b.from, Some(b.error)),
            (Err(failed), _) | (_, Err(failed)) => (failed.from, Some(failed.error)),
        };
        if stop > 0 {
            self.feed.acknowledge(&changes[stop - 1]).await?;
        }
        match error {
            Some(error) if stop == 0 => Err(error),
            Some(error) => {
                tracing::warn!(error = ?error, handled = stop, "batch handled in part; the rest again");
                Ok(stop)
            }
            None => Ok(stop),
        }
    }

    /// Handles batches until none is waiting; how many changes that took.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            match self.run_once().await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// Runs until the process ends, backing off after failures.
    pub fn spawn(self: Arc<Self>) {
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                match self.run_once().await {
                    Ok(0) => tokio::time::sleep(POLL_EVERY).await,
                    Ok(_) => failures = 0,
                    Err(error) => {
                        failures += 1;
                        tracing::warn!(error = ?error, "stream consumers failed; retrying");
                        tokio::time::sleep(POLL_EVERY * 2u32.pow(failures.min(6))).await;
                    }
                }
            }
        });
    }
}
