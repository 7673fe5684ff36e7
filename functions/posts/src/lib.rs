//! `/api/posts/...` and `/api/users/{id}/posts`: posts with drafts, tags, caching headers and
//! optimistic locking.

mod access;
mod list;
mod single;
mod write;

use lambda_http::http::Method;
use shared::App;
use shared::http::{self, ApiError, Request, Response, path_of};

pub async fn handle(app: &App, req: Request) -> Response {
    http::serve(app, req, |req| route(app, req)).await
}

async fn route(app: &App, req: Request) -> Result<Response, ApiError> {
    let path = path_of(&req);
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(2).collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, ["posts"]) => list::feed(app, req).await,
        (&Method::POST, ["posts"]) => write::create(app, req).await,
        (_, ["posts"]) => Err(ApiError::MethodNotAllowed(&["GET", "POST"])),
        (&Method::GET, ["posts", id]) => single::get(app, req, id).await,
        (&Method::PATCH, ["posts", id]) => write::patch(app, req, id).await,
        (&Method::DELETE, ["posts", id]) => write::delete(app, req, id).await,
        (_, ["posts", _]) => Err(ApiError::MethodNotAllowed(&["GET", "PATCH", "DELETE"])),
        (&Method::GET, ["users", id, "posts"]) => list::by_author(app, req, id).await,
        (_, ["users", _, "posts"]) => Err(ApiError::MethodNotAllowed(&["GET"])),
        _ => Err(ApiError::NoRoute),
    }
}
