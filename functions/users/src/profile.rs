//! One user: read (self or admin), update (self: name, e-mail; admin: also role), delete.

use axum::extract::State;
use axum::http::header::ETAG;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use shared::App;
use shared::auth::{AuthError, Principal};
use shared::clock::now_ms;
use shared::domain::{
    AuditAction, AuditOutcome, DisplayName, Email, FieldErrors, ProfileChanges, Role, User,
};
use shared::http::{
    self, ApiError, AppState, Caller, Json, Params, PathId, Response, UserView, etag, if_match,
    require_assurance, retry_as, unless_lost, with_header,
};
use shared::jobs::{Job, MailMessage, SecurityEvent, Work, begin_account_cleanup};
use shared::limits::with_quota;
use shared::permissions::{
    Sensitivity, may_delete_user, may_edit_user, may_view_user, role_for_user_write,
};
use shared::store::Effects;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
}

fn profile_response(user: &User) -> Result<Response, ApiError> {
    Ok(with_header(
        http::json(StatusCode::OK, &UserView::from(user))?,
        ETAG,
        &etag(user.version),
    ))
}

/// The user as stored, active or not; 404 when there is none.
async fn stored_user(app: &App, id: &str) -> Result<User, ApiError> {
    app.stores
        .users
        .get_user(id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The active user, if the caller may see it: themselves or an admin. Others get 403 (the
/// listing is admin-only, so ids are not enumerable this way).
async fn visible_user(app: &App, principal: &Principal, id: &str) -> Result<User, ApiError> {
    if !may_view_user(principal, id) {
        return Err(ApiError::Forbidden);
    }
    if principal.id() != id {
        require_assurance(app, principal, Sensitivity::AdminRead).await?;
    }
    match stored_user(app, id).await? {
        user if user.is_active() => Ok(user),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn me(principal: Principal) -> Result<Response, ApiError> {
    profile_response(&principal.user)
}

pub async fn get(
    State(app): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    profile_response(&visible_user(&app, &principal, &id).await?)
}

fn parse_patch(body: UserPatch) -> Result<ProfileChanges, ApiError> {
    let mut errors = FieldErrors::default();
    let changes = ProfileChanges {
        name: errors.parse_optional("name", body.name, DisplayName::parse),
        email: errors.parse_optional("email", body.email, Email::parse),
        role: errors.parse_optional("role", body.role, Role::parse),
    };
    ApiError::check(errors)?;
    Ok(changes)
}

pub async fn patch(
    State(app): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<UserPatch>,
) -> Result<Response, ApiError> {
    if !may_edit_user(&principal, &id, body.role.is_some()) {
        return Err(ApiError::Forbidden);
    }
    if body.email.is_some() && id == principal.id() {
        return Err(ApiError::ForbiddenBecause {
            code: "email_change_needs_confirmation",
            detail: "change your own address with POST /api/users/me/email {email, password}; \
                     it replaces the old one once the new address confirms it"
                .into(),
        });
    }
    let changes = &parse_patch(body)?;
    if role_for_user_write(&principal, &id).is_some() || changes.role.is_some() {
        require_assurance(&app, &principal, Sensitivity::RoleWrite).await?;
    }
    let (app, id, caller, headers) = (&app, &id, &caller, &headers);
    retry_as(&*app.stores.users, principal, |mut principal| async move {
        // Checked on every attempt: a lost race may have been the caller's own demotion.
        if !may_edit_user(&principal, id, changes.role.is_some()) {
            return Err(ApiError::Forbidden);
        }
        let current = visible_user(app, &principal, id).await?;
        // Editing yourself: the permission comes from the same read the write is conditioned
        // on, so a demotion that commits first makes this write fail, not undo it.
        if current.id == principal.id() {
            principal.user = current.clone();
            if !may_edit_user(&principal, id, changes.role.is_some()) {
                return Err(ApiError::Forbidden);
            }
        }
        // After a lost race: 412 if the user moved past the version asked for; without
        // `If-Match` the edit applies to whatever came between (a role change, a logout).
        if_match(headers, current.version)?;
        let next = current.with_profile(changes.clone(), now_ms());
        // Changing someone else takes admin rights: the write holds only while they last.
        let held = role_for_user_write(&principal, &current.id);
        let effects = Effects::jobs(address_change_notices(&current, &next));
        let stored = app
            .stores
            .users
            .update_profile(&current, &next, held.as_ref(), &effects)
            .await;
        if unless_lost(stored)?.is_none() {
            return Ok(None);
        }
        audit_profile_change(app, caller, principal.id(), &current, &next).await;
        Ok(Some(next))
    })
    .await
    .and_then(|next| profile_response(&next))
}

/// An address set by an admin: the old address and the admins are told, as when the user
/// confirms a change themselves.
fn address_change_notices(before: &User, after: &User) -> Vec<Job> {
    if before.email == after.email {
        return Vec::new();
    }
    let now = after.updated_at;
    vec![
        Job::email(
            before.email.as_str(),
            before.name.as_str(),
            MailMessage::EmailChanged {
                new_email: after.email.as_str().to_owned(),
            },
            now,
        ),
        Job::security(before.email.as_str(), SecurityEvent::EmailChanged, now),
    ]
}

/// What deleting your own account takes: your current password, as a password or address
/// change does, so a stolen access token alone cannot destroy the account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfDeletion {
    password: Option<String>,
}

/// Soft delete by an admin, or by the user themselves with `?self=true` and their password in
/// the body (`{"password": …}`; counted against the account's lock like a login). Ends every session and
/// frees the e-mail, with a clean-up job in the outbox and a mail to the user; then hides the
/// posts. The relay runs the clean-up job from the stream, so it finishes even if this request dies
/// half-way; an admin repeating the request finishes it at once.
pub async fn delete(
    State(app): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    params: Params,
    caller: Caller,
    headers: HeaderMap,
    body: Option<Json<SelfDeletion>>,
) -> Result<Response, ApiError> {
    let confirmed_self = match params.get("self")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "self must be true or false",
            ));
        }
    };
    if !may_delete_user(&principal, &id, confirmed_self) {
        return Err(ApiError::Forbidden);
    }
    let sensitivity = match role_for_user_write(&principal, &id) {
        Some(_) => Sensitivity::RoleWrite,
        None => Sensitivity::OwnAccount,
    };
    require_assurance(&app, &principal, sensitivity).await?;
    let mut quota = None;
    if principal.id() == id {
        let mut errors = FieldErrors::default();
        let password = body.and_then(|Json(body)| body.password);
        let Some(password) = errors.required("password", password) else {
            return Err(ApiError::Validation(errors.into_vec()));
        };
        let confirmed = app
            .logins()
            .confirm_current_password(
                &caller,
                &principal.user,
                "password",
                &password,
                AuditAction::UserDeletion,
            )
            .await;
        quota = match confirmed {
            Ok(counted) => counted,
            Err(refused) => return Ok(refused),
        };
    }
    Ok(with_quota(
        quota,
        delete_account(&app, principal, &id, &caller, &headers).await,
    ))
}

