//! Listings, newest first, each served by an index query: `GET /api/posts` (`?author=`,
//! `?tag=`, `?status=`) and `GET /api/users/{id}/posts`.

use lambda_http::http::StatusCode;
use shared::App;
use shared::auth::{Principal, authenticate_optional};
use shared::domain::{Post, PostStatus, Tag};
use shared::http::{self, ApiError, Request, Response, page_body, page_request, query_param};
use shared::store::PostQuery;

fn status_filter(req: &Request) -> Result<Option<PostStatus>, ApiError> {
    query_param(req, "status")
        .map(PostStatus::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_status", e.message))
}

/// Non-published posts of `author` are for that author and staff only.
fn may_list_unpublished(viewer: Option<&Principal>, author: Option<&str>) -> Result<(), ApiError> {
    match viewer {
        None => Err(ApiError::unauthorized(
            "missing_token",
            "log in to list drafts or archived posts",
        )),
        Some(viewer) if viewer.role().is_staff() => Ok(()),
        Some(viewer) if author == Some(viewer.id()) => Ok(()),
        Some(_) => Err(ApiError::Forbidden),
    }
}

async fn respond(
    app: &App,
    req: &Request,
    query: PostQuery,
    listing: String,
) -> Result<Response, ApiError> {
    let keys = app.keys.current().await;
    let page_request = page_request(req, &keys, &listing)?;
    let page = app
        .stores
        .posts
        .list_posts(&query, page_request.after.as_ref(), page_request.limit)
        .await?;
    http::json(
        StatusCode::OK,
        &page_body(page, &keys, &listing, Post::view),
    )
}

pub async fn feed(app: &App, req: Request) -> Result<Response, ApiError> {
    let viewer = authenticate_optional(app, &req).await?;
    let author = query_param(&req, "author").map(str::to_owned);
    let tag = query_param(&req, "tag")
        .map(Tag::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_tag", e.message))?;
    let status = status_filter(&req)?.unwrap_or(PostStatus::Published);
    if status != PostStatus::Published {
        may_list_unpublished(viewer.as_ref(), author.as_deref())?;
    }
    let listing = format!(
        "posts|{}|{}|{status}",
        author.as_deref().unwrap_or(""),
        tag.as_ref().map(Tag::as_str).unwrap_or("")
    );
    let query = PostQuery {
        author,
        tag,
        status: Some(status),
    };
    respond(app, &req, query, listing).await
}

/// All of an author's posts for the author and staff; published ones for everyone else.
pub async fn by_author(app: &App, req: Request, author_id: &str) -> Result<Response, ApiError> {
    let viewer = authenticate_optional(app, &req).await?;
    let author = app.stores.users.get_user(author_id).await?;
    if !author.is_some_and(|a| a.is_active()) {
        return Err(ApiError::NotFound);
    }
    let sees_all = viewer
        .as_ref()
        .is_some_and(|v| v.is_self_or_staff(author_id));
    let status = match status_filter(&req)? {
        Some(PostStatus::Published) => Some(PostStatus::Published),
        Some(other) if sees_all => Some(other),
        Some(_) => return Err(ApiError::Forbidden),
        None if sees_all => None,
        None => Some(PostStatus::Published),
    };
    let listing = format!(
        "user-posts|{author_id}|{}",
        status.map(PostStatus::as_str).unwrap_or("all")
    );
    let query = PostQuery {
        author: Some(author_id.to_owned()),
        tag: None,
        status,
    };
    respond(app, &req, query, listing).await
}
