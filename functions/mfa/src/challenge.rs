//! `POST /api/auth/mfa/challenge` `{challenge, code}` or `{challenge, recoveryCode}`: the second
//! step of a sign-in with an active factor. Completes it with tokens whose session is aal2.
//! Each wrong code counts against the account's lock and the challenge's own few tries.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::App;
use shared::auth::mfa::{MAX_CHALLENGE_FAILURES, challenge_hash};
use shared::domain::{AuditAction, AuditOutcome, Authentication, FieldErrors, User};
use shared::http::{ApiError, AppState, Caller, Json, Response, token_response};
use shared::jobs::{Job, MailMessage, SecurityEvent};
use shared::limits::with_quota;
use shared::store::{Effects, FactorProof, FactorState, StoreError, TotpFactor};

use crate::proof::{Checked, active_factor, check_counted, method, spent_meanwhile, submitted};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChallengeBody {
    challenge: Option<String>,
    code: Option<String>,
    recovery_code: Option<String>,
}

fn invalid_challenge() -> ApiError {
    ApiError::bad_request(
        "invalid_challenge",
        "this sign-in challenge is unknown, expired, already answered or failed too often: \
         sign in again with your password",
    )
}

pub async fn answer(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<ChallengeBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let challenge = errors.required("challenge", body.challenge);
    let submitted = submitted(&mut errors, body.code, body.recovery_code, true);
    let (Some(challenge), Some(submitted)) = (challenge, submitted) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let hash = challenge_hash(&challenge).ok_or_else(invalid_challenge)?;
    let now = app.clock.now_ms();
    let record = app
        .stores
        .mfa
        .find_challenge(&hash)
        .await?
        .ok_or_else(invalid_challenge)?;
    let user = app
        .stores
        .users
        .get_user(&record.user_id)
        .await?
        .filter(|user| record.answerable_by(user, now))
        .ok_or_else(invalid_challenge)?;
    // Removed (an admin's reset) since the password step: sign in again, without a code.
    let factor = active_factor(&app, &user.id, invalid_challenge).await?;
    // Counted before the check, so answers sent at once cannot pass the limit between them.
    match app
        .stores
        .mfa
        .count_challenge_try(&hash, MAX_CHALLENGE_FAILURES)
        .await
    {
        Err(StoreError::Conflict) => return Err(invalid_challenge()),
        other => other?,
    }
    let (proof, quota) = match check_counted(
        &app,
        &caller,
        &user,
        &factor,
        &submitted,
        AuditAction::MfaChallenge,
    )
    .await?
    {
        Checked::Proven(proof, quota) => (proof, quota),
        Checked::Locked(response) => return Ok(response),
        Checked::Refused(response) => return Ok(response),
    };
    let effects = recovery_notices(&user, &factor, &proof, now);
    let spent = spend(&app, &factor, &proof, Some(&hash), &effects).await;
    if let Err(lost) = spent {
        // Whichever came first, an answer to the same challenge or a use of the same code.
        let still_open = app
            .stores
            .mfa
            .find_challenge(&hash)
            .await?
            .is_some_and(|c| c.answerable_by(&user, now));
        return Err(if still_open {
            lost
        } else {
            invalid_challenge()
        });
    }
    let authentication =
        Authentication::first_factor(record.first).with_second_factor(method(&proof));
    let tokens = app
        .sessions()
        .start(&user, authentication, caller.origin())
        .await?;
    app.count_active(&user.id).await;
    let event = caller.event(AuditAction::Login, AuditOutcome::Success);
    app.audit(
        event
            .by_self(&user.id)
            .detail(format!("mfa:{}", method(&proof).as_str())),
    )
    .await;
    audit_recovery_use(&app, &caller, &user, &factor, &proof, "sign_in").await;
    Ok(with_quota(
        quota,
        token_response(StatusCode::OK, &user, tokens)?,
    ))
}

/// Spends the proof (and the challenge), or says it was spent first.
pub async fn spend(
    app: &App,
    factor: &TotpFactor,
    proof: &FactorProof,
    challenge: Option<&str>,
    effects: &Effects,
) -> Result<(), ApiError> {
    match app
        .stores
        .mfa
        .spend_proof(
            &factor.user_id,
            &factor.enrolment,
            proof,
            challenge,
            app.clock.now_ms(),
            effects,
        )
        .await
    {
        Err(StoreError::Conflict) => Err(spent_meanwhile(proof)),
        other => Ok(other?),
    }
}

/// Recovery codes left once `proof` is spent.
fn remaining_after(factor: &TotpFactor, proof: &FactorProof) -> usize {
    match &factor.state {
        FactorState::Active { recovery, .. } => {
            recovery.remaining() - usize::from(matches!(proof, FactorProof::Recovery { .. }))
        }
        FactorState::Pending { .. } => 0,
    }
}

/// A recovery code spent is mailed to the user and told to the admins, in the same write.
pub fn recovery_notices(
    user: &User,
    factor: &TotpFactor,
    proof: &FactorProof,
    now: i64,
) -> Effects {
    if !matches!(proof, FactorProof::Recovery { .. }) {
        return Effects::none();
    }
    Effects::jobs(vec![
        Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::RecoveryCodeUsed {
                remaining: remaining_after(factor, proof),
            },
            now,
        ),
        Job::security(user.email.as_str(), SecurityEvent::RecoveryCodeUsed, now),
    ])
}

pub async fn audit_recovery_use(
    app: &App,
    caller: &Caller,
    user: &User,
    factor: &TotpFactor,
    proof: &FactorProof,
    r#where: &str,
) {
    if !matches!(proof, FactorProof::Recovery { .. }) {
        return;
    }
    let left = remaining_after(factor, proof);
    let event = caller.event(AuditAction::MfaRecoveryCodeUse, AuditOutcome::Success);
    app.audit(
        event
            .by_self(&user.id)
            .detail(format!("{where}, {left} left")),
    )
    .await;
}
