//! Refusing a sensitive action to a session that has not proven enough (`permissions::
//! missing_assurance`): 403 `step_up_required` (prove the second factor with
//! `POST /api/auth/mfa/step-up`) or `mfa_enrolment_required` (`REQUIRE_ADMIN_MFA`).

use super::ApiError;
use crate::App;
use crate::auth::Principal;
use crate::clock::now_ms;
use crate::permissions::{
    MissingAssurance, Sensitivity, assurance_depends_on_factor, missing_assurance,
};

pub fn step_up_required() -> ApiError {
    ApiError::ForbiddenBecause {
        code: "step_up_required",
        detail: "this needs a session that proved your second factor: \
                 POST /api/auth/mfa/step-up {code} (or {recoveryCode}) with this token"
            .into(),
    }
}

/// Ok when `principal`'s session may take an action of `sensitivity`; reads the user's factor
/// only when the answer depends on it.
pub async fn require_assurance(
    app: &App,
    principal: &Principal,
    sensitivity: Sensitivity,
) -> Result<(), ApiError> {
    let required = app.config.require_admin_mfa;
    let has_factor = assurance_depends_on_factor(principal, sensitivity, required)
        && app
            .stores
            .mfa
            .get_totp(principal.id(), now_ms())
            .await?
            .is_some_and(|factor| factor.is_active());
    match missing_assurance(principal, has_factor, sensitivity, required) {
        None => Ok(()),
        Some(MissingAssurance::StepUp) => Err(step_up_required()),
        Some(MissingAssurance::Enrolment) => Err(ApiError::ForbiddenBecause {
            code: "mfa_enrolment_required",
            detail: "admins must turn on two-factor authentication first: \
                     POST /api/auth/mfa/totp, then POST /api/auth/mfa/totp/verify {code}"
                .into(),
        }),
    }
}
