//! Getting outbox jobs onto their queue, and running the ones no queue carries.

use std::time::Duration;

use super::{Job, JobQueue, Work};
use crate::store::{StoreError, Stores};

/// Sends the queued jobs a committed write put in the outbox and removes each one its queue
/// took. Never fails: what cannot be sent now stays in the outbox for the sweeper, and the
/// request that committed the change still succeeds. Jobs no queue carries (clean-ups) stay in
/// the outbox: the request runs the clean-up itself, and the sweeper runs it once more after
/// `SWEEP` age to catch what index lag or a request that died left behind.
pub async fn dispatch(queue: &dyn JobQueue, stores: &Stores, jobs: &[Job]) {
    for job in jobs.iter().filter(|job| job.queue().is_some()) {
        if let Err(error) = queue.send(job).await {
            tracing::warn!(job = %job.id, error = %error,
                "queue unavailable; the job stays in the outbox for the sweeper");
            continue;
        }
        if let Err(error) = stores.outbox.remove_from_outbox(&job.id).await {
            // Sent twice at worst; workers run a job id once.
            tracing::warn!(job = %job.id, error = ?error, "sent job left in the outbox");
        }
    }
}

/// Handles every outbox job older than `min_age`: sends queued ones (their request's own send
/// failed or died) and runs clean-ups; removes each one handled. Returns how many.
pub async fn sweep(
    queue: &dyn JobQueue,
    stores: &Stores,
    now: i64,
    min_age: Duration,
) -> Result<usize, StoreError> {
    let before = now - min_age.as_millis() as i64;
    let mut handled = 0;
    loop {
        let due = stores.outbox.outbox_due(before, 100).await?;
        if due.is_empty() {
            return Ok(handled);
        }
        let mut left_behind = false;
        for job in &due {
            match &job.work {
                Work::AccountCleanup { user_id } => {
                    stores.posts.hide_author_posts(user_id).await?;
                }
                _ => {
                    if let Err(error) = queue.send(job).await {
                        tracing::warn!(job = %job.id, error = %error, "queue still unavailable");
                        left_behind = true;
                        continue;
                    }
                }
            }
            stores.outbox.remove_from_outbox(&job.id).await?;
            handled += 1;
        }
        // What could not be sent would come back first: leave it to the next sweep.
        if left_behind {
            return Ok(handled);
        }
    }
}
