//! Optimistic writes: read, check, write conditioned on what was read; when another write
//! came between (the store answers `Conflict`), read again and retry, a few times.
//!
//! An attempt is a closure returning a future (`|n| async { .. }`), not an async closure: the
//! future an async closure borrows from itself is not provably `Send`, which every handler's
//! future must be.

use crate::auth::Principal;
use crate::store::{StoreError, UserStore};

use super::ApiError;

/// Conflicting writes one request absorbs by re-reading, before answering 409.
pub const WRITE_ATTEMPTS: usize = 3;

/// Runs `attempt` (given the attempt's number from 0) until it writes (`Some`) or fails; `None`
/// means it lost a race and is run again, at most `WRITE_ATTEMPTS` times in all. An attempt
/// that was given a version (`If-Match`) re-checks it against what it reads, so a lost race
/// turns into 412 there.
pub async fn retry_lost_races<T, F>(mut attempt: impl FnMut(usize) -> F) -> Result<T, ApiError>
where
    F: Future<Output = Result<Option<T>, ApiError>>,
{
    for number in 0..WRITE_ATTEMPTS {
        if let Some(done) = attempt(number).await? {
            return Ok(done);
        }
    }
    Err(StoreError::Conflict.into())
}

/// `retry_lost_races` for a signed-in caller: before each retry the caller is read again from
/// `users`, since the race may have been lost to their own demotion, deletion or ended session
/// (`SessionEnded` then). `attempt` gets the caller as read and checks their permission itself,
/// every time.
pub async fn retry_as<T, F>(
    users: &dyn UserStore,
    principal: Principal,
    mut attempt: impl FnMut(Principal) -> F,
) -> Result<T, ApiError>
where
    F: Future<Output = Result<Option<T>, ApiError>>,
{
    let mut principal = principal;
    for number in 0..WRITE_ATTEMPTS {
        if number > 0 {
            principal = principal.reloaded(users).await?;
        }
        if let Some(done) = attempt(principal.clone()).await? {
            return Ok(done);
        }
    }
    Err(StoreError::Conflict.into())
}

/// A store write's outcome for an attempt: `None` when it lost a race.
pub fn unless_lost<T>(result: Result<T, StoreError>) -> Result<Option<T>, ApiError> {
    match result {
        Ok(done) => Ok(Some(done)),
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
