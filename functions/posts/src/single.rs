//! `GET /api/posts/{id}`: cacheable when published, with `ETag` and `If-None-Match` → 304.

use lambda_http::Body;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{CACHE_CONTROL, ETAG};
use shared::App;
use shared::auth::authenticate_optional;
use shared::domain::{Post, PostStatus};
use shared::http::{self, ApiError, Request, Response, etag, not_modified, with_header};

use crate::access::readable_post;

const PUBLIC_CACHE: &str = "public, max-age=60, stale-while-revalidate=300";

/// The post as JSON with its `ETag`; published posts may be cached by anyone.
pub fn post_response(status: StatusCode, post: &Post) -> Result<Response, ApiError> {
    let response = with_header(http::json(status, &post.view())?, ETAG, &etag(post.version));
    Ok(cache_headers(response, post))
}

fn cache_headers(response: Response, post: &Post) -> Response {
    match post.status {
        PostStatus::Published => with_header(response, CACHE_CONTROL, PUBLIC_CACHE),
        _ => with_header(response, CACHE_CONTROL, "private, no-store"),
    }
}

pub async fn get(app: &App, req: Request, id: &str) -> Result<Response, ApiError> {
    let viewer = authenticate_optional(app, &req).await?;
    let post = readable_post(app, id, viewer.as_ref()).await?;
    if not_modified(&req, post.version) {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        let response = with_header(response, ETAG, &etag(post.version));
        return Ok(cache_headers(response, &post));
    }
    post_response(StatusCode::OK, &post)
}
