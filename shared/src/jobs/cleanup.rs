//! An account's clean-up after its deletion: the request hides a first page of the author's
//! posts, and a clean-up job (relayed from the outbox) hides the rest.

use std::time::{Duration, Instant};

use super::{Job, Work};
use crate::store::{StoreError, Stores};

/// Posts one page of an account clean-up hides: one author-index query, one batch read, then a
/// transaction per post.
pub const CLEANUP_PAGE: usize = 100;

/// How long one relay invocation spends on account clean-ups, all of them together: well
/// inside the relay's 60 s timeout, with room left for the sends. A clean-up that does not
/// finish in it is rewritten in the outbox, and the stream hands it to the relay again.
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
