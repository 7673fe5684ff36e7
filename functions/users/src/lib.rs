//! `/api/users/...`: profiles.

use lambda_http::http::{Method, StatusCode};
use shared::App;
use shared::auth::authenticate;
use shared::http::{self, ApiError, Request, Response, path_of};

pub async fn handle(app: &App, req: Request) -> Response {
    http::serve(app, req, |req| route(app, req)).await
}

async fn route(app: &App, req: Request) -> Result<Response, ApiError> {
    match (req.method(), path_of(&req).as_str()) {
        (&Method::GET, "/api/users/me") => me(app, req).await,
        (_, "/api/users/me") => Err(ApiError::MethodNotAllowed(&["GET"])),
        _ => Err(ApiError::NoRoute),
    }
}

async fn me(app: &App, req: Request) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    http::json(StatusCode::OK, &principal.user.view())
}
