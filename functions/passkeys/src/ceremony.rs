//! Ceremonies between options and verification: the library's state (and its challenge) kept
//! in the table under the hash of a random id the client carries, spent once.

use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::App;
use shared::auth::{RefreshToken, sha256_b64url};
use shared::clock::now_ms;
use shared::domain::{FieldErrors, Invalid};
use shared::http::ApiError;
use shared::store::{CeremonyKind, PasskeyCeremony};

/// How long a ceremony waits for the authenticator (the options' timeout too).
pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;

/// Stores `state` for a new ceremony; answers its id.
pub async fn begin<S: Serialize>(
    app: &App,
    kind: CeremonyKind,
    user_id: Option<&str>,
    session_id: Option<&str>,
    state: &S,
) -> Result<String, ApiError> {
    let id = RefreshToken::generate().expose();
    let ceremony = PasskeyCeremony {
        hash: sha256_b64url(id.as_bytes()),
        kind,
        user_id: user_id.map(str::to_owned),
        session_id: session_id.map(str::to_owned),
        state: serde_json::to_string(state).map_err(|e| ApiError::Internal(e.into()))?,
        expires_at: now_ms() + CEREMONY_TTL_MS,
    };
    app.stores.passkeys.create_ceremony(&ceremony).await?;
    Ok(id)
}

/// Spends the ceremony `id` of `kind`, with its state: of two requests with one id, one gets
/// it; an unknown, spent, expired or other kind of ceremony is 400 `invalid_ceremony`.
pub async fn finish<S: DeserializeOwned>(
    app: &App,
    kind: CeremonyKind,
    id: &str,
) -> Result<(PasskeyCeremony, S), ApiError> {
    let taken = app
        .stores
        .passkeys
        .take_ceremony(&sha256_b64url(id.as_bytes()), now_ms())
        .await?;
    let ceremony = taken
        .filter(|ceremony| ceremony.kind == kind)
        .ok_or_else(invalid_ceremony)?;
    let state = serde_json::from_str(&ceremony.state).map_err(|e| ApiError::Internal(e.into()))?;
    Ok((ceremony, state))
}

pub fn invalid_ceremony() -> ApiError {
    ApiError::BadRequest {
        code: "invalid_ceremony",
        detail: "this passkey ceremony is unknown, used or expired: ask for new options".into(),
    }
}

/// The authenticator's answer in a verification body (`credential`), parsed as the library
/// reads it; anything else is a field error.
pub fn parse_credential<T: DeserializeOwned>(
    errors: &mut FieldErrors,
    raw: Option<serde_json::Value>,
) -> Option<T> {
    let parsed = serde_json::from_value(errors.required("credential", raw)?);
    match parsed {
        Ok(credential) => Some(credential),
        Err(_) => {
            errors.push(
                "credential",
                Invalid::new(
                    "invalid_credential",
                    "must be the authenticator's answer (PublicKeyCredential as JSON)",
                ),
            );
            None
        }
    }
}
