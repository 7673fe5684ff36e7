//! Answers that must not tell by their timing whether an account exists (forgot-password,
//! sign-in by mail): the work runs, then the answer waits until a fixed time has passed.

use std::time::Duration;

/// Longer than the real work takes (a lookup and a conditional write).
pub const UNIFORM_ANSWER_TIME: Duration = Duration::from_millis(400);

/// `work`'s output, no sooner than `UNIFORM_ANSWER_TIME` after it started.
pub async fn in_uniform_time<T>(work: impl Future<Output = T>) -> T {
    let started = tokio::time::Instant::now();
    let output = work.await;
    tokio::time::sleep_until(started + UNIFORM_ANSWER_TIME).await;
    output
}
