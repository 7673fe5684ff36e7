//! `POST /api/auth/register`: create an account, mail its verification link, tell the admins,
//! and start its first session (unless `REQUIRE_EMAIL_VERIFICATION`: then none until the address
//! is verified).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::auth::{account_link, issue_account_token};
use shared::clock::now_ms;
use shared::domain::{
    AuditAction, AuditOutcome, Authentication, DisplayName, Email, FieldErrors, Password, User,
};
use shared::http::{
    self, ApiError, AppState, Caller, Json, Response, Routes, UserView, token_response,
};
use shared::jobs::{Job, MailMessage, Notice, Work};
use shared::limits::with_quota;
use shared::store::{Effects, TokenPurpose};

pub fn routes() -> Routes {
    Routes::new("register").post("/api/auth/register", register)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
}

/// The body's fields, each checked (every field's problems reported at once).
pub fn parse_body(body: RegisterBody) -> Result<(Email, DisplayName, Password), ApiError> {
    let mut errors = FieldErrors::default();
    let email = errors.parse("email", body.email, Email::parse);
    let name = errors.parse("name", body.name, DisplayName::parse);
    let password = errors.parse("password", body.password, |raw| {
        Password::parse(raw, email.as_ref())
    });
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    Ok((email, name, password))
}

async fn register(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<RegisterBody>,
) -> Result<Response, ApiError> {
    let (email, name, password) = parse_body(body)?;

    let now = now_ms();
    let limits = &app.config.rate_limits;
    let rules = (limits.register_ip, limits.register_email);
    let quota = app
        .limits()
        .count_request("register", rules, caller.ip, email.as_str(), now)
        .await?;
    // Counted first, so the breach check (a call out, in `online` mode) is rate limited too.
    // Its answer does not depend on the address, so it says nothing about existing accounts.
    let result = match app.check_new_password("password", &password).await {
        Ok(()) => create_account(&app, &caller, email, name, password, now).await,
        Err(refused) => Err(refused),
    };
    Ok(with_quota(quota, result))
}

async fn create_account(
    app: &shared::App,
    caller: &Caller,
    email: Email,
    name: DisplayName,
    password: Password,
    now: i64,
) -> Result<Response, ApiError> {
    let user = User::new(email, name, app.hasher.hash(&password).await?, now);
    let (token, record) =
        issue_account_token(TokenPurpose::VerifyEmail, &user, user.email.as_str(), now);
    let verify_link = account_link(&app.config.app_base_url, "verify-email", &token);
    let effects = Effects {
        token: Some(record),
        jobs: vec![
            Job::email(
                user.email.as_str(),
                user.name.as_str(),
                MailMessage::Welcome { verify_link },
                now,
            ),
            Job::new(
                Work::Telegram(Notice::NewSignup {
                    email: user.email.as_str().to_owned(),
                    name: user.name.as_str().to_owned(),
                }),
                now,
            ),
        ],
    };
    app.stores.users.create_user(&user, &effects).await?;
    app.audit(
        caller
            .event(AuditAction::Register, AuditOutcome::Success)
            .by_self(&user.id),
    )
    .await;
    if app.config.require_email_verification {
        // No session until the address is verified: the answer says what to do instead.
        return http::json(
            StatusCode::CREATED,
            &json!({
                "user": UserView::from(&user),
                "verificationRequired": true,
                "message": "verify your e-mail address: follow the link we mailed you, then sign in",
            }),
        );
    }
    let tokens = app
        .sessions()
        .start(&user, Authentication::password(), caller.origin())
        .await?;
    token_response(StatusCode::CREATED, &user, tokens)
}
