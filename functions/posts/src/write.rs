//! Creating, editing (with `If-Match`) and deleting posts.

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use shared::auth::{AuthError, Principal};
use shared::clock::now_ms;
use shared::domain::{
    AuditAction, AuditOutcome, FieldErrors, NewPost, Post, PostChanges, PostContent, PostStatus,
    PostTitle, Tag,
};
use shared::http::{
    ApiError, AppState, Caller, Json, PathId, Response, if_match, no_content, require_assurance,
    retry_as, unless_lost, with_header,
};
use shared::permissions::{
    Sensitivity, may_delete_post, may_edit_post, role_for_post_delete, role_for_post_edit,
};
use shared::store::{StoreError, Stores};

use crate::single::{post_response, readable_post};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostBody {
    title: Option<String>,
    content: Option<String>,
    status: Option<String>,
    tags: Option<Vec<String>>,
}

fn parse_changes(body: PostBody, errors: &mut FieldErrors) -> PostChanges {
    PostChanges {
        title: errors.parse_optional("title", body.title, PostTitle::parse),
        content: errors.parse_optional("content", body.content, PostContent::parse),
        status: errors.parse_optional("status", body.status, PostStatus::parse),
        tags: errors.parse_optional("tags", body.tags, Tag::parse_list),
    }
}

/// A new post's fields, each checked (every field's problems reported at once).
pub fn parse_new_post(body: PostBody) -> Result<NewPost, ApiError> {
    let mut errors = FieldErrors::default();
    let title = errors.parse("title", body.title, PostTitle::parse);
    let content = errors.parse("content", body.content, PostContent::parse);
    let status = errors.parse_optional("status", body.status, PostStatus::parse);
    let tags = errors.parse_optional("tags", body.tags, Tag::parse_list);
    let (Some(title), Some(content)) = (title, content) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    ApiError::check(errors)?;
    Ok(NewPost {
        title,
        content,
        status,
        tags,
    })
}

pub async fn create(
    State(stores): State<Stores>,
    principal: Principal,
    Json(body): Json<PostBody>,
) -> Result<Response, ApiError> {
    let new = parse_new_post(body)?;
    let post = Post::new(principal.id(), new, now_ms());
    match stores.posts.create_post(&post).await {
        Ok(()) => {}
        // The author was deleted while this request ran.
        Err(StoreError::NotFound) => return Err(AuthError::SessionEnded.into()),
        Err(e) => return Err(e.into()),
    }
    let response = post_response(StatusCode::CREATED, &post, false)?;
    Ok(with_header(
        response,
        LOCATION,
        &format!("/api/posts/{}", post.id),
    ))
}

pub async fn patch(
    State(app): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<PostBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let changes = parse_changes(body, &mut errors);
    ApiError::check(errors)?;
    let (app, id, headers, changes) = (&app, &id, &headers, &changes);
    let posts = &*app.stores.posts;
    retry_as(&*app.stores.users, principal, |principal| async move {
        let current = readable_post(posts, id, Some(&principal)).await?;
        if !may_edit_post(&principal, &current) {
            return Err(ApiError::Forbidden);
        }
        if role_for_post_edit(&principal, &current).is_some() {
            require_assurance(app, &principal, Sensitivity::RoleWrite).await?;
        }
        // After a lost race: 412 if the post moved past the version asked for.
        if_match(headers, current.version)?;
        let next = current.edited(changes.clone(), now_ms());
        let held = role_for_post_edit(&principal, &current);
        let stored = posts.update_post(&current, &next, held.as_ref());
        Ok(unless_lost(stored.await)?.map(|()| next))
    })
    .await
    .and_then(|next| post_response(StatusCode::OK, &next, false))
}

pub async fn delete(
    State(app): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (app, id, caller, headers) = (&app, &id, &caller, &headers);
    retry_as(&*app.stores.users, principal, |principal| async move {
        let post = readable_post(&*app.stores.posts, id, Some(&principal)).await?;
        if !may_delete_post(&principal, &post) {
            return Err(ApiError::Forbidden);
        }
        if role_for_post_delete(&principal, &post).is_some() {
            require_assurance(app, &principal, Sensitivity::RoleWrite).await?;
        }
        if_match(headers, post.version)?;
        let held = role_for_post_delete(&principal, &post);
        if unless_lost(app.stores.posts.delete_post(&post, held.as_ref()).await)?.is_none() {
            return Ok(None);
        }
        // Staff removing someone else's post is a moderation act worth a record.
        if post.author_id != principal.id() {
            let event = caller.event(AuditAction::PostDeletion, AuditOutcome::Success);
            let detail = format!("author {}", post.author_id);
            app.audit(event.actor(principal.id()).target(&post.id).detail(detail))
                .await;
        }
        Ok(Some(no_content()))
    })
    .await
}
