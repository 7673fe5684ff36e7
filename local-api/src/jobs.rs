//! The stream consumers (counts, outbox relay) over the embedded engine's change log, and the
//! workers, run in-process against its durable queue with the rules SQS and the template give
//! the deployed workers: a received message is hidden while it runs and comes back if the run
//! dies (so a restart loses nothing), a failed one comes back later, and the fifth failure
//! (the template's `maxReceiveCount`) or a failure no retry can fix moves it to the dead
//! letters.

use std::sync::Arc;
use std::time::Duration;

use shared::App;
use shared::clock::now_ms;
use shared::jobs::{Deliveries, Job, JobFailure, Queue, run_job};
use shared::store::table::sqlite::SqliteTable;
use shared::store::table::sqlite::queue::Received;
use shared::stream::{Consumer, Runner};

/// Receives before a message is dead-lettered (the template's `maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 5;
/// How long a received message stays hidden: longer than any run.
const VISIBILITY_MS: i64 = 60_000;
const POLL_EVERY: Duration = Duration::from_millis(250);

/// Starts the stream consumers and one worker per queue; they run until the process ends.
pub fn start(
    app: Arc<App>,
    store: Arc<SqliteTable>,
    deliveries: Deliveries,
) -> Result<(), shared::BoxError> {
    for consumer in [Consumer::Counts, Consumer::Relay(app.queue.clone())] {
        Arc::new(Runner {
            feed: Arc::new(store.change_log(consumer.name())?),
            stores: app.stores.clone(),
            consumer,
        })
        .spawn();
    }
    let deliveries = Arc::new(deliveries);
    for queue in [Queue::Email, Queue::Telegram] {
        let (app, store, deliveries) = (app.clone(), store.clone(), deliveries.clone());
        tokio::spawn(async move {
            loop {
                match drain_once(&app, &store, &deliveries, queue).await {
                    Ok(0) => tokio::time::sleep(POLL_EVERY).await,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(queue = queue.name(), error = ?error, "local queue");
                        tokio::time::sleep(POLL_EVERY * 4).await;
                    }
                }
            }
        });
    }
    Ok(())
}

/// Receives and runs one batch of `queue`; returns how many messages it took.
pub async fn drain_once(
    app: &App,
    store: &SqliteTable,
    deliveries: &Deliveries,
    queue: Queue,
) -> Result<usize, shared::store::StoreError> {
    let batch = store.receive(queue, now_ms(), VISIBILITY_MS, 10).await?;
    for message in &batch {
        handle(app, store, deliveries, message).await?;
    }
    Ok(batch.len())
}

async fn handle(
    app: &App,
    store: &SqliteTable,
    deliveries: &Deliveries,
    message: &Received,
) -> Result<(), shared::store::StoreError> {
    let job = match Job::from_json(&message.body) {
        Ok(job) => job,
        Err(reason) => {
            tracing::error!(message = %message.message_id, reason, "not a job; dead-lettered");
            return store.dead_letter(&message.message_id, &reason).await;
        }
    };
    match run_job(&*app.stores.job_records, deliveries, &job, now_ms()).await {
        Ok(()) => store.delete_message(&message.message_id).await,
        Err(JobFailure::Permanent(reason)) => {
            tracing::error!(job = %job.id, reason, "job cannot succeed; dead-lettered");
            store.dead_letter(&message.message_id, &reason).await
        }
        Err(failure) if message.receive_count >= MAX_RECEIVES => {
            tracing::error!(job = %job.id, error = %failure, "job failed {MAX_RECEIVES} times; dead-lettered");
            store
                .dead_letter(&message.message_id, &failure.to_string())
                .await
        }
        Err(failure) => {
            let after = match &failure {
                JobFailure::Retry {
                    after: Some(after), ..
                } => *after,
                // 2, 4, 8, 16 s: sooner than the deployed queue's visibility timeout, so a
                // local run shows the retries.
                _ => Duration::from_secs(1 << message.receive_count.min(6)),
            };
            tracing::warn!(job = %job.id, error = %failure, retry_in = ?after, "job will be retried");
            store
                .retry_message(
                    &message.message_id,
                    now_ms() + after.as_millis() as i64,
                    &failure.to_string(),
                )
                .await
        }
    }
}
