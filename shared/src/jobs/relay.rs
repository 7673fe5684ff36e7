//! The outbox relay: jobs a change wrote in its own transaction (`OUTBOX#<job>` rows) are sent
//! to their queue and removed, read off the table's stream (`relay_changes`), with a
//! reconciliation that finds any row the stream's consumer left behind (`reconcile_outbox`).

use std::time::{Duration, Instant};

use super::cleanup::{CLEANUP_BUDGET, run_account_cleanup};
use super::{Job, JobQueue, Work};
use crate::store::entities::read_change;
use crate::store::keys::OUTBOX_SHARDS;
use crate::store::table::Change;
use crate::store::{Changed, DeadOutboxRow, OutboxRow, Stores};
use crate::stream::Unhandled;

/// What one relay or reconciliation pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelaySummary {
    /// Jobs sent to their queue (or clean-ups finished) and removed from the outbox.
    pub sent: usize,
    /// Jobs whose send, clean-up or removal failed: they stay in the outbox.
    pub failed: usize,
    /// Rows that do not read as a job, moved to the outbox's dead letters.
    pub dead_lettered: usize,
    /// Clean-ups that ran out of their time budget and were handed back to the stream.
    pub resumed: usize,
}

impl RelaySummary {
    pub fn is_clean(&self) -> bool {
        self.failed == 0 && self.dead_lettered == 0
    }

    fn add(&mut self, other: RelaySummary) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.dead_lettered += other.dead_lettered;
        self.resumed += other.resumed;
    }
}

/// Relays the jobs `changes` wrote. A failed row stops the batch there: it and every change
/// after it are to be delivered again (workers run a job id once, so a job sent twice is
/// harmless).
pub async fn relay_changes(
    stores: &Stores,
    queue: &dyn JobQueue,
    changes: &[Change],
    now: i64,
) -> Result<RelaySummary, Unhandled> {
    let mut rows = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        match read_change(change) {
            Ok(Changed::JobWaiting(row)) => rows.push((index, *row)),
            Ok(_) => {}
            Err(error) => tracing::error!(change = %change.id, error = ?error, "change not read"),
        }
    }
    let indexes: Vec<usize> = rows.iter().map(|(index, _)| *index).collect();
    let (summary, handled) =
        handle_rows(stores, queue, rows.into_iter().map(|(_, row)| row), now).await;
    match handled.iter().position(|ok| !ok) {
        None => Ok(summary),
        Some(failed) => Err(Unhandled {
            from: indexes[failed],
            error: crate::store::StoreError::Unavailable(
                format!("{} outbox job(s) not relayed", summary.failed).into(),
            ),
        }),
    }
}

/// Rows one reconciliation listing reads.
const RECONCILE_PAGE: usize = 100;

/// Relays every outbox row older than `min_age` (what the stream's consumer left: a send that
/// kept failing past the mapping's retries, a row written while the relay was off), one index
/// shard after another. Fails only when a shard cannot be listed.
pub async fn reconcile_outbox(
    stores: &Stores,
    queue: &dyn JobQueue,
    now: i64,
    min_age: Duration,
) -> Result<RelaySummary, crate::store::StoreError> {
    let before = now - min_age.as_millis() as i64;
    let mut summary = RelaySummary::default();
    for shard in 0..OUTBOX_SHARDS {
        let mut after: Option<(i64, String)> = None;
        loop {
            let position = after.as_ref().map(|(at, id)| (*at, id.as_str()));
            let rows = stores
                .outbox
                .outbox_rows(shard, before, position, RECONCILE_PAGE)
                .await?;
            let Some(last) = rows.last() else { break };
            let next = (last.created_at, last.id.clone());
            let more = rows.len() == RECONCILE_PAGE;
            summary.add(handle_rows(stores, queue, rows, now).await.0);
            // Rows left behind are passed by position, so they never hold up the rest.
            if !more || after.as_ref().is_some_and(|previous| *previous >= next) {
                break;
            }
            after = Some(next);
        }
    }
    if summary.is_clean() {
        tracing::info!(sent = summary.sent, "outbox reconciled");
    } else {
        tracing::error!(
            sent = summary.sent,
            failed = summary.failed,
            dead_lettered = summary.dead_lettered,
            "outbox reconciled with failures"
        );
    }
    Ok(summary)
}

