//! A signed-in user's passkeys: `GET /api/auth/passkeys` lists them,
//! `PATCH /api/auth/passkeys/{id}` `{name}` renames one, `DELETE /api/auth/passkeys/{id}`
//! removes one, unless it is the last way into the account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::clock::rfc3339;
use shared::domain::{AuditAction, AuditOutcome, FieldErrors, NO_PASSWORD, bounded_line};
use shared::http::{ApiError, AppState, Caller, Json, Response, private_json, require_assurance};
use shared::permissions::Sensitivity;
use shared::store::{Effects, StoreError, StoredPasskey};

use crate::stored::is_passkey_id;

const MAX_NAME_CHARS: usize = 64;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyView {
    id: String,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
    /// May be synced to the user's other devices, and is.
    backup_eligible: bool,
    backed_up: bool,
}

pub fn view(passkey: &StoredPasskey) -> PasskeyView {
    PasskeyView {
        id: passkey.id.clone(),
        name: passkey.name.clone(),
        created_at: rfc3339(passkey.created_at),
        last_used_at: passkey.last_used_at.map(rfc3339),
        backup_eligible: passkey.backup_eligible,
        backed_up: passkey.backed_up,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PasskeysView {
    data: Vec<PasskeyView>,
    /// Whether the account has a password (with none, its last passkey may be its only way in).
    has_password: bool,
}

pub async fn list(State(app): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let passkeys = app.stores.passkeys.list_passkeys(principal.id()).await?;
    private_json(&PasskeysView {
        data: passkeys.iter().map(view).collect(),
        has_password: principal.user.password_hash != NO_PASSWORD,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    name: Option<String>,
}

pub async fn rename(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<RenameBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let name = errors
        .required("name", body.name)
        .and_then(|raw| parse_name(&mut errors, &raw));
    let Some(name) = name else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    require_assurance(&app, &principal, Sensitivity::OwnAccount).await?;
    if !is_passkey_id(&id) {
        return Err(ApiError::NotFound);
    }
    let passkeys = &app.stores.passkeys;
    match passkeys.rename_passkey(principal.id(), &id, &name).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    let renamed = passkeys
        .find_passkey(principal.id(), &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    private_json(&view(&renamed))
}

pub async fn remove(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_assurance(&app, &principal, Sensitivity::OwnAccount).await?;
    if !is_passkey_id(&id) {
        return Err(ApiError::NotFound);
    }
    match app
        .stores
        .passkeys
        .remove_passkey(principal.id(), &id, &Effects::none())
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "last_sign_in_method",
                "this is the only way into the account: set a password (Forgot your password?), \
                 add another passkey or link a provider first",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let event = caller.event(AuditAction::PasskeyRemove, AuditOutcome::Success);
    app.audit(event.by_self(principal.id()).detail(id)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A passkey's name: one line of 1 to 64 characters once trimmed, nothing invisible in it (it
/// is shown in the list and in the mail: no bidi overrides or zero-width characters).
pub fn parse_name(errors: &mut FieldErrors, raw: &str) -> Option<String> {
    match bounded_line(raw, MAX_NAME_CHARS, true) {
        Ok(name) => name,
        Err(invalid) => {
            errors.push("name", invalid);
            None
        }
    }
}
