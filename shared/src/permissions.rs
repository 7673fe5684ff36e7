//! Who may do what: every access rule of the API in one place (the README's matrix).
//! Handlers ask here; the table-driven test below is the matrix.

use crate::auth::Principal;
use crate::domain::{Aal, Post, PostStatus, Role};
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

/// Removing a user's second factor without their code (they lost it): admins.
pub fn may_reset_second_factor(actor: &Principal) -> bool {
    is_admin(actor)
}

/// Listing and ending a user's sessions: yourself (also at `/api/auth/sessions`), or an admin.
pub fn may_manage_sessions_of(actor: &Principal, user_id: &str) -> bool {
    may_view_user(actor, user_id)
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

/// What an action is, for the proof of identity it asks beyond a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Changes the caller's own credentials or account: the password, the address, the second
    /// factor and its recovery codes, the account's deletion.
    OwnAccount,
    /// A write only the actor's role allows (an admin's on users and leads, staff's on
    /// another's post).
    RoleWrite,
    /// A read only admins may make (user listings, the audit log, the dashboard, leads).
    AdminRead,
}

/// Why an action is refused to a session that may otherwise take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingAssurance {
    /// The user has a second factor and this session has not used it (`aal1`): step up.
    StepUp,
    /// An admin without a second factor, where `REQUIRE_ADMIN_MFA` wants one: enrol first.
    Enrolment,
}

/// Whether a session may take a permitted action of `sensitivity` (`None`) or what it lacks.
/// A user with an active second factor (`has_factor`) needs `aal2` for their own account's
/// sensitive changes and for every write of their role; with `require_admin_mfa`, an admin
/// needs a factor, and a session that used it, for every admin route, reads included.
pub fn missing_assurance(
    actor: &Principal,
    has_factor: bool,
    sensitivity: Sensitivity,
    require_admin_mfa: bool,
) -> Option<MissingAssurance> {
    let stepped_up = actor.aal() >= Aal::Aal2;
    let admin_route = is_admin(actor) && sensitivity != Sensitivity::OwnAccount;
    if require_admin_mfa && admin_route {
        if !has_factor && !stepped_up {
            return Some(MissingAssurance::Enrolment);
        }
        return (!stepped_up).then_some(MissingAssurance::StepUp);
    }
    match sensitivity {
        Sensitivity::AdminRead => None,
        Sensitivity::OwnAccount | Sensitivity::RoleWrite => {
            (has_factor && !stepped_up).then_some(MissingAssurance::StepUp)
        }
    }
}

/// Whether `missing_assurance` can depend on the user's factor at all, so the factor is read
/// only when it can.
pub fn assurance_depends_on_factor(
    actor: &Principal,
    sensitivity: Sensitivity,
    require_admin_mfa: bool,
) -> bool {
    actor.aal() < Aal::Aal2
        && (sensitivity != Sensitivity::AdminRead || (require_admin_mfa && is_admin(actor)))
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
        assert_eq!(
            row(|a| may_manage_sessions_of(a, AUTHOR)),
            [true, false, false, true]
        );
        assert_eq!(row(may_reset_second_factor), [false, false, false, true]);
    }

    fn stepped_up(mut actor: Principal) -> Principal {
        actor.authentication = actor
            .authentication
            .with_second_factor(crate::domain::AuthMethod::Otp);
        actor
    }

    #[test]
    fn a_second_factor_asks_for_aal2_on_sensitive_actions() {
        use MissingAssurance::{Enrolment, StepUp};
        use Sensitivity::{AdminRead, OwnAccount, RoleWrite};
        let user = principal(AUTHOR, Role::User);
        let admin = principal("admin", Role::Admin);
        // Without a factor, nothing more is asked (unless admins must have one).
        for sensitivity in [OwnAccount, RoleWrite, AdminRead] {
            assert_eq!(missing_assurance(&user, false, sensitivity, false), None);
            assert_eq!(missing_assurance(&admin, false, sensitivity, false), None);
        }
        // With one, an aal1 session steps up for its own account and its role's writes.
        assert_eq!(
            missing_assurance(&user, true, OwnAccount, false),
            Some(StepUp)
        );
        assert_eq!(
            missing_assurance(&admin, true, RoleWrite, false),
            Some(StepUp)
        );
        assert_eq!(missing_assurance(&admin, true, AdminRead, false), None);
        let admin_aal2 = stepped_up(admin.clone());
        for sensitivity in [OwnAccount, RoleWrite, AdminRead] {
            assert_eq!(
                missing_assurance(&admin_aal2, true, sensitivity, true),
                None
            );
            assert_eq!(
                missing_assurance(&stepped_up(user.clone()), true, sensitivity, false),
                None
            );
        }
        // REQUIRE_ADMIN_MFA: every admin route, reads too; never a user's own account.
        assert_eq!(
            missing_assurance(&admin, false, AdminRead, true),
            Some(Enrolment)
        );
        assert_eq!(
            missing_assurance(&admin, false, RoleWrite, true),
            Some(Enrolment)
        );
        assert_eq!(
            missing_assurance(&admin, true, AdminRead, true),
            Some(StepUp)
        );
        assert_eq!(missing_assurance(&admin, false, OwnAccount, true), None);
        let moderator = principal("moderator", Role::Moderator);
        assert_eq!(missing_assurance(&moderator, false, RoleWrite, true), None);
        assert_eq!(
            missing_assurance(&moderator, true, RoleWrite, true),
            Some(StepUp)
        );
        // The factor is read only where it can change the answer.
        assert!(!assurance_depends_on_factor(&admin_aal2, RoleWrite, true));
        assert!(!assurance_depends_on_factor(&admin, AdminRead, false));
        assert!(assurance_depends_on_factor(&admin, AdminRead, true));
        assert!(assurance_depends_on_factor(&user, OwnAccount, false));
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
