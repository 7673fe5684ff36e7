//! `POST /api/users/me/email` `{email, password}`: asks to change the caller's address. The
//! current password is required; the new address gets a link and only replaces the old one
//! once it is followed (`POST /api/auth/verify-email`). The current address is told at once (so
//! a stolen session cannot move the account quietly) and again when the change is done; any
//! event that ends sessions (password reset or change, "log out everywhere") cancels the link.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::auth::{Principal, account_link, issue_account_token};
use shared::clock::now_ms;
use shared::domain::{AuditAction, Email, FieldErrors, Invalid};
use shared::http::{ApiError, AppState, Caller, Json, Response, require_assurance};
use shared::jobs::{Job, MailMessage};
use shared::limits::with_quota;
use shared::permissions::Sensitivity;
use shared::store::{Effects, StoreError, TokenPurpose};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    email: Option<String>,
    password: Option<String>,
}

pub async fn request_change(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Json(body): Json<EmailChange>,
) -> Result<Response, ApiError> {
    require_assurance(&app, &principal, Sensitivity::OwnAccount).await?;
    let user = principal.user;
    let mut errors = FieldErrors::default();
    let email = errors.parse("email", body.email, Email::parse);
    let password = errors.required("password", body.password);
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let confirmed = app
        .logins()
        .confirm_current_password(
            &caller,
            &user,
            "password",
            &password,
            AuditAction::EmailChange,
        )
        .await;
    let quota = match confirmed {
        Ok(quota) => quota,
        Err(refused) => return Ok(refused),
    };
    // Each request may mail an address and tells whether it is taken: counted per source
    // address and per address asked for, like a registration.
    let limits = &app.config.rate_limits;
    let rules = (limits.register_ip, limits.register_email);
    let now = now_ms();
    let counted = app
        .limits()
        .count_request("email-change", rules, caller.ip, email.as_str(), now)
        .await?;
    Ok(with_quota(
        counted.or(quota),
        mail_link(&app, &user, &email).await,
    ))
}

async fn mail_link(
    app: &shared::App,
    user: &shared::domain::User,
    email: &Email,
) -> Result<StatusCode, ApiError> {
    let mut errors = FieldErrors::default();
    if *email == user.email {
        errors.push(
            "email",
            Invalid::new("unchanged", "is already your address"),
        );
        return Err(ApiError::Validation(errors.into_vec()));
    }
    if app.stores.users.find_user_by_email(email).await?.is_some() {
        return Err(StoreError::EmailTaken.into());
    }
    let now = now_ms();
    let (token, record) = issue_account_token(TokenPurpose::ChangeEmail, user, email.as_str(), now);
    let link = account_link(&app.config.app_base_url, "verify-email", &token);
    let effects = Effects {
        token: Some(record),
        jobs: vec![
            Job::email(
                email.as_str(),
                user.name.as_str(),
                MailMessage::ConfirmEmailChange { link },
                now,
            ),
            Job::email(
                user.email.as_str(),
                user.name.as_str(),
                MailMessage::EmailChangeRequested {
                    new_email: email.as_str().to_owned(),
                },
                now,
            ),
        ],
    };
    match app.stores.accounts.issue_token(&effects, 0, now).await {
        Ok(()) => Ok(StatusCode::ACCEPTED),
        Err(StoreError::Conflict) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}
