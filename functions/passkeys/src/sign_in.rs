//! Signing in with a passkey: `POST /api/auth/passkeys/login/options` `{email?}` answers the
//! request options and a ceremony id (with an address, its passkeys are offered; without, the
//! authenticator offers the user's own); `POST /api/auth/passkeys/login/verify`
//! `{ceremony, credential}` checks the assertion and signs in: `aal2`, `amr ["webauthn"]` (a
//! passkey always verifies its user), with no second step.

use aws_lc_rs::hmac;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::App;
use shared::auth::check_verified;
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditOutcome, Authentication, Email, FieldErrors};
use shared::http::{ApiError, AppState, Caller, Json, Response, signed_in};
use shared::store::{CeremonyKind, StoreError, StoredPasskey};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PublicKeyCredential,
    RequestChallengeResponse, Uuid, Webauthn, WebauthnError,
};

use crate::answer::check_assertion;
use crate::ceremony;
use crate::relying_party::{for_a_new_ceremony, relying_party};
use crate::stored::{from_stored, passkey_id};

/// What the ceremony was: for one account's passkeys, or for whichever the authenticator has.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SignInState {
    Offered(PasskeyAuthentication),
    Discoverable(DiscoverableAuthentication),
    /// An address with no passkey: made-up ids were offered, and nothing signs in.
    Decoy,
}

/// A user id no user has (ids are version 7 UUIDs): the partition read for an address without
/// an account, so that it costs what one with an account does.
const NOBODY: &str = "00000000-0000-0000-0000-000000000000";

/// Credential id lengths in use (security keys, phones, platform authenticators), in bytes.
const DECOY_ID_LENGTHS: [usize; 4] = [16, 20, 32, 64];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsBody {
    email: Option<String>,
}

pub async fn options(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<OptionsBody>,
) -> Result<Response, ApiError> {
    let webauthn = for_a_new_ceremony(&app, &caller).await?;
    let (request, state, user_id) = match body.email.as_deref() {
        Some(typed) => for_address(&app, &webauthn, typed).await?,
        None => {
            let (request, state) = webauthn
                .start_discoverable_authentication()
                .map_err(|e| ApiError::Internal(e.into()))?;
            (request, SignInState::Discoverable(state), None)
        }
    };
    let id = ceremony::begin(&app, CeremonyKind::SignIn, user_id.as_deref(), None, &state).await?;
    // The page chooses how to ask (a button, or the browser's autofill): no `mediation` here.
    shared::http::json(
        StatusCode::OK,
        &json!({ "ceremony": id, "publicKey": request.public_key }),
    )
}

