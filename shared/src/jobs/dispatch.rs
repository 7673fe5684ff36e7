//! Getting outbox jobs onto their queue, and running the ones no queue carries.

use std::time::{Duration, Instant};

use super::{Job, JobQueue, Work};
use crate::BoxError;
use crate::store::{DeadOutboxRow, OutboxRow, OutboxStore, StoreError, Stores};

/// Where a write's jobs go once it commits: the store's outbox holds each one until its queue
/// has it.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    pub store: &'a dyn OutboxStore,
    pub queue: &'a dyn JobQueue,
}

impl Outbox<'_> {
    /// Sends the queued jobs a committed write put in the outbox and removes each one its queue
    /// took. Never fails: what cannot be sent now stays in the outbox for the sweeper, and the
    /// request that committed the change still succeeds. Jobs no queue carries (clean-ups) stay
    /// in the outbox for the sweeper, which runs them once they are `min_age` old (by then the
    /// author index has every post, whatever its lag), within `CLEANUP_BUDGET` per sweep.
    pub async fn dispatch(&self, jobs: &[Job]) {
        for job in jobs.iter().filter(|job| job.queue().is_some()) {
            if let Err(error) = self.queue.send(job).await {
                tracing::warn!(job = %job.id, error = %error,
                    "queue unavailable; the job stays in the outbox for the sweeper");
                continue;
            }
            if let Err(error) = self.store.remove_from_outbox(&job.id).await {
                // Sent twice at worst; workers run a job id once.
                tracing::warn!(job = %job.id, error = ?error, "sent job left in the outbox");
            }
        }
    }
}

/// Posts one page of an account clean-up hides: one author-index query, one batch read, then a
/// transaction per post.
pub const CLEANUP_PAGE: usize = 100;

/// How long one sweep spends on account clean-ups, all of them together: well inside the
/// sweeper's 60 s timeout, with room left for the sends. A clean-up that does not finish in it
/// stays in the outbox, and the next sweep resumes it.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(20);

/// Posts a deletion request hides itself (one page), so a usual account leaves storage and the
/// dashboard's totals at once; the clean-up job hides the rest.
pub const CLEANUP_IN_REQUEST: usize = 25;

/// The deletion request's share of the clean-up after `user_id`'s deletion: one page of at
/// most `CLEANUP_IN_REQUEST` posts, whatever the account holds (reads stop showing a deleted
/// author's posts without it). Its failure is logged, not returned: the job hides those posts
/// too. With `job_written` false (a repeated deletion, whose job may be long done or was never
/// written), a clean-up job is put in the outbox when posts remain; fails only when that job
/// cannot be written.
pub async fn begin_account_cleanup(
    stores: &Stores,
    user_id: &str,
    job_written: bool,
    now: i64,
) -> Result<(), StoreError> {
    let more = match stores
        .posts
        .hide_author_posts_page(user_id, None, CLEANUP_IN_REQUEST)
        .await
    {
        Ok(next) => next.is_some(),
        Err(error) => {
            tracing::warn!(user = user_id, error = ?error, "posts left to the clean-up job");
            true
        }
    };
    if more && !job_written {
        let job = Job::new(
            Work::AccountCleanup {
                user_id: user_id.to_owned(),
            },
            now,
        );
        stores.outbox.add_to_outbox(&[job]).await?;
    }
    Ok(())
}

/// Runs the clean-up after `user_id`'s deletion, a page of `CLEANUP_PAGE` posts at a time,
/// until the author index has no more of the user's posts (`true`: the job is done) or
/// `deadline` passes (`false`: run it again; it starts no page after the deadline).
///
/// Resumable and safe to run twice at once: a run starts from the top of the author index,
/// which hidden posts have left, and each post is hidden (and uncounted) once, whichever run
/// gets there first.
pub async fn run_account_cleanup(
    stores: &Stores,
    user_id: &str,
    deadline: Instant,
) -> Result<bool, StoreError> {
    if Instant::now() >= deadline {
        return Ok(false);
    }
    // The job is only ever written with the user's deletion: an active user's posts stay.
    if let Some(user) = stores.users.get_user(user_id).await?
        && user.is_active()
    {
        tracing::warn!(
            user = user_id,
            "clean-up job for an active user: nothing hidden"
        );
        return Ok(true);
    }
    let mut after = None;
    loop {
        let next = stores
            .posts
            .hide_author_posts_page(user_id, after.as_ref(), CLEANUP_PAGE)
            .await?;
        match next {
            None => return Ok(true),
            Some(_) if Instant::now() >= deadline => return Ok(false),
            next => after = next,
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepSummary {
    /// Jobs sent to their queue (or clean-ups finished) and removed from the outbox. A clean-up
    /// that ran out of the sweep's `CLEANUP_BUDGET` stays in the outbox and is not counted: the
    /// next sweep resumes it.
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
    let cleanup_deadline = Instant::now() + CLEANUP_BUDGET;
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
            sweep_row(queue, stores, row, now, cleanup_deadline, &mut summary).await;
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
    cleanup_deadline: Instant,
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
        Work::AccountCleanup { user_id } => {
            match run_account_cleanup(stores, user_id, cleanup_deadline).await {
                Ok(true) => Ok(()),
                Ok(false) => {
                    tracing::info!(job = %row.id,
                        "clean-up used the sweep's time budget: the next sweep resumes it");
                    return;
                }
                Err(error) => Err(("clean-up failed", error.into())),
            }
        }
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
