//! Getting outbox jobs onto their queue, and running the ones no queue carries.

use std::time::Duration;

use super::{Job, JobQueue, Work};
use crate::BoxError;
use crate::store::{DeadOutboxRow, OutboxRow, StoreError, Stores};

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

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepSummary {
    /// Jobs sent to their queue (or clean-ups run) and removed from the outbox.
    pub sent: usize,
    /// Jobs whose send, clean-up or removal failed, and unreadable rows that could not be moved:
    /// they stay in the outbox for the next sweep.
    pub failed: usize,
    /// Rows that do not read as a job, moved to the outbox's dead letters.
    pub dead_lettered: usize,
}

impl SweepSummary {
    /// Nothing failed and nothing was dead-lettered.
    pub fn is_clean(&self) -> bool {
        self.failed == 0 && self.dead_lettered == 0
    }
}

/// Rows one listing of the sweep reads.
const SWEEP_BATCH: usize = 100;

/// Handles every outbox job older than `min_age`, oldest first, once: sends queued ones (their
/// request's own send failed or died) and runs clean-ups, removing each one handled. One job
/// failing never stops the rest: it is logged, counted and left in the outbox for the next
/// sweep (workers run a job id once, so a job sent but not removed is harmless). A row that
/// does not read as a job is moved to the dead letters and logged at ERROR. Fails only when
/// the outbox cannot be listed.
pub async fn sweep_outbox(
    queue: &dyn JobQueue,
    stores: &Stores,
    now: i64,
    min_age: Duration,
) -> Result<SweepSummary, StoreError> {
    let before = now - min_age.as_millis() as i64;
    let mut summary = SweepSummary::default();
    let mut after: Option<(i64, String)> = None;
    loop {
        let position = after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let rows = stores
            .outbox
            .outbox_rows(before, position, SWEEP_BATCH)
            .await?;
        let Some(last) = rows.last() else { break };
        let next = (last.created_at, last.id.clone());
        let more = rows.len() == SWEEP_BATCH;
        for row in rows {
            sweep_row(queue, stores, row, now, &mut summary).await;
        }
        // Rows left behind are passed by position, so they never hold up the rest; a position
        // that does not move on (a row whose keys do not say when it was written) ends the
        // sweep rather than reading the same rows again.
        if !more || after.as_ref().is_some_and(|previous| *previous >= next) {
            break;
        }
        after = Some(next);
    }
    if summary.is_clean() {
        tracing::info!(sent = summary.sent, "outbox swept");
    } else {
        tracing::error!(
            sent = summary.sent,
            failed = summary.failed,
            dead_lettered = summary.dead_lettered,
            "outbox swept with failures"
        );
    }
    Ok(summary)
}

/// `sweep_outbox`, returning how many jobs it handled.
pub async fn sweep(
    queue: &dyn JobQueue,
    stores: &Stores,
    now: i64,
    min_age: Duration,
) -> Result<usize, StoreError> {
    Ok(sweep_outbox(queue, stores, now, min_age).await?.sent)
}

async fn sweep_row(
    queue: &dyn JobQueue,
    stores: &Stores,
    row: OutboxRow,
    now: i64,
    summary: &mut SweepSummary,
) {
    let job = match row.job {
        Ok(job) => job,
        Err(unreadable) => {
            // The text stays with the dead letter; the log has no job contents.
            tracing::error!(job = %row.id, error = %unreadable.error, bytes = unreadable.raw.len(),
                "unreadable outbox row: moving it to the dead letters");
            let dead = DeadOutboxRow {
                id: row.id,
                created_at: row.created_at,
                raw: unreadable.raw,
                error: unreadable.error,
                dead_at: now,
            };
            match stores.outbox.dead_letter_outbox(&dead).await {
                Ok(()) => summary.dead_lettered += 1,
                Err(error) => {
                    tracing::error!(job = %dead.id, error = ?error,
                        "unreadable outbox row not moved; skipped until the next sweep");
                    summary.failed += 1;
                }
            }
            return;
        }
    };
    let handled: Result<(), (&str, BoxError)> = match &job.work {
        Work::AccountCleanup { user_id } => stores
            .posts
            .hide_author_posts(user_id)
            .await
            .map_err(|error| ("clean-up failed", error.into())),
        _ => queue
            .send(&job)
            .await
            .map_err(|error| ("queue unavailable", error)),
    };
    // Removed by the row's own key, whatever id its text holds.
    let handled = match handled {
        Ok(()) => stores
            .outbox
            .remove_from_outbox(&row.id)
            .await
            .map_err(|error| ("handled but not removed; runs again", error.into())),
        Err(failed) => Err(failed),
    };
    match handled {
        Ok(()) => summary.sent += 1,
        Err((what, error)) => {
            tracing::warn!(job = %row.id, error = %error, "{what}: the job stays in the outbox for the next sweep");
            summary.failed += 1;
        }
    }
}
