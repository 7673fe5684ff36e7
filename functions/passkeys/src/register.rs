//! A signed-in user registers a passkey: `POST /api/auth/passkeys/register/options`
//! `{password?}` (the rule for any new way in) answers the creation options and a ceremony id;
//! `POST /api/auth/passkeys/register/verify` `{ceremony, credential, name?}` checks the
//! authenticator's answer against them and stores the passkey.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::auth::Principal;
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditOutcome, AuthMethod, FieldErrors, User};
use shared::http::{ApiError, AppState, Caller, Json, Response, confirm_new_way_in};
use shared::jobs::{Job, MailMessage};
use shared::limits::with_quota;
use shared::store::{CeremonyKind, Effects, StoreError};
use webauthn_rs::prelude::{CredentialID, PasskeyRegistration, RegisterPublicKeyCredential, Uuid};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::answer::check_registration;
use crate::ceremony::{self, invalid_ceremony};
use crate::manage::{parse_name, view};
use crate::relying_party::{for_a_new_ceremony, relying_party};
use crate::stored::{from_stored, to_stored};

/// Passkeys one account may have.
pub const MAX_PASSKEYS: u32 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsBody {
    password: Option<String>,
}

pub async fn options(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Json(body): Json<OptionsBody>,
) -> Result<Response, ApiError> {
    let webauthn = for_a_new_ceremony(&app, &caller).await?;
    let quota = match confirm_new_way_in(
        &app,
        &principal,
        &caller,
        body.password.as_deref(),
        AuditAction::PasskeyAdd,
        "a passkey",
    )
    .await?
    {
        Ok(quota) => quota,
        Err(refused) => return Ok(refused),
    };
    let user = &principal.user;
    let existing = app.stores.passkeys.list_passkeys(&user.id).await?;
    if existing.len() >= MAX_PASSKEYS as usize {
        return Err(too_many());
    }
    let exclude = existing
        .iter()
        .map(|stored| from_stored(stored).map(|passkey| passkey.cred_id().clone()))
        .collect::<Result<Vec<CredentialID>, _>>()?;
    let (mut creation, state) = webauthn
        .start_passkey_registration(
            user_handle(user)?,
            user.email.as_str(),
            user.name.as_str(),
            Some(exclude),
        )
        .map_err(|e| ApiError::Internal(e.into()))?;
    // Ask for a discoverable credential where the authenticator can keep one, so that it signs
    // in without an address typed; one that cannot still registers.
    if let Some(selection) = creation.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Preferred);
    }
    let id = ceremony::begin(
        &app,
        CeremonyKind::Registration,
        Some(&user.id),
        Some(&principal.session_id),
        &state,
    )
    .await?;
    let answer = shared::http::json(
        StatusCode::OK,
        &json!({ "ceremony": id, "publicKey": creation.public_key }),
    )?;
    Ok(with_quota(quota, answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    ceremony: Option<String>,
    credential: Option<serde_json::Value>,
    name: Option<String>,
}

pub async fn verify(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Json(body): Json<VerifyBody>,
) -> Result<Response, ApiError> {
    let webauthn = relying_party(&app.config)?;
    let mut errors = FieldErrors::default();
    let id = errors.required("ceremony", body.ceremony);
    let credential: Option<RegisterPublicKeyCredential> =
        ceremony::parse_credential(&mut errors, body.credential);
    let name = match body.name {
        Some(raw) => parse_name(&mut errors, &raw),
        None => Some("Passkey".to_owned()),
    };
    let (Some(id), Some(credential), Some(name)) = (id, credential, name) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let (ceremony, state): (_, PasskeyRegistration) =
        ceremony::finish(&app, CeremonyKind::Registration, &id).await?;
    check_registration(&credential).map_err(refused_because)?;
    // Only the session that asked finishes it.
    if ceremony.user_id.as_deref() != Some(principal.id())
        || ceremony.session_id.as_deref() != Some(principal.session_id.as_str())
    {
        return Err(invalid_ceremony());
    }
    let passkey = webauthn
        .finish_passkey_registration(&credential, &state)
        .map_err(|e| refused(&e))?;
    if *passkey.cred_id() != credential.raw_id {
        return Err(refused_because("the credential id is not the attested one"));
    }
    let user = &principal.user;
    let with_password = principal.authentication.amr.contains(&AuthMethod::Password);
    let stored = to_stored(&passkey, &user.id, name, now_ms(), with_password)?;
    let told = Effects::jobs(vec![Job::email(
        user.email.as_str(),
        user.name.as_str(),
        MailMessage::PasskeyAdded {
            passkey: stored.name.clone(),
        },
        now_ms(),
    )]);
    match app
        .stores
        .passkeys
        .add_passkey(&stored, MAX_PASSKEYS, user.session_generation, &told)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(why_not_added(&app, user).await),
        Err(e) => return Err(e.into()),
    }
    let event = caller.event(AuditAction::PasskeyAdd, AuditOutcome::Success);
    app.audit(event.by_self(&user.id).detail(stored.id.clone()))
        .await;
    shared::http::json(StatusCode::CREATED, &view(&stored))
}

/// The user's WebAuthn handle: their id (a UUID), which the authenticator keeps and gives
/// back at a sign-in without an address.
fn user_handle(user: &User) -> Result<Uuid, ApiError> {
    Uuid::parse_str(&user.id).map_err(|e| ApiError::Internal(e.into()))
}

/// The authenticator's answer did not hold up (origin, challenge, signature, user
/// verification...).
fn refused(error: &webauthn_rs::prelude::WebauthnError) -> ApiError {
    ApiError::BadRequest {
        code: "passkey_refused",
        detail: format!("the authenticator's answer was refused: {error}"),
    }
}

fn refused_because(why: &str) -> ApiError {
    ApiError::BadRequest {
        code: "passkey_refused",
        detail: format!("the authenticator's answer was refused: {why}"),
    }
}

fn too_many() -> ApiError {
    ApiError::conflict(
        "too_many_passkeys",
        "this account has as many passkeys as it may: remove one first",
    )
}

/// Why a registration that passed its checks was not stored: the cap, reached meanwhile, or
/// the credential, registered already (to this account or another).
async fn why_not_added(app: &shared::App, user: &User) -> ApiError {
    match app.stores.passkeys.list_passkeys(&user.id).await {
        Ok(list) if list.len() >= MAX_PASSKEYS as usize => too_many(),
        Ok(_) => ApiError::conflict("passkey_in_use", "this passkey is registered already"),
        Err(e) => e.into(),
    }
}
