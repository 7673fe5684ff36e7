//! `POST /api/auth/login`: trade e-mail and password for a new session; for a user with an
//! active second factor, for a challenge that `POST /api/auth/mfa/challenge` completes.
//! `POST /api/auth/password`: change the password (needs the current one); ends every other
//! session and answers with a fresh one.

mod email_login;
mod password;

use axum::extract::State;
use serde::Deserialize;
use shared::auth::check_verified;
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditOutcome, AuthMethod, Email, EnteredPassword, FieldErrors};
use shared::http::{ApiError, AppState, Caller, Json, Response, Routes, first_step_proven};
use shared::limits::with_quota;

pub fn routes() -> Routes {
    Routes::new("login")
        .post("/api/auth/login", login)
        .post("/api/auth/password", password::change)
        .get("/api/auth/methods", email_login::methods)
        .post("/api/auth/email-login", email_login::request)
        .post("/api/auth/email-login/verify", email_login::verify)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_credentials",
        detail: "the e-mail or password is wrong".into(),
    }
}

/// Limits are checked before the hash runs, so a flood costs no hashing; every answer after
/// that carries the `RateLimit-*` headers.
async fn login(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let email = errors.required("email", body.email);
    let password = errors.required("password", body.password);
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    // A malformed address cannot belong to anyone: same answer, same work, as a wrong password.
    let (parsed, account) = Email::as_typed(&email);
    let attempt = app.logins().admit(&account, caller.ip, now_ms()).await?;

    let user = match &parsed {
        Some(email) => app.stores.users.find_user_by_email(email).await?,
        None => None,
    };
    let stored_hash = user.as_ref().map(|user| user.password_hash.as_str());
    let password = EnteredPassword::new(&password);
    let verified = app.hasher.verify(&password, stored_hash).await;
    let user = match (verified, user) {
        (Ok(true), Some(user)) => user,
        (Ok(_), user) => {
            let target = user.as_ref().map(|u| u.id.as_str());
            attempt.failed(&caller, target).await;
            let detail = if user.is_some() {
                "wrong_password"
            } else {
                "unknown_account"
            };
            let mut failure = caller.event(AuditAction::Login, AuditOutcome::Failure);
            failure.target = target.map(str::to_owned);
            app.audit(failure.detail(detail)).await;
            return Ok(with_quota(attempt.quota(), invalid_credentials()));
        }
        (Err(e), _) => {
            attempt.succeeded().await;
            return Err(e.into());
        }
    };
    attempt.succeeded().await;
    let quota = attempt.quota_after_success();
    if let Err(unverified) = check_verified(&app.config, &user) {
        return Ok(with_quota(quota, ApiError::from(unverified)));
    }
    first_step_proven(&app, &caller, &user, AuthMethod::Password, None, quota).await
}
