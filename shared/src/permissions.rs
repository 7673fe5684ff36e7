//! Who may do what: every access rule of the API in one place (the README's matrix).
//! Handlers ask here; the table-driven test below is the matrix.

use crate::auth::Principal;
use crate::domain::{Post, PostStatus, Role};
use crate::store::RoleHeld;

const STAFF: &[Role] = &[Role::Moderator, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];

/// The role a permitted write must still hold when it commits: none when ownership allowed it,
/// `roles` (which the actor holds now) when only the role did.
fn unless_own(actor: &Principal, owner: &str, roles: &'static [Role]) -> Option<RoleHeld> {
    (actor.id() != owner).then(|| RoleHeld {
        actor_id: actor.id().to_owned(),
        roles,
    })
}

/// What an allowed edit of a lead must still hold when it commits: always the admin role.
pub fn role_for_lead_write(actor: &Principal) -> RoleHeld {
    RoleHeld {
        actor_id: actor.id().to_owned(),
        roles: ADMIN,
    }
}

/// What an allowed edit or deletion of a user must still hold when it commits.
pub fn role_for_user_write(actor: &Principal, user_id: &str) -> Option<RoleHeld> {
    unless_own(actor, user_id, ADMIN)
}

/// What an allowed edit of a post must still hold when it commits.
pub fn role_for_post_edit(actor: &Principal, post: &Post) -> Option<RoleHeld> {
    unless_own(actor, &post.author_id, STAFF)
}

/// What an allowed deletion of a post must still hold when it commits.
pub fn role_for_post_delete(actor: &Principal, post: &Post) -> Option<RoleHeld> {
    unless_own(actor, &post.author_id, ADMIN)
}

fn is_staff(actor: &Principal) -> bool {
    STAFF.contains(&actor.role())
}

fn is_admin(actor: &Principal) -> bool {
    ADMIN.contains(&actor.role())
}

/// The admin listing of users.
pub fn may_list_users(actor: &Principal) -> bool {
    is_admin(actor)
}

/// The dashboard's metrics and insights.
pub fn may_read_dashboard(actor: &Principal) -> bool {
    is_admin(actor)
}

/// The audit log of security events.
pub fn may_read_audit(actor: &Principal) -> bool {
    is_admin(actor)
}

/// The leads left on the public form: admins read and work them.
pub fn may_manage_leads(actor: &Principal) -> bool {
    is_admin(actor)
}

/// Reading a profile: yourself, or an admin.
pub fn may_view_user(actor: &Principal, user_id: &str) -> bool {
    actor.id() == user_id || is_admin(actor)
}

/// Editing a profile: name and e-mail for yourself or an admin; the role for admins only.
pub fn may_edit_user(actor: &Principal, user_id: &str, changes_role: bool) -> bool {
    if changes_role {
        is_admin(actor)
    } else {
        may_view_user(actor, user_id)
    }
}

/// Deleting an account: an admin, or the owner who confirmed it (`?self=true`).
pub fn may_delete_user(actor: &Principal, user_id: &str, confirmed_self: bool) -> bool {
    is_admin(actor) || (actor.id() == user_id && confirmed_self)
}

/// Published posts are public; drafts and archived posts are for their author and staff.
pub fn may_read_post(viewer: Option<&Principal>, post: &Post) -> bool {
    post.status == PostStatus::Published
        || viewer.is_some_and(|v| v.id() == post.author_id || is_staff(v))
}

/// Author, moderator or admin may edit.
pub fn may_edit_post(actor: &Principal, post: &Post) -> bool {
    actor.id() == post.author_id || is_staff(actor)
}

/// Author or admin may delete (moderators edit or archive instead).
pub fn may_delete_post(actor: &Principal, post: &Post) -> bool {
    actor.id() == post.author_id || is_admin(actor)
}

/// Listing an author's drafts or archived posts: that author and staff.
pub fn may_list_unpublished(viewer: &Principal, author_id: Option<&str>) -> bool {
    is_staff(viewer) || author_id == Some(viewer.id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DisplayName, Email, NewPost, PostContent, PostTitle, User};

    const AUTHOR: &str = "author";

    fn principal(id: &str, role: Role) -> Principal {
        let mut user = User::new(
            Email::parse(format!("{id}@example.com")).unwrap(),
            DisplayName::parse(id).unwrap(),
            String::new(),
            0,
        );
        user.id = id.to_owned();
        user.role = role;
        Principal {
            user,
            session_id: "s".into(),
            authentication: crate::domain::Authentication::password(),
        }
    }

    fn post(status: PostStatus) -> Post {
        let new = NewPost {
            title: PostTitle::parse("t").unwrap(),
            content: PostContent::parse("c".into()).unwrap(),
            status: Some(status),
            tags: None,
        };
        Post::new(AUTHOR, new, 0)
    }

    /// The README's columns: user (self / author), other user, moderator, admin.
    fn actors() -> [Principal; 4] {
        [
            principal(AUTHOR, Role::User),
            principal("other", Role::User),
            principal("moderator", Role::Moderator),
            principal("admin", Role::Admin),
        ]
    }

    fn row(rule: impl Fn(&Principal) -> bool) -> [bool; 4] {
        actors().map(|actor| rule(&actor))
    }

    #[test]
    fn user_rules_match_the_readme_matrix() {
        assert_eq!(row(may_list_users), [false, false, false, true]);
        assert_eq!(
            row(|a| may_view_user(a, AUTHOR)),
            [true, false, false, true]
        );
        assert_eq!(
            row(|a| may_edit_user(a, AUTHOR, false)),
            [true, false, false, true]
        );
        assert_eq!(
            row(|a| may_edit_user(a, AUTHOR, true)),
            [false, false, false, true]
        );
        assert_eq!(
            row(|a| may_delete_user(a, AUTHOR, true)),
            [true, false, false, true]
        );
        assert_eq!(
            row(|a| may_delete_user(a, AUTHOR, false)),
            [false, false, false, true]
        );
    }

    #[test]
    fn post_rules_match_the_readme_matrix() {
        let published = post(PostStatus::Published);
        let draft = post(PostStatus::Draft);
        assert!(may_read_post(None, &published));
        assert!(!may_read_post(None, &draft));
        assert_eq!(row(|a| may_read_post(Some(a), &published)), [true; 4]);
        assert_eq!(
            row(|a| may_read_post(Some(a), &draft)),
            [true, false, true, true]
        );
        assert_eq!(
            row(|a| may_edit_post(a, &published)),
            [true, false, true, true]
        );
        assert_eq!(
            row(|a| may_delete_post(a, &published)),
            [true, false, false, true]
        );
        assert_eq!(
            row(|a| may_list_unpublished(a, Some(AUTHOR))),
            [true, false, true, true]
        );
        assert_eq!(
            row(|a| may_list_unpublished(a, None)),
            [false, false, true, true]
        );
    }
}
