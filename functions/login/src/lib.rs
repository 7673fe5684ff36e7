//! `POST /api/auth/login`: trade e-mail and password for a new session.
//! `POST /api/auth/password`: change the password (needs the current one); ends every other
//! session and answers with a fresh one.

mod password;

use axum::extract::State;
use serde::Deserialize;
use shared::App;
use shared::auth::start_session;
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditOutcome, Email, FieldErrors, User};
use shared::http::{ApiError, AppState, Caller, Json, Response, Routes, token_response};
use shared::limits::{admit_login, with_quota};

pub fn routes() -> Routes {
    Routes::new("login")
        .post("/api/auth/login", login)
        .post("/api/auth/password", password::change)
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
    let parsed = Email::parse(&email).ok();
    let account = parsed
        .as_ref()
        .map_or_else(|| email.trim().to_lowercase(), |e| e.as_str().to_owned());
    let attempt = admit_login(&app, &account, caller.ip, now_ms()).await?;
    let quota = attempt.quota();

    let user = match &parsed {
        Some(email) => app.stores.users.find_user_by_email(email).await?,
        None => None,
    };
    let stored_hash = user.as_ref().map(|user| user.password_hash.as_str());
    let verified = app.hasher.verify(&password, stored_hash).await;
    let user = match (verified, user) {
        (Ok(true), Some(user)) => user,
        (Ok(_), user) => {
            let locked_until = attempt.failed(&app).await;
            record_failure(&app, &caller, user.as_ref(), locked_until).await;
            return Ok(with_quota(quota, invalid_credentials()));
        }
        (Err(e), _) => {
            attempt.succeeded(&app).await;
            return Err(e.into());
        }
    };
    attempt.succeeded(&app).await;
    if app.config.require_email_verification && !user.email_verified {
        return Ok(with_quota(
            quota,
            ApiError::ForbiddenBecause {
                code: "email_not_verified",
                detail: "verify your e-mail address first: follow the link we mailed you".into(),
            },
        ));
    }
    let tokens = start_session(&app, &user).await?;
    app.audit(
        caller
            .event(AuditAction::Login, AuditOutcome::Success)
            .by_self(&user.id),
    )
    .await;
    let response = token_response(axum::http::StatusCode::OK, &user, tokens)?;
    Ok(with_quota(quota, response))
}

async fn record_failure(
    app: &App,
    caller: &Caller,
    user: Option<&User>,
    locked_until: Option<i64>,
) {
    let detail = if user.is_some() {
        "wrong_password"
    } else {
        "unknown_account"
    };
    let mut failure = caller
        .event(AuditAction::Login, AuditOutcome::Failure)
        .detail(detail);
    if let Some(user) = user {
        failure = failure.target(&user.id);
    }
    app.audit(failure.clone()).await;
    if let Some(until) = locked_until {
        let mut lockout = caller
            .event(AuditAction::Lockout, AuditOutcome::Success)
            .detail(format!("until {}", shared::clock::rfc3339(until)));
        lockout.target = failure.target;
        app.audit(lockout).await;
    }
}
