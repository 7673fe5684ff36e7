//! `POST /api/auth/login`: trade e-mail and password for a new session.
//! `POST /api/auth/password`: change the password (needs the current one); ends every other
//! session and answers with a fresh one.

mod password;

use axum::extract::State;
use serde::Deserialize;
use shared::auth::start_session;
use shared::domain::{Email, FieldErrors};
use shared::http::{ApiError, AppState, Json, Response, Routes, token_response};

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

async fn login(
    State(app): State<AppState>,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let email = errors.required("email", body.email);
    let password = errors.required("password", body.password);
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };

    // A malformed address cannot belong to anyone: same answer, same work, as a wrong password.
    let user = match Email::parse(&email) {
        Ok(email) => app.stores.users.find_user_by_email(&email).await?,
        Err(_) => None,
    };
    let stored_hash = user.as_ref().map(|user| user.password_hash.as_str());
    if !app.hasher.verify(&password, stored_hash).await? {
        return Err(invalid_credentials());
    }
    let user = user.ok_or_else(invalid_credentials)?;
    if app.config.require_email_verification && !user.email_verified {
        return Err(ApiError::ForbiddenBecause {
            code: "email_not_verified",
            detail: "verify your e-mail address first: follow the link we mailed you".into(),
        });
    }
    let tokens = start_session(&app, &user).await?;
    token_response(axum::http::StatusCode::OK, &user, tokens)
}
