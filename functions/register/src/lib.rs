//! `POST /api/auth/register`: create an account and start its first session.

use axum::extract::State;
use serde::Deserialize;
use shared::auth::start_session;
use shared::clock::now_ms;
use shared::domain::{DisplayName, Email, FieldErrors, Password, User};
use shared::http::{ApiError, AppState, Json, Response, Routes, token_response};

pub fn routes() -> Routes {
    Routes::new("register").post("/api/auth/register", register)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
}

async fn register(
    State(app): State<AppState>,
    Json(body): Json<RegisterBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let email = errors.parse("email", body.email, Email::parse);
    let name = errors.parse("name", body.name, DisplayName::parse);
    let password = errors.parse("password", body.password, |raw| {
        Password::parse(raw, email.as_ref())
    });
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };

    let user = User::new(email, name, app.hasher.hash(&password).await?, now_ms());
    app.stores.users.create_user(&user).await?;
    let tokens = start_session(&app, &user).await?;
    token_response(axum::http::StatusCode::CREATED, &user, tokens)
}
