//! A passkey as the library keeps it ⇄ as the store keeps it.

use serde::Deserialize;
use shared::auth::sha256_b64url;
use shared::http::ApiError;
use shared::store::StoredPasskey;
use webauthn_rs::prelude::Passkey;

/// The parts of the library's credential the store shows and conditions on.
#[derive(Deserialize)]
struct Credential {
    cred: Flags,
}

#[derive(Deserialize)]
struct Flags {
    counter: u32,
    backup_eligible: bool,
    backup_state: bool,
}

/// The id a passkey has in the API and the table: the hash of its credential id.
pub fn passkey_id(credential_id: &[u8]) -> String {
    sha256_b64url(credential_id)
}

/// Whether `raw` can be a passkey's id (43 base64url characters): anything else is no passkey,
/// without a read (and never a key the table would refuse).
pub fn is_passkey_id(raw: &str) -> bool {
    raw.len() == 43
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `passkey` as stored for `user_id`; `added_with_password`: registered from a session the
/// password signed in.
pub fn to_stored(
    passkey: &Passkey,
    user_id: &str,
    name: String,
    created_at: i64,
    added_with_password: bool,
) -> Result<StoredPasskey, ApiError> {
    let credential = serde_json::to_string(passkey).map_err(|e| ApiError::Internal(e.into()))?;
    let flags: Credential =
        serde_json::from_str(&credential).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(StoredPasskey {
        user_id: user_id.to_owned(),
        id: passkey_id(passkey.cred_id()),
        name,
        credential,
        counter: flags.cred.counter,
        backup_eligible: flags.cred.backup_eligible,
        backed_up: flags.cred.backup_state,
        created_at,
        last_used_at: None,
        added_with_password,
    })
}

pub fn from_stored(stored: &StoredPasskey) -> Result<Passkey, ApiError> {
    serde_json::from_str(&stored.credential).map_err(|e| ApiError::Internal(e.into()))
}
