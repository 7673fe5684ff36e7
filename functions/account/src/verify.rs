//! `POST /api/auth/verify-email` `{token}` and `POST /api/auth/verify-email/resend`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::App;

use serde_json::json;
use shared::auth::{AuthError, Principal, account_link, account_token_hash, issue_account_token};
use shared::clock::now_ms;
use shared::domain::FieldErrors;
use shared::domain::{AuditAction, AuditOutcome, Email, ProfileChanges, User};
use shared::http::{
    self, ApiError, AppState, Caller, Json, Response, in_uniform_time, retry_lost_races,
    unless_lost,
};
use shared::jobs::{Job, MailMessage, SecurityEvent};
use shared::limits::{Quota, with_quota};
use shared::store::{AccountToken, Effects, StoreError, TokenPurpose};

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
    caller: Caller,
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
        .filter(|t| t.purpose != TokenPurpose::ResetPassword)
        .ok_or_else(invalid_token)?;
    if record.purpose == TokenPurpose::ChangeEmail {
        return confirm_change(&app, &caller, &record).await;
    }
    match app.stores.accounts.verify_email(&record, now_ms()).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(invalid_token()),
        Err(e) => Err(e.into()),
    }
}

/// Makes the token's address the user's (verified), and tells the old address.
async fn confirm_change(
    app: &App,
    caller: &Caller,
    token: &AccountToken,
) -> Result<StatusCode, ApiError> {
    let new_email = Email::parse(&token.email).map_err(|_| invalid_token())?;
    retry_lost_races(|_| async {
        let user = app
            .stores
            .users
            .get_user(&token.user_id)
            .await?
            .filter(|u| u.is_active() && u.session_generation == token.generation)
            .ok_or_else(invalid_token)?;
        let now = now_ms();
        let mut next = user.with_profile(
            ProfileChanges {
                email: Some(new_email.clone()),
                ..Default::default()
            },
            now,
        );
        next.email_verified = true;
        let effects = Effects::jobs(vec![
            Job::email(
                user.email.as_str(),
                user.name.as_str(),
                MailMessage::EmailChanged {
                    new_email: new_email.as_str().to_owned(),
                },
                now,
            ),
            Job::security(user.email.as_str(), SecurityEvent::EmailChanged, now),
        ]);
        let stored = app
            .stores
            .accounts
            .change_email(token, &user, &next, &effects)
            .await;
        // Another write to the user came between (`None`): apply the change to the new version.
        let written = match stored {
            Err(StoreError::NotFound) => return Err(invalid_token()),
            other => unless_lost(other)?,
        };
        if written.is_none() {
            return Ok(None);
        }
        let event = caller.event(AuditAction::EmailChange, AuditOutcome::Success);
        app.audit(event.by_self(&user.id)).await;
        Ok(Some(StatusCode::NO_CONTENT))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendBody {
    email: Option<String>,
}

/// Signed in: mails a new link to the caller's current address; 409 once verified, 429 within a
/// minute of the last one. Or, with `{email}` and no session (an account that may not sign in
/// before it is verified): always 202 with the same body, mailing a link only to an unverified
/// account with that address. Both count against the per-address and per-e-mail limits.
pub async fn resend(
    State(app): State<AppState>,
    principal: Option<Principal>,
    caller: Caller,
    body: Option<Json<ResendBody>>,
) -> Result<Response, ApiError> {
    let by_address = body.and_then(|Json(body)| body.email);
    let limits = &app.config.rate_limits;
    let rules = (limits.verify_resend_ip, limits.verify_resend_email);
    match (principal, by_address) {
        (_, Some(email)) => {
            let mut errors = FieldErrors::default();
            let Some(email) = errors.parse("email", Some(email), Email::parse) else {
                return Err(ApiError::Validation(errors.into_vec()));
            };
            let quota = app
                .limits()
                .count_request("verify-resend", rules, caller.ip, email.as_str(), now_ms())
                .await?;
            // Its timing does not tell whether an unverified account has the address.
            let outcome = in_uniform_time(mail_verification_to(&app, &email)).await;
            let answer = outcome.and_then(|()| {
                http::json(
                    StatusCode::ACCEPTED,
                    &json!({ "message": "if an unverified account has this address, a link is on its way" }),
                )
            });
            Ok(with_quota(quota, answer))
        }
        (Some(principal), None) => {
            let email = principal.user.email.as_str().to_owned();
            let quota = app
                .limits()
                .count_request("verify-resend", rules, caller.ip, &email, now_ms())
                .await?;
            Ok(with_quota(
                quota,
                mail_verification(&app, principal.user).await,
            ))
        }
        (None, None) => Err(AuthError::MissingToken.into()),
    }
}

/// The public resend: a link only to an active, unverified account, at most one a minute; the
/// answer is the same whatever happened.
async fn mail_verification_to(app: &App, email: &Email) -> Result<(), ApiError> {
    let Some(user) = app.stores.users.find_user_by_email(email).await? else {
        return Ok(());
    };
    match mail_verification(app, user).await {
        Ok(_) | Err(ApiError::Conflict { .. } | ApiError::TooManyRequests { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn mail_verification(app: &App, user: User) -> Result<StatusCode, ApiError> {
    if user.email_verified {
        return Err(ApiError::conflict(
            "already_verified",
            "this e-mail address is already verified",
        ));
    }
    let now = now_ms();
    let (token, record) =
        issue_account_token(TokenPurpose::VerifyEmail, &user, user.email.as_str(), now);
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
        Ok(()) => Ok(StatusCode::ACCEPTED),
        // Verified or changed address in between, or a mail sent within the minute.
        Err(StoreError::Conflict) => Err(ApiError::TooManyRequests {
            code: "verification_recently_sent",
            detail: "a verification mail was sent less than a minute ago".into(),
            quota: Quota {
                limit: 1,
                remaining: 0,
                reset_secs: RESEND_GAP_MS as u64 / 1000,
            },
        }),
        Err(e) => Err(e.into()),
    }
}
