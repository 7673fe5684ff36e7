//! `POST /api/auth/verify-email` `{token}` and `POST /api/auth/verify-email/resend`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::auth::{Principal, account_link, account_token_hash, issue_account_token};
use shared::clock::now_ms;
use shared::domain::FieldErrors;
use shared::http::{ApiError, AppState, Json};
use shared::jobs::{Job, MailMessage};
use shared::store::{Effects, StoreError, TokenPurpose};

use crate::invalid_token;

/// At most one verification mail a minute per user.
const RESEND_GAP_MS: i64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: Option<String>,
}

pub async fn verify(
    State(app): State<AppState>,
    Json(body): Json<TokenBody>,
) -> Result<StatusCode, ApiError> {
    let mut errors = FieldErrors::default();
    let token = errors.required("token", body.token);
    let Some(token) = token else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let hash = account_token_hash(&token).ok_or_else(invalid_token)?;
    let record = app
        .stores
        .accounts
        .find_token(&hash)
        .await?
        .filter(|t| t.purpose == TokenPurpose::VerifyEmail)
        .ok_or_else(invalid_token)?;
    match app.stores.accounts.verify_email(&record, now_ms()).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(invalid_token()),
        Err(e) => Err(e.into()),
    }
}

/// Mails a new link to the caller's current address; 409 once verified, 429 within a minute
/// of the last one.
pub async fn resend(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let user = principal.user;
    if user.email_verified {
        return Err(ApiError::conflict(
            "already_verified",
            "this e-mail address is already verified",
        ));
    }
    let now = now_ms();
    let (token, record) = issue_account_token(TokenPurpose::VerifyEmail, &user, now);
    let link = account_link(&app.config.app_base_url, "verify-email", &token);
    let effects = Effects {
        token: Some(record),
        jobs: vec![Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::VerifyEmail { link },
            now,
        )],
    };
    match app
        .stores
        .accounts
        .issue_token(&effects, RESEND_GAP_MS, now)
        .await
    {
        Ok(()) => {
            app.dispatch(&effects.jobs).await;
            Ok(StatusCode::ACCEPTED)
        }
        // Verified or changed address in between, or a mail sent within the minute.
        Err(StoreError::Conflict) => Err(ApiError::TooManyRequests {
            code: "verification_recently_sent",
            detail: "a verification mail was sent less than a minute ago".into(),
            retry_after_secs: RESEND_GAP_MS as u64 / 1000,
        }),
        Err(e) => Err(e.into()),
    }
}
