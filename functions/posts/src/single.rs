//! `GET /api/posts/{id}`: cacheable when published, with `ETag` and `If-None-Match` → 304.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, ETAG, VARY};
use axum::http::{HeaderMap, StatusCode};
use shared::auth::Principal;
use shared::domain::{Post, PostStatus};
use shared::http::{self, ApiError, PathId, PostView, Response, etag, not_modified, with_header};
use shared::permissions::may_read_post;
use shared::store::{PostStore, Stores};

const PUBLIC_CACHE: &str = "public, max-age=60, stale-while-revalidate=300";

/// The post, or 404 when it does not exist, its author was deleted, or the viewer may not see
/// it (a draft answers 404, never 403, so its existence does not leak).
pub async fn readable_post(
    posts: &dyn PostStore,
    id: &str,
    viewer: Option<&Principal>,
) -> Result<Post, ApiError> {
    match posts.get_post(id).await? {
        Some(post) if !post.author_deleted && may_read_post(viewer, &post) => Ok(post),
        _ => Err(ApiError::NotFound),
    }
}

/// The post as JSON with its `ETag`. With `shared` (read without credentials), a published post
/// may be kept by any cache; every other answer (a write's, a signed-in reader's, a draft) by
/// none, as the feed does.
pub fn post_response(status: StatusCode, post: &Post, shared: bool) -> Result<Response, ApiError> {
    let response = with_header(
        http::json(status, &PostView::from(post))?,
        ETAG,
        &etag(post.version),
    );
    Ok(cache_headers(response, post, shared))
}

fn cache_headers(response: Response, post: &Post, shared: bool) -> Response {
    let response = with_header(response, VARY, "Authorization");
    match post.status {
        PostStatus::Published if shared => with_header(response, CACHE_CONTROL, PUBLIC_CACHE),
        _ => with_header(response, CACHE_CONTROL, "private, no-store"),
    }
}

pub async fn get(
    State(stores): State<Stores>,
    viewer: Option<Principal>,
    PathId(id): PathId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let post = readable_post(&*stores.posts, &id, viewer.as_ref()).await?;
    if not_modified(&headers, post.version) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        let response = with_header(response, ETAG, &etag(post.version));
        return Ok(cache_headers(response, &post, viewer.is_none()));
    }
    post_response(StatusCode::OK, &post, viewer.is_none())
}
