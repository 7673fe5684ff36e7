//! `DELETE /api/auth/mfa/totp` `{code}` or `{recoveryCode}`: the user turns their factor off
//! (an aal2 session and a current code: a stolen aal1 session cannot). A pending enrolment is
//! dropped without one.
//! `DELETE /api/users/{id}/mfa`: an admin removes a user's factor (a lost phone); the user is
//! mailed.

use axum::extract::State;
use serde::Deserialize;
use shared::auth::Principal;
use shared::domain::{AuditAction, AuditOutcome, FieldErrors};
use shared::http::{
    ApiError, AppState, Caller, Json, PathId, Response, no_content, require_assurance, retry_as,
    retry_lost_races, unless_lost,
};
use shared::jobs::{Job, MailMessage, SecurityEvent};
use shared::limits::with_quota;
use shared::permissions::{Sensitivity, may_reset_second_factor, role_for_user_write};
use shared::store::{Effects, FactorProof, FactorRemoval, StoreError, TotpFactor};

use crate::proof::{Checked, check_counted, spent_meanwhile, submitted};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProofBody {
    code: Option<String>,
    recovery_code: Option<String>,
}

pub async fn disable(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    body: Option<Json<ProofBody>>,
) -> Result<Response, ApiError> {
    let user = &principal.user;
    // A body, when sent, must be a valid proof even where none is needed.
    let mut errors = FieldErrors::default();
    let sent = body.map(|Json(b)| submitted(&mut errors, b.code, b.recovery_code, true));
    ApiError::check(errors)?;
    let now = app.clock.now_ms();
    let Some(factor) = drop_if_pending(&app, &user.id, now).await? else {
        return Ok(no_content());
    };
    require_assurance(&app, &principal, Sensitivity::OwnAccount).await?;
    let mut errors = FieldErrors::default();
    let Some(submitted) = sent
        .flatten()
        .or_else(|| submitted(&mut errors, None, None, true))
    else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let (proof, quota) = match check_counted(
        &app,
        &caller,
        user,
        &factor,
        &submitted,
        AuditAction::MfaDisable,
    )
    .await?
    {
        Checked::Proven(proof, quota) => (proof, quota),
        Checked::Refused(response) | Checked::Locked(response) => return Ok(response),
    };
    let effects = Effects::jobs(vec![
        Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::MfaDisabled,
            now,
        ),
        Job::security(user.email.as_str(), SecurityEvent::MfaDisabled, now),
    ]);
    match app
        .stores
        .mfa
        .remove_totp(
            &user.id,
            FactorRemoval::Proven {
                enrolment: &factor.enrolment,
                proof: &proof,
            },
            None,
            &effects,
        )
        .await
    {
        Err(StoreError::Conflict) => return Err(spent_meanwhile(&proof)),
        other => other?,
    }
    let how = match proof {
        FactorProof::Step(_) => "code",
        FactorProof::Recovery { .. } => "recovery_code",
    };
    let event = caller.event(AuditAction::MfaDisable, AuditOutcome::Success);
    app.audit(event.by_self(&user.id).detail(how)).await;
    Ok(with_quota(quota, no_content()))
}

/// The user's factor when it is active (`None`: a pending one was dropped). A pending one is
/// dropped only while still pending: one activated meanwhile takes the active path, with its
/// assurance and its code.
async fn drop_if_pending(
    app: &AppState,
    user_id: &str,
    now: i64,
) -> Result<Option<TotpFactor>, ApiError> {
    retry_lost_races(|_| async move {
        let Some(factor) = app.stores.mfa.get_totp(user_id, now).await? else {
            return Err(ApiError::NotFound);
        };
        if factor.is_active() {
            return Ok(Some(Some(factor)));
        }
        let pending = FactorRemoval::Pending {
            enrolment: &factor.enrolment,
        };
        let dropped = app
            .stores
            .mfa
            .remove_totp(user_id, pending, None, &Effects::none())
            .await;
        Ok(unless_lost(dropped)?.map(|()| None))
    })
    .await
}

pub async fn reset(
    State(app): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    caller: Caller,
) -> Result<Response, ApiError> {
    // The reset holds only while its actor is an admin: a demotion first makes it fail (and
    // the retry, reading the caller again, answers 403).
    let principal = retry_as(&*app.stores.users, principal, |principal| {
        reset_as(&app, principal, &id)
    })
    .await?;
    let event = caller.event(AuditAction::MfaReset, AuditOutcome::Success);
    app.audit(event.actor(principal.id()).target(&id)).await;
    Ok(no_content())
}

/// One attempt at an admin's reset: `None` when it lost a race to a role change.
async fn reset_as(
    app: &AppState,
    principal: Principal,
    id: &str,
) -> Result<Option<Principal>, ApiError> {
    if !may_reset_second_factor(&principal) {
        return Err(ApiError::Forbidden);
    }
    require_assurance(app, &principal, Sensitivity::RoleWrite).await?;
    let user = app
        .stores
        .users
        .get_user(id)
        .await?
        .filter(|user| user.is_active())
        .ok_or(ApiError::NotFound)?;
    let now = app.clock.now_ms();
    let effects = Effects::jobs(vec![
        Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::MfaReset,
            now,
        ),
        Job::security(user.email.as_str(), SecurityEvent::MfaReset, now),
    ]);
    let held = role_for_user_write(&principal, id);
    let removed = app
        .stores
        .mfa
        .remove_totp(&user.id, FactorRemoval::Any, held.as_ref(), &effects)
        .await;
    match removed {
        Err(StoreError::NotFound) => Err(ApiError::conflict(
            "no_factor",
            "this user has no second factor to remove",
        )),
        removed => Ok(unless_lost(removed)?.map(|()| principal)),
    }
}
