//! Who may see and change a post.

use shared::App;
use shared::auth::Principal;
use shared::domain::{Post, PostStatus, Role};
use shared::http::ApiError;

/// Published posts are public; drafts and archived posts only for their author and staff.
pub fn can_read(post: &Post, viewer: Option<&Principal>) -> bool {
    post.status == PostStatus::Published
        || viewer.is_some_and(|v| v.is_self_or_staff(&post.author_id))
}

/// The post, or 404 when it does not exist, its author was deleted, or the viewer may not see
/// it (a draft answers 404, never 403, so its existence does not leak).
pub async fn readable_post(
    app: &App,
    id: &str,
    viewer: Option<&Principal>,
) -> Result<Post, ApiError> {
    match app.stores.posts.get_post(id).await? {
        Some(post) if !post.author_deleted && can_read(&post, viewer) => Ok(post),
        _ => Err(ApiError::NotFound),
    }
}

/// Author, moderator or admin may edit.
pub fn can_edit(post: &Post, principal: &Principal) -> bool {
    principal.is_self_or_staff(&post.author_id)
}

/// Author or admin may delete (moderators edit or archive instead).
pub fn can_delete(post: &Post, principal: &Principal) -> bool {
    principal.id() == post.author_id || principal.role() == Role::Admin
}
