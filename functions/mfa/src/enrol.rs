//! `POST /api/auth/mfa/totp` `{password}`: a new TOTP secret (pending until a code of it is
//! verified; a second enrolment replaces the pending one; 409 while one is active). The current
//! password is asked, checked as a sign-in attempt, as for a new password or address: a stolen
//! token alone must not put a factor of the thief's on the account and lock its owner out.
//! `POST /api/auth/mfa/totp/verify` `{code}`: activates it, answers the recovery codes (shown
//! this once) and raises the session to aal2.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::auth::mfa::{
    PENDING_ENROLMENT_TTL_MS, TotpSecret, new_enrolment, new_recovery_codes, provisioning_uri,
};
use shared::domain::{AuditAction, AuditOutcome, AuthMethod, FieldErrors};
use shared::http::{ApiError, AppState, Caller, Json, RaisedSessionView, Response, json};
use shared::jobs::{Job, MailMessage};
use shared::limits::with_quota;
use shared::store::{Effects, FactorProof, StoreError};

use crate::proof::{Checked, check_counted, submitted, unavailable};
use crate::qr;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Enrolment {
    /// Base32, for typing into an app by hand.
    secret: String,
    uri: String,
    /// The `uri` as a QR code (SVG).
    qr_code: Option<String>,
    /// Seconds left to verify a code before the enrolment is dropped.
    expires_in: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    password: Option<String>,
}

pub async fn enrol(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Json(body): Json<EnrolBody>,
) -> Result<Response, ApiError> {
    let user = &principal.user;
    let mut errors = FieldErrors::default();
    let Some(password) = errors.required("password", body.password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let confirmed = app
        .logins()
        .confirm_current_password(&caller, user, "password", &password, AuditAction::MfaEnrol)
        .await;
    let quota = match confirmed {
        Ok(quota) => quota,
        Err(refused) => return Ok(refused),
    };
    let now = app.clock.now_ms();
    let keys = app.mfa_keys.current().await.map_err(unavailable)?;
    let secret = TotpSecret::generate();
    let factor = new_enrolment(&keys, &user.id, &secret, now);
    match app.stores.mfa.enrol_totp(&factor).await {
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "mfa_already_enabled",
                "two-factor sign-in is already on; remove it first (DELETE /api/auth/mfa/totp)",
            ));
        }
        other => other?,
    }
    let event = caller.event(AuditAction::MfaEnrol, AuditOutcome::Success);
    app.audit(event.by_self(&user.id)).await;
    let uri = provisioning_uri(&app.config.mfa_issuer, user.email.as_str(), &secret);
    let enrolment = Enrolment {
        secret: secret.base32(),
        qr_code: qr::svg_of(&uri),
        uri,
        expires_in: PENDING_ENROLMENT_TTL_MS / 1000,
    };
    Ok(with_quota(quota, json(StatusCode::CREATED, &enrolment)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    code: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Activated {
    recovery_codes: Vec<String>,
    #[serde(flatten)]
    session: RaisedSessionView,
}

pub async fn verify(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Json(body): Json<VerifyBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let submitted = submitted(&mut errors, body.code, None, false);
    let Some(submitted) = submitted else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let user = &principal.user;
    let now = app.clock.now_ms();
    let factor = match app.stores.mfa.get_totp(&user.id, now).await? {
        Some(factor) if !factor.is_active() => factor,
        Some(_) => {
            return Err(ApiError::conflict(
                "mfa_already_enabled",
                "two-factor sign-in is already on",
            ));
        }
        None => return Err(no_pending_enrolment()),
    };
    let (proof, quota) = match check_counted(
        &app,
        &caller,
        user,
        &factor,
        &submitted,
        AuditAction::MfaActivate,
    )
    .await?
    {
        Checked::Proven(proof, quota) => (proof, quota),
        Checked::Refused(response) | Checked::Locked(response) => return Ok(response),
    };
    let FactorProof::Step(step) = proof else {
        return Err(no_pending_enrolment());
    };
    let keys = app.mfa_keys.current().await.map_err(unavailable)?;
    let (codes, stored) = new_recovery_codes(&keys, &user.id);
    let effects = Effects::jobs(vec![Job::email(
        user.email.as_str(),
        user.name.as_str(),
        MailMessage::MfaEnabled,
        now,
    )]);
    match app
        .stores
        .mfa
        .activate_totp(&user.id, &factor.enrolment, step, &stored, now, &effects)
        .await
    {
        // Replaced by a newer enrolment, or expired, since it was read.
        Err(StoreError::Conflict) => return Err(no_pending_enrolment()),
        other => other?,
    }
    let event = caller.event(AuditAction::MfaActivate, AuditOutcome::Success);
    app.audit(event.by_self(&user.id)).await;
    let raised = principal.authentication.with_second_factor(AuthMethod::Otp);
    let access = app.sessions().raise(&principal, &raised).await?;
    let response = json(
        StatusCode::OK,
        &Activated {
            recovery_codes: codes.iter().map(|code| code.display()).collect(),
            session: RaisedSessionView::new(access, &raised),
        },
    )?;
    Ok(with_quota(quota, response))
}

fn no_pending_enrolment() -> ApiError {
    ApiError::conflict(
        "no_pending_enrolment",
        "there is no enrolment waiting for a code (it expired, or a newer one replaced it): \
         POST /api/auth/mfa/totp",
    )
}