/// The options for the account with this address: its passkeys, or for an address with none
/// (or no account) the same shape with made-up ids, so the answer tells nothing about it.
async fn for_address(
    app: &App,
    webauthn: &Webauthn,
    typed: &str,
) -> Result<(RequestChallengeResponse, SignInState, Option<String>), ApiError> {
    let (parsed, counted) = Email::as_typed(typed);
    let user = match &parsed {
        Some(email) => app.stores.users.find_user_by_email(email).await?,
        None => None,
    };
    // The same reads whether or not there is an account: its passkeys, or a partition no
    // user has.
    let listed = user.as_ref().map_or(NOBODY, |user| user.id.as_str());
    let passkeys = app.stores.passkeys.list_passkeys(listed).await?;
    let offered = passkeys
        .iter()
        .map(from_stored)
        .collect::<Result<Vec<Passkey>, _>>()?;
    if let (Some(user), false) = (user, offered.is_empty()) {
        let (request, state) = webauthn
            .start_passkey_authentication(&offered)
            .map_err(|e| ApiError::Internal(e.into()))?;
        return Ok((request, SignInState::Offered(state), Some(user.id)));
    }
    // Options as an account's would be (no extensions, no mediation), offering one or two
    // made-up ids of a length authenticators use, the same for this address each time.
    let (mut request, _) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| ApiError::Internal(e.into()))?;
    request.mediation = None;
    request.public_key.extensions = None;
    let key = app.keys.current().await.passkey_decoy_key();
    let seed = hmac::sign(&key, counted.as_bytes());
    let seed = seed.as_ref();
    let count = 1 + usize::from(seed[0] % 4 == 0);
    request.public_key.allow_credentials = (0..count)
        .map(|i| {
            let length = DECOY_ID_LENGTHS[usize::from(seed[1 + i]) % DECOY_ID_LENGTHS.len()];
            let id = hmac::sign(&key, &[seed, &[i as u8]].concat());
            webauthn_rs_proto::AllowCredentials {
                type_: "public-key".into(),
                id: id.as_ref().iter().cycle().take(length).copied().collect(),
                transports: None,
            }
        })
        .collect();
    Ok((request, SignInState::Decoy, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    ceremony: Option<String>,
    credential: Option<serde_json::Value>,
}

pub async fn verify(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<VerifyBody>,
) -> Result<Response, ApiError> {
    let webauthn = relying_party(&app.config)?;
    let mut errors = FieldErrors::default();
    let id = errors.required("ceremony", body.ceremony);
    let credential: Option<PublicKeyCredential> =
        ceremony::parse_credential(&mut errors, body.credential);
    let (Some(id), Some(credential)) = (id, credential) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let (ceremony, state): (_, SignInState) =
        ceremony::finish(&app, CeremonyKind::SignIn, &id).await?;
    if let Err(why) = check_assertion(&credential) {
        return failed(&app, &caller, None, why).await;
    }
    let user_id = match (&state, ceremony.user_id) {
        (SignInState::Offered(_), Some(user_id)) => user_id,
        (SignInState::Discoverable(_), None) => match handle_of(&credential) {
            Some(user_id) => user_id,
            None => return failed(&app, &caller, None, "no user handle").await,
        },
        _ => return failed(&app, &caller, None, "no such passkey").await,
    };
    let Some(mut stored) = app
        .stores
        .passkeys
        .find_passkey(&user_id, &passkey_id(&credential.raw_id))
        .await?
    else {
        return failed(&app, &caller, None, "no such passkey").await;
    };
    let mut passkey = from_stored(&stored)?;
    let checked = match state {
        SignInState::Offered(state) => webauthn.finish_passkey_authentication(&credential, &state),
        SignInState::Discoverable(state) => {
            webauthn.finish_discoverable_authentication_v2(&credential, state, &passkey)
        }
        SignInState::Decoy => Err(WebauthnError::CredentialNotFound),
    };
    let result = match checked {
        Ok(result) => result,
        Err(e) => return failed(&app, &caller, Some(&user_id), &e.to_string()).await,
    };
    passkey.update_credential(&result);
    let used = StoredPasskey {
        credential: serde_json::to_string(&passkey).map_err(|e| ApiError::Internal(e.into()))?,
        counter: result.counter(),
        backed_up: result.backup_state(),
        ..stored.clone()
    };
    match app
        .stores
        .passkeys
        .record_passkey_use(&used, now_ms())
        .await
    {
        Ok(()) => stored = used,
        // Removed meanwhile, or another sign-in recorded a count as high: a replay or a clone.
        Err(StoreError::Conflict) => {
            return failed(
                &app,
                &caller,
                Some(&user_id),
                "sign counter did not advance",
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    let user = match app.stores.users.get_user(&stored.user_id).await? {
        Some(user) if user.is_active() => user,
        _ => return failed(&app, &caller, Some(&user_id), "no active account").await,
    };
    if let Err(unverified) = check_verified(&app.config, &user) {
        return Err(unverified.into());
    }
    signed_in(
        &app,
        &caller,
        &user,
        Authentication::passkey(),
        Some("passkey"),
        None,
    )
    .await
}

/// The user id an authenticator gave back (the handle registered: a UUID).
fn handle_of(credential: &PublicKeyCredential) -> Option<String> {
    let handle = credential.response.user_handle.as_deref()?;
    Uuid::from_slice(handle)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

/// 401 `passkey_refused`, audited as a failed sign-in (detail: why).
async fn failed(
    app: &App,
    caller: &Caller,
    user_id: Option<&str>,
    why: &str,
) -> Result<Response, ApiError> {
    let mut event = caller.event(AuditAction::Login, AuditOutcome::Failure);
    event.target = user_id.map(str::to_owned);
    app.audit(event.detail(format!("passkey: {why}"))).await;
    Err(ApiError::Unauthorized {
        code: "passkey_refused",
        detail:
            "this passkey cannot sign in here (unknown, removed, or its answer did not hold up)"
                .into(),
    })
}
