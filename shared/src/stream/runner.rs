//! Plays one of Lambda's event source mappings locally: takes the next batch of changes from a
//! feed (a reader of the embedded engine's change log, or DynamoDB Local's stream), hands it to
//! its consumer, and acknowledges what the consumer handled. A batch the consumer stopped in is
//! handed out again from that change, as `ReportBatchItemFailures` does on AWS. Each consumer
//! has its own runner and its own place in the stream.

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

/// The stream's consumers.
pub enum Consumer {
    /// The dashboard's counters (`metrics::count_changes`).
    Counts,
    /// The outbox relay (`jobs::relay_changes`), sending to `queue`.
    Relay(Arc<dyn JobQueue>),
}

impl Consumer {
    /// The name its change-log reader goes by.
    pub fn name(&self) -> &'static str {
        match self {
            Consumer::Counts => "counts",
            Consumer::Relay(_) => "outbox-relay",
        }
    }
}

pub struct Runner {
    pub feed: Arc<dyn ChangeFeed>,
    pub stores: Stores,
    pub consumer: Consumer,
}

impl Runner {
    /// Handles one batch: how many changes it acknowledged (0 when none were waiting).
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let changes = self.feed.pending(BATCH).await?;
        if changes.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        let handled = match &self.consumer {
            Consumer::Counts => count_changes(&*self.stores.metrics, &changes, now).await,
            Consumer::Relay(queue) => relay_changes(&self.stores, &**queue, &changes, now)
                .await
                .map(|_| ()),
        };
        let (stop, error) = match handled {
            Ok(()) => (changes.len(), None),
            Err(unhandled) => (unhandled.from, Some(unhandled.error)),
        };
        if stop > 0 {
            self.feed.acknowledge(&changes[stop - 1]).await?;
        }
        match error {
            Some(error) if stop == 0 => Err(error),
            Some(error) => {
                tracing::warn!(consumer = self.consumer.name(), error = ?error, handled = stop,
                    "batch handled in part; the rest again");
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
                        tracing::warn!(consumer = self.consumer.name(), error = ?error,
                            "stream consumer failed; retrying");
                        tokio::time::sleep(POLL_EVERY * 2u32.pow(failures.min(6))).await;
                    }
                }
            }
        });
    }
}
