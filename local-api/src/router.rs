//! Which function serves which path: the same split as `template.yaml`.

use lambda_http::http::{Method, StatusCode};
use shared::App;
use shared::http::{self, ApiError, Request, Response, path_of};

pub async fn dispatch(app: &App, req: Request) -> Response {
    let path = path_of(&req);
    match path.as_str() {
        "/api/auth/register" => register::handle(app, req).await,
        "/api/auth/login" | "/api/auth/password" => login::handle(app, req).await,
        "/api/auth/refresh" | "/api/auth/logout" => refresh::handle(app, req).await,
        p if p.starts_with("/api/users/") && p.trim_end_matches('/').ends_with("/posts") => {
            posts::handle(app, req).await
        }
        p if p == "/api/users" || p.starts_with("/api/users/") => users::handle(app, req).await,
        p if p == "/api/posts" || p.starts_with("/api/posts/") => posts::handle(app, req).await,
        "/health" => http::serve(app, req, health).await,
        _ => http::serve(app, req, |_| async { Err(ApiError::NoRoute) }).await,
    }
}

async fn health(req: Request) -> Result<Response, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed(&["GET"]));
    }
    http::json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}
