//! The rule for adding a way into an account (a sign-in provider, a passkey): whoever holds a
//! stolen session alone must not be able to add their own for good.

use super::{ApiError, Caller, Response, require_assurance};
use crate::App;
use crate::auth::Principal;
use crate::clock::now_ms;
use crate::domain::{AuditAction, NO_PASSWORD};
use crate::limits::Quota;
use crate::permissions::Sensitivity;

/// An account without a password adds a way in only from a session this recent.
pub const RECENT_SIGN_IN_MS: i64 = 10 * 60 * 1000;

/// A verified address (whoever registered an address they do not own could otherwise leave a
/// way in of theirs for when the owner proves it); aal2 where the account has a second factor;
/// and the current password where it has one (counted like a sign-in: `password` is checked,
/// audited as `action`), or else a session started in the last 10 minutes. `what` names the
/// way in for the messages ("a provider"). The inner `Err` is the refusal to answer as it is
/// (a wrong password, with the lock's quota); `Ok` carries that quota.
pub async fn confirm_new_way_in(
    app: &App,
    principal: &Principal,
    caller: &Caller,
    password: Option<&str>,
    action: AuditAction,
    what: &str,
) -> Result<Result<Option<Quota>, Response>, ApiError> {
    require_assurance(app, principal, Sensitivity::OwnAccount).await?;
    let user = &principal.user;
    if !user.email_verified {
        return Err(ApiError::ForbiddenBecause {
            code: "email_not_verified",
            detail: format!("confirm your e-mail address before you add {what}"),
        });
    }
    if user.password_hash != NO_PASSWORD {
        return Ok(app
            .logins()
            .confirm_current_password(
                caller,
                user,
                "password",
                password.unwrap_or_default(),
                action,
            )
            .await);
    }
    let (_, session) = app
        .stores
        .sessions
        .get_user_and_session(&user.id, &principal.session_id)
        .await?;
    let recent = session.is_some_and(|s| now_ms() - s.created_at <= RECENT_SIGN_IN_MS);
    if !recent {
        return Err(ApiError::ForbiddenBecause {
            code: "recent_sign_in_required",
            detail: format!("sign in again (within the last 10 minutes) to add {what}"),
        });
    }
    Ok(Ok(None))
}
