//! Failed logins: counted per account and address, per account, and per address, before the
//! password hash runs. Filling the per-account count locks the account; each lock in a row
//! lasts twice the one before, up to `lockout_max`, and a password reset ends it.
//!
//! Accounts are keyed by the address typed, registered or not, so a lock looks the same for an
//! account that does not exist.

use std::net::IpAddr;

use super::Quota;
use super::counters::{Taken, counter, ip_subject, subject, take_all, too_many};
use crate::App;
use crate::clock::{now_ms, rfc3339};
use crate::domain::{AuditAction, AuditOutcome, User};
use crate::http::{ApiError, Caller};
use crate::store::LoginState;

const TOO_MANY_ATTEMPTS: &str = "too many failed sign-ins; wait before trying again";

/// The lock key of an address as typed (normalised when it parses).
pub fn account_key(email: &str) -> String {
    subject(&["login", email])
}

/// One login attempt that passed the limits and was counted as a failure until it succeeds.
pub struct LoginAttempt {
    account: String,
    state: LoginState,
    taken: Option<Taken>,
    now: i64,
}

/// Before the password is checked: a locked account or a full count answers 429; otherwise the
/// attempt is counted against every login limit.
pub async fn admit_login(
    app: &App,
    email: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<LoginAttempt, ApiError> {
    let limits = &app.config.rate_limits;
    let account = account_key(email);
    if !limits.enabled {
        return Ok(LoginAttempt {
            account,
            state: LoginState::default(),
            taken: None,
            now,
        });
    }
    let state = app.stores.limits.login_state(&account).await?;
    if state.locked_until > now {
        return Err(locked(app, state.locked_until, now));
    }
    let epoch = state.epoch.to_string();
    let ip = ip_subject(ip);
    let counters = vec![
        counter(
            "login-account",
            limits.login_account,
            &subject(&[&account, &epoch]),
            now,
        ),
        counter(
            "login-account-ip",
            limits.login_account_ip,
            &subject(&[&account, &epoch, &ip]),
            now,
        ),
        counter("login-ip", limits.login_ip, &ip, now),
    ];
    let taken = take_all(app, counters, now, TOO_MANY_ATTEMPTS).await?;
    Ok(LoginAttempt {
        account,
        state,
        taken: Some(taken),
        now,
    })
}

/// The answer to a locked account: the same whoever asks and whatever the password.
fn locked(app: &App, until: i64, now: i64) -> ApiError {
    let reset_secs = Quota::seconds_until(until, now);
    too_many(
        Quota {
            limit: app.config.rate_limits.login_account.limit,
            remaining: 0,
            reset_secs,
        },
        TOO_MANY_ATTEMPTS,
    )
}

impl LoginAttempt {
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
    pub async fn succeeded(&self, app: &App) {
        if let Some(taken) = &self.taken {
            taken.give_back(app).await;
        }
    }

    /// The password was wrong. If this attempt filled the account's count, locks the account
    /// (of several attempts racing to lock, one does), records the lockout against `target` and
    /// returns until when. A store error is logged: the full count still refuses logins until
    /// its window ends.
    pub async fn failed(&self, app: &App, caller: &Caller, target: Option<&str>) -> Option<i64> {
        let until = self.lock_if_full(app).await?;
        let mut lockout = caller
            .event(AuditAction::Lockout, AuditOutcome::Success)
            .detail(format!("until {}", rfc3339(until)));
        lockout.target = target.map(str::to_owned);
        app.audit(lockout).await;
        Some(until)
    }

    async fn lock_if_full(&self, app: &App) -> Option<i64> {
        let limits = &app.config.rate_limits;
        let taken = self.taken.as_ref()?;
        if taken
            .counts
            .first()
            .is_none_or(|count| *count < limits.login_account.limit)
        {
            return None;
        }
        let max = limits.lockout_max.as_millis() as i64;
        // A lock soon after the last one ended doubles it; a day (lockout_max) later it is
        // forgotten.
        let in_a_row = if self.now - self.state.locked_until < max {
            self.state.lockouts
        } else {
            0
        };
        let length = (limits.lockout_base.as_millis() as i64)
            .saturating_mul(1i64 << in_a_row.min(20))
            .min(max);
        let until = self.now + length;
        let locked = app
            .stores
            .limits
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

/// Checks a signed-in user's current password (to change the password or the address) as a
/// login attempt: refused while the account is locked, counted and audited (`action`, failure)
/// when wrong, so a stolen session cannot guess the password either. The quota is for the
/// `RateLimit-*` headers.
pub async fn verify_current_password(
    app: &App,
    caller: &Caller,
    user: &User,
    password: &str,
    action: AuditAction,
) -> Result<(bool, Option<Quota>), ApiError> {
    let attempt = admit_login(app, user.email.as_str(), caller.ip, now_ms()).await?;
    match app.hasher.verify(password, Some(&user.password_hash)).await {
        Ok(true) => {
            attempt.succeeded(app).await;
            Ok((true, attempt.quota_after_success()))
        }
        Ok(false) => {
            attempt.failed(app, caller, Some(&user.id)).await;
            let event = caller.event(action, AuditOutcome::Failure);
            app.audit(event.by_self(&user.id).detail("wrong_password"))
                .await;
            Ok((false, attempt.quota()))
        }
        Err(e) => {
            attempt.succeeded(app).await;
            Err(e.into())
        }
    }
}

/// Ends the lock of the account with this address and starts its counts afresh (a password
/// reset proved the owner). True when it was locked. A store error is logged: the lock then
/// ends on its own.
pub async fn unlock_login(app: &App, email: &str, now: i64) -> bool {
    let keep = now + app.config.rate_limits.lockout_max.as_millis() as i64;
    match app
        .stores
        .limits
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
