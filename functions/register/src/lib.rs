//! `POST /api/auth/register`: create an account and start its first session.

use lambda_http::http::{Method, StatusCode};
use serde::Deserialize;
use shared::App;
use shared::auth::{hash_password, start_session};
use shared::clock::now_ms;
use shared::domain::{DisplayName, Email, FieldErrors, Password, User};
use shared::http::{self, ApiError, Request, Response, path_of, read_json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response {
    http::serve(app, req, |req| route(app, req)).await
}

async fn route(app: &App, req: Request) -> Result<Response, ApiError> {
    match (req.method(), path_of(&req).as_str()) {
        (&Method::POST, "/api/auth/register") => register(app, req).await,
        (_, "/api/auth/register") => Err(ApiError::MethodNotAllowed(&["POST"])),
        _ => Err(ApiError::NoRoute),
    }
}

async fn register(app: &App, req: Request) -> Result<Response, ApiError> {
    let body: RegisterBody = read_json(&req)?;
    let mut errors = FieldErrors::default();
    let email = errors.parse("email", body.email, Email::parse);
    let name = errors.parse("name", body.name, DisplayName::parse);
    let password = errors.parse("password", body.password, |raw| {
        Password::parse(raw, email.as_ref())
    });
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };

    let user = User::new(email, name, hash_password(&password).await?, now_ms());
    app.stores.users.create_user(&user).await?;
    let tokens = start_session(app, &user).await?;
    http::json(StatusCode::CREATED, &tokens.with_user(&user))
}
