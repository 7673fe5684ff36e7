//! The end of a sign-in's first step, whatever proved it (a password, a mailed link or code, a
//! provider): tokens, or for a user with an active second factor a challenge instead.

use axum::http::StatusCode;

use super::{ApiError, Caller, MfaChallengeView, Response, json, token_response};
use crate::App;
use crate::auth::mfa::new_challenge;
use crate::domain::{AuditAction, AuditOutcome, AuthMethod, Authentication, User};
use crate::limits::{Quota, with_quota};

/// The first step of a sign-in was proven by `first`: tokens, or, for a user with an active
/// second factor, a challenge that `POST /api/auth/mfa/challenge` completes (no tokens yet).
/// `how` is the audit detail, if any.
pub async fn first_step_proven(
    app: &App,
    caller: &Caller,
    user: &User,
    first: AuthMethod,
    how: Option<&str>,
    quota: Option<Quota>,
) -> Result<Response, ApiError> {
    let factor = app
        .stores
        .mfa
        .get_totp(&user.id, app.clock.now_ms())
        .await?;
    if factor.is_some_and(|factor| factor.is_active()) {
        let (challenge, record) = new_challenge(user, first, app.clock.now_ms());
        app.stores.mfa.create_challenge(&record).await?;
        let view = MfaChallengeView::new(challenge);
        return Ok(with_quota(quota, json(StatusCode::OK, &view)?));
    }
    signed_in(
        app,
        caller,
        user,
        Authentication::first_factor(first),
        how,
        quota,
    )
    .await
}

/// A sign-in proven as `authentication` (all of it: no second step follows): a session, the
/// tokens, the audit event (`how` is its detail, if any).
pub async fn signed_in(
    app: &App,
    caller: &Caller,
    user: &User,
    authentication: Authentication,
    how: Option<&str>,
    quota: Option<Quota>,
) -> Result<Response, ApiError> {
    let tokens = app
        .sessions()
        .start(user, authentication, caller.origin())
        .await?;
    app.count_active(&user.id).await;
    let mut event = caller
        .event(AuditAction::Login, AuditOutcome::Success)
        .by_self(&user.id);
    if let Some(how) = how {
        event = event.detail(how);
    }
    app.audit(event).await;
    let response = token_response(StatusCode::OK, user, tokens)?;
    Ok(with_quota(quota, response))
}
