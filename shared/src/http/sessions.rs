//! Listing and ending a user's sessions, as both `/api/auth/sessions` (the caller's own) and
//! `/api/users/{id}/sessions` (yourself or, for admins, anyone) serve them.

use http::StatusCode;

use super::{
    ApiError, Caller, Params, Response, SessionView, json, no_content, page_body, page_request,
    require_assurance, retry_as, unless_lost,
};
use crate::App;
use crate::auth::Principal;
use crate::clock::now_ms;
use crate::domain::{AuditAction, AuditOutcome, User};
use crate::permissions::{Sensitivity, may_manage_sessions_of, role_for_user_write};
use crate::store::StoreError;

/// The user `id` if `principal` may manage its sessions: 403 if not, 404 for no active user.
/// Another user's sessions are an admin's `sensitivity` action (a second factor may be asked).
pub async fn sessions_owner(
    app: &App,
    principal: &Principal,
    id: &str,
    sensitivity: Sensitivity,
) -> Result<User, ApiError> {
    if !may_manage_sessions_of(principal, id) {
        return Err(ApiError::Forbidden);
    }
    if id == principal.id() {
        return Ok(principal.user.clone());
    }
    require_assurance(app, principal, sensitivity).await?;
    match app.stores.users.get_user(id).await? {
        Some(user) if user.is_active() => Ok(user),
        _ => Err(ApiError::NotFound),
    }
}

/// A page of `user`'s live sessions, newest first, the one `principal` came in on marked
/// `current` (`?limit=`, `?cursor=`).
pub async fn sessions_page(
    app: &App,
    principal: &Principal,
    user: &User,
    params: &Params,
) -> Result<Response, ApiError> {
    let listing = format!("sessions|{}", user.id);
    let keys = app.keys.current().await;
    let page_request = page_request(params, &keys, &listing)?;
    let page = app
        .stores
        .sessions
        .list_sessions(
            user,
            page_request.after.as_ref(),
            page_request.limit,
            now_ms(),
        )
        .await?;
    json(
        StatusCode::OK,
        &page_body(page, &keys, &listing, |session| {
            SessionView::of(session, &principal.session_id)
        }),
    )
}

/// Ends the session `session_id` of the user `user_id` for `principal` (that user, or an
/// admin who still holds the role when it commits): 204, audited; 404 when it names no live
/// session of theirs: unknown, another user's, or ended already (of two requests at once, one
/// ends it and the other gets 404).
pub async fn end_session(
    app: &App,
    caller: &Caller,
    principal: Principal,
    user_id: &str,
    session_id: &str,
) -> Result<Response, ApiError> {
    // An admin's ending holds only while they are one: a demotion first makes it fail (and
    // the retry, reading the caller again, answers 403).
    let ended = retry_as(&*app.stores.users, principal, |principal| async move {
        let user = sessions_owner(app, &principal, user_id, Sensitivity::RoleWrite).await?;
        let held = role_for_user_write(&principal, user_id);
        let ended = app
            .stores
            .sessions
            .end_session(&user, session_id, now_ms(), held.as_ref())
            .await;
        match ended {
            Err(StoreError::NotFound) => Err(ApiError::NotFound),
            ended => Ok(unless_lost(ended)?.map(|()| principal)),
        }
    })
    .await;
    let principal = ended?;
    let event = caller
        .event(AuditAction::SessionEnd, AuditOutcome::Success)
        .actor(principal.id())
        .target(user_id)
        .detail(session_id);
    app.audit(event).await;
    Ok(no_content())
}
