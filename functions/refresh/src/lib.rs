//! `POST /api/auth/refresh` (rotate) and `POST /api/auth/logout` (revoke).

use lambda_http::http::{Method, StatusCode};
use serde::Deserialize;
use shared::App;
use shared::auth::{authenticate, logout, refresh};
use shared::clock::now_ms;
use shared::domain::FieldErrors;
use shared::http::{
    self, ApiError, Request, Response, no_content, path_of, query_param, read_json,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response {
    http::serve(app, req, |req| route(app, req)).await
}

async fn route(app: &App, req: Request) -> Result<Response, ApiError> {
    match (req.method(), path_of(&req).as_str()) {
        (&Method::POST, "/api/auth/refresh") => rotate(app, req).await,
        (&Method::POST, "/api/auth/logout") => end_session(app, req).await,
        (_, "/api/auth/refresh" | "/api/auth/logout") => Err(ApiError::MethodNotAllowed(&["POST"])),
        _ => Err(ApiError::NoRoute),
    }
}

fn refresh_token(req: &Request) -> Result<String, ApiError> {
    let body: RefreshBody = read_json(req)?;
    let mut errors = FieldErrors::default();
    errors
        .required("refreshToken", body.refresh_token)
        .ok_or_else(|| ApiError::Validation(errors.into_vec()))
}

async fn rotate(app: &App, req: Request) -> Result<Response, ApiError> {
    let (user, tokens) = refresh(app, &refresh_token(&req)?).await?;
    http::json(StatusCode::OK, &tokens.with_user(&user))
}

/// Ends this session, or with `?scope=all` (and a valid access token) every session of the user.
async fn end_session(app: &App, req: Request) -> Result<Response, ApiError> {
    match query_param(&req, "scope") {
        Some("all") => {
            let principal = authenticate(app, &req).await?;
            app.stores
                .users
                .invalidate_sessions(principal.id(), now_ms())
                .await?;
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_scope",
                "scope must be `all` or absent",
            ));
        }
        None => logout(app, &refresh_token(&req)?).await?,
    }
    Ok(no_content())
}
