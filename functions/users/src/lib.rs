//! `/api/users/...`: profiles, the admin listing, updates with optimistic locking, deletion.

mod list;
mod profile;

use lambda_http::http::Method;
use shared::App;
use shared::http::{self, ApiError, Request, Response, path_of};

pub async fn handle(app: &App, req: Request) -> Response {
    http::serve(app, req, |req| route(app, req)).await
}

async fn route(app: &App, req: Request) -> Result<Response, ApiError> {
    let path = path_of(&req);
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(3).collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, []) => list::list(app, req).await,
        (_, []) => Err(ApiError::MethodNotAllowed(&["GET"])),
        (&Method::GET, ["me"]) => profile::me(app, req).await,
        (_, ["me"]) => Err(ApiError::MethodNotAllowed(&["GET"])),
        (&Method::GET, [id]) => profile::get(app, req, id).await,
        (&Method::PATCH, [id]) => profile::patch(app, req, id).await,
        (&Method::DELETE, [id]) => profile::delete(app, req, id).await,
        (_, [_]) => Err(ApiError::MethodNotAllowed(&["GET", "PATCH", "DELETE"])),
        _ => Err(ApiError::NoRoute),
    }
}
