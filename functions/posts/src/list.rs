//! Listings, newest first, each served by an index query: `GET /api/posts` (`?author=`,
//! `?tag=`, `?status=`) and `GET /api/users/{id}/posts`.

use axum::extract::State;
use axum::http::StatusCode;
use shared::App;
use shared::auth::{AuthError, Principal};
use shared::domain::{Post, PostStatus, Tag};
use shared::http::{self, ApiError, AppState, Params, PathId, Response, page_body, page_request};
use shared::permissions::may_list_unpublished;
use shared::store::PostQuery;

fn status_filter(params: &Params) -> Result<Option<PostStatus>, ApiError> {
    params
        .get("status")
        .map(PostStatus::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_status", e.message))
}

async fn respond(
    app: &App,
    params: &Params,
    query: PostQuery,
    listing: String,
) -> Result<Response, ApiError> {
    let keys = app.keys.current().await;
    let page_request = page_request(params, &keys, &listing)?;
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

pub async fn feed(
    State(app): State<AppState>,
    viewer: Option<Principal>,
    params: Params,
) -> Result<Response, ApiError> {
    let author = params
        .get("author")
        .map(|raw| {
            shared::http::parse_id(raw).ok_or_else(|| {
                let mut errors = shared::domain::FieldErrors::default();
                errors.push(
                    "author",
                    shared::domain::Invalid::new("invalid_id", "must be a user id"),
                );
                ApiError::Validation(errors.into_vec())
            })
        })
        .transpose()?;
    let tag = params
        .get("tag")
        .map(Tag::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_tag", e.message))?;
    let query = PostQuery::feed(author, tag, status_filter(&params)?);
    let status = query.listed_status();
    if status != PostStatus::Published {
        let viewer = viewer.ok_or(AuthError::MissingToken)?;
        if !may_list_unpublished(&viewer, query.author.as_deref()) {
            return Err(ApiError::Forbidden);
        }
    }
    let listing = format!(
        "posts|{}|{}|{status}",
        query.author.as_deref().unwrap_or(""),
        query.tag.as_ref().map(Tag::as_str).unwrap_or("")
    );
    respond(&app, &params, query, listing).await
}

/// All of an author's posts for the author and staff; published ones for everyone else.
pub async fn by_author(
    State(app): State<AppState>,
    viewer: Option<Principal>,
    PathId(author_id): PathId,
    params: Params,
) -> Result<Response, ApiError> {
    let author = app.stores.users.get_user(&author_id).await?;
    if !author.is_some_and(|a| a.is_active()) {
        return Err(ApiError::NotFound);
    }
    let sees_all = viewer
        .as_ref()
        .is_some_and(|v| may_list_unpublished(v, Some(&author_id)));
    let status = match status_filter(&params)? {
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
    respond(
        &app,
        &params,
        PostQuery::by_author(&author_id, status),
        listing,
    )
    .await
}
