//! `POST /api/auth/mfa/recovery-codes`: a new set of ten recovery codes (shown this once); the
//! old set stops working. Needs an aal2 session.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use shared::auth::Principal;
use shared::auth::mfa::new_recovery_codes;
use shared::domain::{AuditAction, AuditOutcome};
use shared::http::{ApiError, AppState, Caller, Response, json, require_assurance};
use shared::jobs::{Job, MailMessage};
use shared::permissions::Sensitivity;
use shared::store::{Effects, StoreError};

use crate::proof::{active_factor, no_active_factor, unavailable};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Regenerated {
    recovery_codes: Vec<String>,
}

pub async fn regenerate(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
) -> Result<Response, ApiError> {
    let user = &principal.user;
    let now = app.clock.now_ms();
    let factor = active_factor(&app, &user.id, no_active_factor).await?;
    require_assurance(&app, &principal, Sensitivity::OwnAccount).await?;
    let keys = app.mfa_keys.current().await.map_err(unavailable)?;
    let (codes, stored) = new_recovery_codes(&keys, &user.id);
    let effects = Effects::jobs(vec![Job::email(
        user.email.as_str(),
        user.name.as_str(),
        MailMessage::RecoveryCodesRegenerated,
        now,
    )]);
    match app
        .stores
        .mfa
        .replace_recovery_codes(&user.id, &factor.enrolment, &stored, &effects)
        .await
    {
        Err(StoreError::Conflict) => return Err(no_active_factor()),
        other => other?,
    }
    let event = caller.event(
        AuditAction::MfaRecoveryCodesRegenerate,
        AuditOutcome::Success,
    );
    app.audit(event.by_self(&user.id)).await;
    json(
        StatusCode::OK,
        &Regenerated {
            recovery_codes: codes.iter().map(|code| code.display()).collect(),
        },
    )
}
