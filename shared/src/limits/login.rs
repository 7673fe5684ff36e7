//! Failed logins: counted per account and address, per account, and per address, before the
//! password hash runs. Filling the per-account count locks the account; each lock in a row
//! lasts twice the one before, up to `lockout_max`, and a password reset ends it.
//!
//! An attempt reserves one of each count before its hash runs, so however many arrive at once,
//! no more are checked than the counts have room for; the reservation is given back if the
//! password was right and kept if it was wrong. A count full of failures refuses until its
//! window ends. A count full only because attempts are still being checked is not a reason to
//! refuse a right password: a new attempt waits for them (up to `login_wait`), and is checked as
//! soon as one gives its place back, or refused once they have all failed. One not settled
//! `login_attempt_max` after it started died with its request, and counts as failed.
//!
//! Accounts are keyed by the address typed, registered or not, so a lock looks the same for an
//! account that does not exist.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::Quota;
use super::counters::{Limits, Taken, counter, ip_subject, subject, too_many};
use crate::audit::AuditTrail;
use crate::auth::PasswordHasher;
use crate::clock::{now_ms, rfc3339};
use crate::domain::{AuditAction, AuditOutcome, EnteredPassword, FieldErrors, Invalid, User};
use crate::http::{ApiError, Caller};
use crate::store::{Counter, CounterState, LoginState};

const TOO_MANY_ATTEMPTS: &str = "too many failed sign-ins; wait before trying again";
const BEING_CHECKED: &str =
    "other sign-ins to this account are still being checked; try again in a moment";

/// The first pause between looks at a count being settled; each later one doubles, up to the
/// second.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// How many of a counter's count are failed attempts: all but those still being checked (one
/// still pending past its `pending_until` never finished, and counts as failed).
fn failures(state: &CounterState, now: i64) -> u32 {
    if state.pending_until <= now {
        state.count
    } else {
        state.count.saturating_sub(state.pending)
    }
}

/// What keeps a count full.
enum Full {
    /// Failures fill at least one of them: refused until its window ends (the tightest's quota).
    Failures(Quota),
    /// Only attempts still being checked, the last of them running until `until` at the latest
    /// (`limit`: the count's).
    InFlight { until: i64, limit: u32 },
    /// Nothing any more: an attempt settled (or a window ended) since.
    Room,
}

/// What a sign-in attempt takes: the limits it is counted against, the password hasher, and
/// where lockouts and wrong passwords are recorded.
#[derive(Clone, Copy)]
pub struct Logins<'a> {
    pub limits: Limits<'a>,
    pub hasher: &'a PasswordHasher,
    pub audit: AuditTrail<'a>,
}

/// The lock key of an address as typed (normalised when it parses).
pub fn account_key(email: &str) -> String {
    subject(&["login", email])
}

/// One login attempt that passed the limits: its counts are reserved until it succeeds (given
/// back) or fails (kept).
pub struct LoginAttempt<'a> {
    logins: Logins<'a>,
    account: String,
    state: LoginState,
    taken: Option<Taken>,
    now: i64,
}

impl<'a> Logins<'a> {
    /// Before the password is checked: a locked account or a full count answers 429; otherwise
    /// the attempt is counted against every login limit.
    pub async fn admit(
        &self,
        email: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<LoginAttempt<'a>, ApiError> {
        let account = account_key(email);
        let (state, taken) = if self.limits.rules.enabled {
            let (state, taken) = self.count(&account, ip, now).await?;
            (state, Some(taken))
        } else {
            (LoginState::default(), None)
        };
        Ok(LoginAttempt {
            logins: *self,
            account,
            state,
            taken,
            now,
        })
    }

