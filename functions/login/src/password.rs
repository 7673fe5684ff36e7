use axum::extract::State;
use serde::Deserialize;
use shared::auth::Principal;
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditOutcome, FieldErrors, Password};
use shared::http::{ApiError, AppState, Caller, Json, Response, require_assurance, token_response};
use shared::jobs::{Job, MailMessage, SecurityEvent};
use shared::limits::with_quota;
use shared::permissions::Sensitivity;
use shared::store::{Effects, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Writes only the hash and the session generation, conditioned on the hash just verified:
/// profile edits never make it fail, and of two password changes racing, one wins.
pub async fn change(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Json(body): Json<ChangeBody>,
) -> Result<Response, ApiError> {
    require_assurance(&app, &principal, Sensitivity::OwnAccount).await?;
    let authentication = principal.authentication.clone();
    let user = principal.user;
    let mut errors = FieldErrors::default();
    let current = errors.required("currentPassword", body.current_password);
    let new = errors.parse("newPassword", body.new_password, |raw| {
        Password::parse(raw, Some(&user.email))
    });
    let (Some(current), Some(new)) = (current, new) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let confirmed = app
        .logins()
        .confirm_current_password(
            &caller,
            &user,
            "currentPassword",
            &current,
            AuditAction::PasswordChange,
        )
        .await;
    let quota = match confirmed {
        Ok(quota) => quota,
        Err(refused) => return Ok(refused),
    };
    // Only once the current password is proven: a stolen access token alone learns nothing.
    if let Err(refused) = app.check_new_password("newPassword", &new).await {
        return Ok(with_quota(quota, refused));
    }

    let new_hash = app.hasher.hash(&new).await?;
    let now = now_ms();
    let effects = Effects::jobs(vec![
        Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::PasswordChanged,
            now,
        ),
        Job::security(user.email.as_str(), SecurityEvent::PasswordChanged, now),
    ]);
    let changed = match app
        .stores
        .users
        .change_password(&user, &new_hash, now, &effects)
        .await
    {
        Ok(changed) => changed,
        // "Log out everywhere" (or a deletion) ended the session this request came in on.
        Err(StoreError::Conflict)
            if app
                .stores
                .users
                .get_user(&user.id)
                .await?
                .is_none_or(|now| now.session_generation != user.session_generation) =>
        {
            return Err(shared::auth::AuthError::SessionEnded.into());
        }
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "password_changed",
                "the password was changed by another request meanwhile",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    app.audit(
        caller
            .event(AuditAction::PasswordChange, AuditOutcome::Success)
            .by_self(&user.id),
    )
    .await;
    // Every session, this one included, ended above; the caller continues in a new one, as
    // proven as the one they changed it from.
    let tokens = app
        .sessions()
        .start(&changed, authentication, caller.origin())
        .await?;
    let response = token_response(axum::http::StatusCode::OK, &changed, tokens)?;
    Ok(with_quota(quota, response))
}