/// Handles outbox rows: a row that does not read as a job is moved to the dead letters, queued
/// jobs are sent in batches and removed, then clean-ups run within `CLEANUP_BUDGET` (one left
/// unfinished is rewritten, so the stream brings it back). Returns what happened and, per
/// row, whether it was handled.
async fn handle_rows(
    stores: &Stores,
    queue: &dyn JobQueue,
    rows: impl IntoIterator<Item = OutboxRow>,
    now: i64,
) -> (RelaySummary, Vec<bool>) {
    let mut summary = RelaySummary::default();
    let rows: Vec<OutboxRow> = rows.into_iter().collect();
    let mut handled = vec![false; rows.len()];
    let mut queued: Vec<(usize, Job)> = Vec::new();
    let mut cleanups: Vec<(usize, String)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match &row.job {
            Err(unreadable) => {
                tracing::error!(job = %row.id, error = %unreadable.error, bytes = unreadable.raw.len(),
                    "unreadable outbox row: moving it to the dead letters");
                let dead = DeadOutboxRow {
                    id: row.id.clone(),
                    created_at: row.created_at,
                    raw: unreadable.raw.clone(),
                    error: unreadable.error.clone(),
                    dead_at: now,
                };
                match stores.outbox.dead_letter_outbox(&dead).await {
                    Ok(()) => {
                        summary.dead_lettered += 1;
                        handled[index] = true;
                    }
                    Err(error) => {
                        tracing::error!(job = %row.id, error = ?error, "unreadable outbox row not moved");
                        summary.failed += 1;
                    }
                }
            }
            Ok(job) => match &job.work {
                Work::AccountCleanup { user_id } => cleanups.push((index, user_id.clone())),
                _ => queued.push((index, job.clone())),
            },
        }
    }
    let jobs: Vec<Job> = queued.iter().map(|(_, job)| job.clone()).collect();
    let sent = queue.send_batch(&jobs).await;
    for ((index, _), result) in queued.iter().zip(sent) {
        let row = &rows[*index];
        let result = match result {
            Ok(()) => stores
                .outbox
                .remove_from_outbox(&row.id)
                .await
                .map_err(|error| format!("sent but not removed: {error:?}")),
            Err(error) => Err(format!("queue unavailable: {error}")),
        };
        match result {
            Ok(()) => {
                summary.sent += 1;
                handled[*index] = true;
            }
            Err(error) => {
                tracing::warn!(job = %row.id, error, "the job stays in the outbox");
                summary.failed += 1;
            }
        }
    }
    // Clean-ups last: a large one must not hold up the batch's mail.
    let cleanup_deadline = Instant::now() + CLEANUP_BUDGET;
    for (index, user_id) in cleanups {
        let row = &rows[index];
        handled[index] = clean_up(
            stores,
            &row.id,
            &user_id,
            cleanup_deadline,
            now,
            &mut summary,
        )
        .await;
    }
    (summary, handled)
}

/// Runs a clean-up job; true once it is done and removed, or handed back unfinished.
async fn clean_up(
    stores: &Stores,
    row_id: &str,
    user_id: &str,
    deadline: Instant,
    now: i64,
    summary: &mut RelaySummary,
) -> bool {
    let outcome = match run_account_cleanup(stores, user_id, deadline).await {
        Ok(true) => stores
            .outbox
            .remove_from_outbox(row_id)
            .await
            .map(|()| true),
        // Rewriting the row puts it on the stream again: the next delivery resumes it.
        Ok(false) => stores
            .outbox
            .touch_outbox(row_id, now)
            .await
            .map(|()| false),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(done) => {
            if done {
                summary.sent += 1;
            } else {
                summary.resumed += 1;
            }
            true
        }
        Err(error) => {
            tracing::warn!(job = %row_id, error = ?error, "clean-up failed; it stays in the outbox");
            summary.failed += 1;
            false
        }
    }
}