async fn delete_account(
    app: &App,
    principal: Principal,
    id: &str,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<StatusCode, ApiError> {
    // Deleting yourself holds only for the credentials the password was checked against: a
    // password change, reset or "log out everywhere" since then stops it, however long the
    // request took to arrive.
    let own = principal.id() == id;
    let checked = &principal.user.clone();
    let deleting = retry_as(&*app.stores.users, principal, |principal| async move {
        // Checked on every attempt: the lost race may have been the actor's own demotion.
        if !may_delete_user(&principal, id, true) {
            return Err(ApiError::Forbidden);
        }
        let user = stored_user(app, id).await?;
        if own
            && (user.session_generation != checked.session_generation
                || user.password_hash != checked.password_hash)
        {
            return Err(AuthError::SessionEnded.into());
        }
        if !user.is_active() {
            return Ok(Some(false));
        }
        // Your own deletion is conditioned on the version just checked, so nothing that
        // commits after this read (a password change) can be overtaken.
        let expected = if_match(headers, user.version)?.or(own.then_some(user.version));
        let now = now_ms();
        let effects = Effects::jobs(vec![
            Job::new(
                Work::AccountCleanup {
                    user_id: user.id.clone(),
                },
                now,
            ),
            Job::email(
                user.email.as_str(),
                user.name.as_str(),
                MailMessage::AccountDeleted,
                now,
            ),
            Job::security(user.email.as_str(), SecurityEvent::AccountDeleted, now),
        ]);
        let held = role_for_user_write(&principal, id);
        let stored = app
            .stores
            .users
            .delete_user(&user, expected, now, &effects, held.as_ref())
            .await;
        if unless_lost(stored)?.is_none() {
            return Ok(None);
        }
        let by = if own { "self" } else { "admin" };
        let event = caller.event(AuditAction::UserDeletion, AuditOutcome::Success);
        app.audit(event.actor(principal.id()).target(id).detail(by))
            .await;
        Ok(Some(true))
    })
    .await?;
    // One page of the posts at most; the clean-up job hides the rest.
    begin_account_cleanup(&app.stores, id, deleting, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Role and address changes made through a profile edit go to the audit log.
async fn audit_profile_change(
    app: &App,
    caller: &Caller,
    actor: &str,
    before: &User,
    after: &User,
) {
    if before.role != after.role {
        let event = caller.event(AuditAction::RoleChange, AuditOutcome::Success);
        let detail = format!("{}->{}", before.role.as_str(), after.role.as_str());
        app.audit(event.actor(actor).target(&after.id).detail(detail))
            .await;
    }
    if before.email != after.email {
        let event = caller.event(AuditAction::EmailChange, AuditOutcome::Success);
        app.audit(event.actor(actor).target(&after.id).detail("by_admin"))
            .await;
    }
}
