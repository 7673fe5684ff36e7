//! `POST /api/auth/forgot-password` `{email}` and `POST /api/auth/reset-password`
//! `{token, password}`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::auth::{account_link, account_token_hash, issue_account_token};
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditOutcome, Email, FieldErrors, Password};
use shared::http::{ApiError, AppState, Caller, Json, MailRequest, Response};
use shared::jobs::{Job, MailMessage, SecurityEvent};
use shared::store::{Effects, StoreError, TokenPurpose};

use crate::invalid_token;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotBody {
    email: Option<String>,
}

/// Always 202 with the same body; mails a link only to an account that exists.
pub async fn forgot(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<ForgotBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let Some(email) = errors.required("email", body.email) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let limits = &app.config.rate_limits;
    let request = MailRequest {
        route: "forgot-password",
        rules: (limits.forgot_password_ip, limits.forgot_password_email),
        message: "if an account has this address, a reset link is on its way",
    };
    let app = &*app;
    request
        .answer(app, &caller, &email, |email| async move {
            mail_reset_link(app, &email).await
        })
        .await
}

async fn mail_reset_link(app: &shared::App, email: &Email) -> Result<(), ApiError> {
    let Some(user) = app.stores.users.find_user_by_email(email).await? else {
        return Ok(());
    };
    let now = now_ms();
    let (token, record) =
        issue_account_token(TokenPurpose::ResetPassword, &user, user.email.as_str(), now);
    let link = account_link(&app.config.app_base_url, "reset-password", &token);
    let effects = Effects {
        token: Some(record),
        jobs: vec![Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::ResetPassword { link },
            now,
        )],
    };
    match app
        .stores
        .accounts
        .issue_token(&effects, app.config.reset_mail_gap.as_millis() as i64, now)
        .await
    {
        Ok(()) => {}
        // A link went out less than a minute ago (no mail bombing through this form), or the
        // user was deleted or re-addressed in between: the answer stays the same.
        Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    token: Option<String>,
    password: Option<String>,
}

/// Sets the new password and ends every session; the token is spent.
pub async fn reset(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<ResetBody>,
) -> Result<StatusCode, ApiError> {
    let mut errors = FieldErrors::default();
    let token = errors.required("token", body.token);
    let password = errors.required("password", body.password);
    let (Some(token), Some(password)) = (token, password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let hash = account_token_hash(&token).ok_or_else(invalid_token)?;
    let record = app
        .stores
        .accounts
        .find_token(&hash)
        .await?
        .filter(|t| t.purpose == TokenPurpose::ResetPassword)
        .ok_or_else(invalid_token)?;
    let user = app
        .stores
        .users
        .get_user(&record.user_id)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(invalid_token)?;
    let mut errors = FieldErrors::default();
    let password = errors.parse("password", Some(password), |raw| {
        Password::parse(raw, Some(&user.email))
    });
    let Some(password) = password else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    // Only with a valid link, and the link stays unspent: the owner picks another password.
    app.check_new_password("password", &password).await?;
    let new_hash = app.hasher.hash(&password).await?;
    let now = now_ms();
    let effects = Effects::jobs(vec![
        Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::PasswordChanged,
            now,
        ),
        Job::security(user.email.as_str(), SecurityEvent::PasswordReset, now),
    ]);
    match app
        .stores
        .accounts
        .reset_password(&record, &new_hash, now, &effects)
        .await
    {
        Ok(()) => {
            let event = caller.event(AuditAction::PasswordReset, AuditOutcome::Success);
            app.audit(event.by_self(&user.id)).await;
            // The owner proved themselves: a lock on their account ends.
            if app.logins().unlock(user.email.as_str(), now).await {
                let event = caller.event(AuditAction::Unlock, AuditOutcome::Success);
                app.audit(event.by_self(&user.id).detail("password_reset"))
                    .await;
            }
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound) => Err(invalid_token()),
        Err(e) => Err(e.into()),
    }
}