    /// Counts an attempt on `account` against every login limit, unless it is locked.
    async fn count(
        &self,
        account: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<(LoginState, Taken), ApiError> {
        let rules = self.limits.rules;
        let state = self.limits.store.login_state(account).await?;
        if state.locked_until > now {
            return Err(self.locked(state.locked_until, now));
        }
        let epoch = state.epoch.to_string();
        let ip = ip_subject(ip);
        let counters = vec![
            counter(
                "login-account",
                rules.login_account,
                &subject(&[account, &epoch]),
                now,
            ),
            counter(
                "login-account-ip",
                rules.login_account_ip,
                &subject(&[account, &epoch, &ip]),
                now,
            ),
            counter("login-ip", rules.login_ip, &ip, now),
        ];
        let started = Instant::now();
        let clock = || now + started.elapsed().as_millis() as i64;
        let mut pause = FIRST_PAUSE;
        loop {
            let pending_until = clock() + rules.login_attempt_max.as_millis() as i64;
            let full = match self
                .limits
                .reserve_all(counters.clone(), clock(), pending_until)
                .await?
            {
                Ok(taken) => return Ok((state, taken)),
                Err(full) => full,
            };
            loop {
                match self.why_full(&full, clock()).await? {
                    Full::Failures(quota) => return Err(too_many(quota, TOO_MANY_ATTEMPTS)),
                    Full::Room => break,
                    Full::InFlight { until, limit } => {
                        if started.elapsed() >= rules.login_wait {
                            let quota = Quota {
                                limit,
                                remaining: 0,
                                reset_secs: Quota::seconds_until(until, clock()),
                            };
                            return Err(too_many(quota, BEING_CHECKED));
                        }
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(LONGEST_PAUSE);
                    }
                }
            }
        }
    }

    /// Why the counters a reservation found `full` are full, read again now.
    async fn why_full(&self, full: &[(Counter, Quota)], now: i64) -> Result<Full, ApiError> {
        let reads = full
            .iter()
            .map(|(counter, _)| self.limits.store.counter_state(counter));
        let states = futures_util::future::join_all(reads).await;
        let mut refused: Option<Quota> = None;
        let mut in_flight: Option<(i64, u32)> = None;
        for ((counter, quota), state) in full.iter().zip(states) {
            let Some(state) = state? else {
                continue;
            };
            if state.count < counter.limit {
                continue;
            }
            if failures(&state, now) >= counter.limit {
                refused = Some(refused.map_or(*quota, |q| q.tightest(*quota)));
            } else if in_flight.is_none_or(|(until, _)| until < state.pending_until) {
                in_flight = Some((state.pending_until, counter.limit));
            }
        }
        Ok(match (refused, in_flight) {
            (Some(quota), _) => Full::Failures(quota),
            (None, Some((until, limit))) => Full::InFlight { until, limit },
            (None, None) => Full::Room,
        })
    }

    /// The answer to a locked account: the same whoever asks and whatever the password.
    fn locked(&self, until: i64, now: i64) -> ApiError {
        let reset_secs = Quota::seconds_until(until, now);
        too_many(
            Quota {
                limit: self.limits.rules.login_account.limit,
                remaining: 0,
                reset_secs,
            },
            TOO_MANY_ATTEMPTS,
        )
    }

    /// Checks a signed-in user's current password (to change the password or the address) as
    /// a login attempt: refused while the account is locked, counted and audited (`action`,
    /// failure) when wrong, so a stolen session cannot guess the password either. The quota is
    /// for the `RateLimit-*` headers.
    pub async fn verify_current_password(
        &self,
        caller: &Caller,
        user: &User,
        password: &str,
        action: AuditAction,
    ) -> Result<(bool, Option<Quota>), ApiError> {
        let attempt = self.admit(user.email.as_str(), caller.ip, now_ms()).await?;
        match self
            .hasher
            .verify(&EnteredPassword::new(password), Some(&user.password_hash))
            .await
        {
            Ok(true) => {
                attempt.succeeded().await;
                Ok((true, attempt.quota_after_success()))
            }
            Ok(false) => {
                attempt.failed(caller, Some(&user.id)).await;
                let event = caller.event(action, AuditOutcome::Failure);
                self.audit
                    .record(event.by_self(&user.id).detail("wrong_password"))
                    .await;
                Ok((false, attempt.quota()))
            }
            Err(e) => {
                attempt.succeeded().await;
                Err(e.into())
            }
        }
    }

    /// `verify_current_password` as the routes that ask for it answer: the lock's quota when
    /// right; when wrong, the answer itself, 422 `incorrect` on `field` with the quota.
    pub async fn confirm_current_password(
        &self,
        caller: &Caller,
        user: &User,
        field: &str,
        password: &str,
        action: AuditAction,
    ) -> Result<Option<Quota>, axum::response::Response> {
        use axum::response::IntoResponse;
        match self
            .verify_current_password(caller, user, password, action)
            .await
        {
            Ok((true, quota)) => Ok(quota),
            Ok((false, quota)) => {
                let mut errors = FieldErrors::default();
                errors.push(
                    field,
                    Invalid::new("incorrect", "is not your current password"),
                );
                let refused = ApiError::Validation(errors.into_vec());
                Err(super::with_quota(quota, refused))
            }
            Err(error) => Err(error.into_response()),
        }
    }

    /// Ends the lock of the account with this address and starts its counts afresh (a password
    /// reset proved the owner). True when it was locked. A store error is logged: the lock then
    /// ends on its own.
    pub async fn unlock(&self, email: &str, now: i64) -> bool {
        let keep = now + self.limits.rules.lockout_max.as_millis() as i64;
        match self
            .limits
            .store
            .unlock_login(&account_key(email), keep)
            .await
        {
            Ok(before) => before.locked_until > now,
            Err(error) => {
                tracing::warn!(error = ?error, "unlocking an account");
                false
            }
        }
    }
}

impl LoginAttempt<'_> {
    /// What is left if this attempt counts (it failed).
    pub fn quota(&self) -> Option<Quota> {
        self.taken.as_ref().and_then(|t| t.quota)
    }

