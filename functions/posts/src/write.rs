//! Creating, editing (with `If-Match`) and deleting posts.

use lambda_http::http::StatusCode;
use lambda_http::http::header::LOCATION;
use serde::Deserialize;
use shared::App;
use shared::auth::authenticate;
use shared::clock::now_ms;
use shared::domain::{FieldErrors, Post, PostContent, PostStatus, PostTitle, Tag};
use shared::http::{
    ApiError, Request, Response, no_content, read_json, required_version, with_header,
};
use shared::store::StoreError;

use crate::access::{can_delete, can_edit, readable_post};
use crate::single::post_response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    title: Option<String>,
    content: Option<String>,
    status: Option<String>,
    tags: Option<Vec<String>>,
}

struct Fields {
    title: Option<PostTitle>,
    content: Option<PostContent>,
    status: Option<PostStatus>,
    tags: Option<Vec<Tag>>,
}

/// Parses every field present, recording what is wrong in `errors`; with `required`, title and
/// content must be present.
fn parse(body: PostBody, required: bool, errors: &mut FieldErrors) -> Fields {
    let (title, content) = if required {
        (
            errors.parse("title", body.title, PostTitle::parse),
            errors.parse("content", body.content, PostContent::parse),
        )
    } else {
        (
            errors.parse_optional("title", body.title, PostTitle::parse),
            errors.parse_optional("content", body.content, PostContent::parse),
        )
    };
    Fields {
        title,
        content,
        status: errors.parse_optional("status", body.status, PostStatus::parse),
        tags: errors.parse_optional("tags", body.tags, Tag::parse_list),
    }
}

fn published_at(previous: Option<i64>, status: PostStatus, now: i64) -> Option<i64> {
    // Set once, on first publication.
    previous.or((status == PostStatus::Published).then_some(now))
}

pub async fn create(app: &App, req: Request) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    let mut errors = FieldErrors::default();
    let fields = parse(read_json(&req)?, true, &mut errors);
    let (Some(title), Some(content)) = (fields.title, fields.content) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    ApiError::check(errors)?;
    let now = now_ms();
    let status = fields.status.unwrap_or(PostStatus::Draft);
    let post = Post {
        id: uuid::Uuid::now_v7().to_string(),
        author_id: principal.id().to_owned(),
        title,
        content,
        status,
        tags: fields.tags.unwrap_or_default(),
        published_at: published_at(None, status, now),
        created_at: now,
        updated_at: now,
        version: 1,
        author_deleted: false,
    };
    app.stores.posts.create_post(&post).await?;
    let response = post_response(StatusCode::CREATED, &post)?;
    Ok(with_header(
        response,
        LOCATION,
        &format!("/api/posts/{}", post.id),
    ))
}

pub async fn patch(app: &App, req: Request, id: &str) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    let mut errors = FieldErrors::default();
    let fields = parse(read_json(&req)?, false, &mut errors);
    ApiError::check(errors)?;
    let current = readable_post(app, id, Some(&principal)).await?;
    if !can_edit(&current, &principal) {
        return Err(ApiError::Forbidden);
    }
    let expected = required_version(&req)?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(ApiError::PreconditionFailed);
    }
    let now = now_ms();
    let status = fields.status.unwrap_or(current.status);
    let next = Post {
        title: fields.title.unwrap_or_else(|| current.title.clone()),
        content: fields.content.unwrap_or_else(|| current.content.clone()),
        tags: fields.tags.unwrap_or_else(|| current.tags.clone()),
        status,
        published_at: published_at(current.published_at, status, now),
        updated_at: now,
        version: current.version + 1,
        ..current.clone()
    };
    match app.stores.posts.update_post(&current, &next).await {
        Ok(()) => post_response(StatusCode::OK, &next),
        Err(StoreError::Conflict) if expected.is_some() => Err(ApiError::PreconditionFailed),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(app: &App, req: Request, id: &str) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    let post = readable_post(app, id, Some(&principal)).await?;
    if !can_delete(&post, &principal) {
        return Err(ApiError::Forbidden);
    }
    if required_version(&req)?.is_some_and(|v| v != post.version) {
        return Err(ApiError::PreconditionFailed);
    }
    app.stores.posts.delete_post(&post).await?;
    Ok(no_content())
}
