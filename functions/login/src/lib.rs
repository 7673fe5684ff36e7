//! `POST /api/auth/login`: trade e-mail and password for a new session.
//! `POST /api/auth/password`: change the password (needs the current one); ends every other
//! session and answers with a fresh one.

mod password;

use lambda_http::http::{Method, StatusCode};
use serde::Deserialize;
use shared::App;
use shared::auth::{start_session, verify_password};
use shared::domain::{Email, FieldErrors};
use shared::http::{self, ApiError, Request, Response, path_of, read_json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response {
    http::serve(app, req, |req| route(app, req)).await
}

async fn route(app: &App, req: Request) -> Result<Response, ApiError> {
    match (req.method(), path_of(&req).as_str()) {
        (&Method::POST, "/api/auth/login") => login(app, req).await,
        (&Method::POST, "/api/auth/password") => password::change(app, req).await,
        (_, "/api/auth/login" | "/api/auth/password") => Err(ApiError::MethodNotAllowed(&["POST"])),
        _ => Err(ApiError::NoRoute),
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "the e-mail or password is wrong")
}

async fn login(app: &App, req: Request) -> Result<Response, ApiError> {
    let body: LoginBody = read_json(&req)?;
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
    if !verify_password(&password, stored_hash).await {
        return Err(invalid_credentials());
    }
    let user = user.ok_or_else(invalid_credentials)?;
    let tokens = start_session(app, &user).await?;
    http::json(StatusCode::OK, &tokens.with_user(&user))
}