    /// What is left once this attempt is given back (it succeeded).
    pub fn quota_after_success(&self) -> Option<Quota> {
        self.quota().map(|q| Quota {
            remaining: (q.remaining + 1).min(q.limit),
            ..q
        })
    }

    /// The password was right: the attempt does not count.
    pub async fn succeeded(&self) {
        if let Some(taken) = &self.taken {
            taken.settle(self.logins.limits.store, false).await;
        }
    }

    /// The password was wrong: the attempt counts. If its failure fills the account's count,
    /// locks the account (of several attempts racing to lock, one does), records the lockout
    /// against `target` and returns until when. A store error is logged: the full count still
    /// refuses logins until its window ends.
    pub async fn failed(&self, caller: &Caller, target: Option<&str>) -> Option<i64> {
        let taken = self.taken.as_ref()?;
        let settled = taken.settle(self.logins.limits.store, true).await;
        let account = settled.first().copied().flatten()?;
        let until = self.lock_if_full(&account).await?;
        let mut lockout = caller
            .event(AuditAction::Lockout, AuditOutcome::Success)
            .detail(format!("until {}", rfc3339(until)));
        lockout.target = target.map(str::to_owned);
        self.logins.audit.record(lockout).await;
        Some(until)
    }

    /// `account`: the per-account count, as this failure left it.
    async fn lock_if_full(&self, account: &CounterState) -> Option<i64> {
        let Limits { store, rules } = self.logins.limits;
        if failures(account, self.now) < rules.login_account.limit {
            return None;
        }
        let max = rules.lockout_max.as_millis() as i64;
        // A lock soon after the last one ended doubles it; a day (lockout_max) later it is
        // forgotten.
        let in_a_row = if self.now - self.state.locked_until < max {
            self.state.lockouts
        } else {
            0
        };
        let length = (rules.lockout_base.as_millis() as i64)
            .saturating_mul(1i64 << in_a_row.min(20))
            .min(max);
        let until = self.now + length;
        let locked = store
            .lock_login(&self.account, &self.state, until, in_a_row + 1, until + max)
            .await;
        match locked {
            Ok(locked) => locked.then_some(until),
            Err(error) => {
                tracing::warn!(error = ?error, "locking an account");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_what_is_not_still_being_checked() {
        let state = CounterState {
            count: 5,
            pending: 3,
            pending_until: 10_000,
        };
        assert_eq!(failures(&state, 9_999), 2);
        // Past its time, an attempt still pending never finished: it counts as failed.
        assert_eq!(failures(&state, 10_000), 5);
        let settled = CounterState {
            count: 4,
            pending: 0,
            pending_until: 0,
        };
        assert_eq!(failures(&settled, 1), 4);
    }
}
