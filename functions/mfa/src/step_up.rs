//! `POST /api/auth/mfa/step-up` `{code}` or `{recoveryCode}`: raises the caller's session to
//! aal2 and answers a new access token for it (the refresh token carries on at aal2).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::auth::Principal;
use shared::domain::{AuditAction, AuditOutcome, FieldErrors};
use shared::http::{ApiError, AppState, Caller, Json, RaisedSessionView, Response, json};
use shared::limits::with_quota;

use crate::challenge::{recovery_notices, spend};
use crate::proof::{Checked, active_factor, check_counted, method, no_active_factor, submitted};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepUpBody {
    code: Option<String>,
    recovery_code: Option<String>,
}

pub async fn step_up(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Json(body): Json<StepUpBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let Some(submitted) = submitted(&mut errors, body.code, body.recovery_code, true) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let user = &principal.user;
    let factor = active_factor(&app, &user.id, no_active_factor).await?;
    let (proof, quota) = match check_counted(
        &app,
        &caller,
        user,
        &factor,
        &submitted,
        AuditAction::MfaStepUp,
    )
    .await?
    {
        Checked::Proven(proof, quota) => (proof, quota),
        Checked::Refused(response) | Checked::Locked(response) => return Ok(response),
    };
    let effects = recovery_notices(user, &factor, &proof, app.clock.now_ms());
    spend(&app, &factor, &proof, None, &effects).await?;
    let raised = principal.authentication.with_second_factor(method(&proof));
    let access = app.sessions().raise(&principal, &raised).await?;
    let event = caller.event(AuditAction::MfaStepUp, AuditOutcome::Success);
    app.audit(event.by_self(&user.id).detail(method(&proof).as_str()))
        .await;
    crate::challenge::audit_recovery_use(&app, &caller, user, &factor, &proof, "step_up").await;
    Ok(with_quota(
        quota,
        json(StatusCode::OK, &RaisedSessionView::new(access, &raised))?,
    ))
}
