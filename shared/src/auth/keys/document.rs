//! The key-set secret's JSON, as stored (Secrets Manager, `AUTH_KEYS`, `.data/auth-keys.json`):
//!
//! ```json
//! {
//!   "activeKid": "k1",
//!   "k1": "<HMAC secret, 32+ characters>",
//!   "activeSigningKeys": {"EdDSA": "eddsa-2025-06-01-3f9a1c2b"},
//!   "signingKeys": [
//!     {"kid": "eddsa-2025-06-01-3f9a1c2b", "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519",
//!      "x": "<public key>", "d": "<private key>", "use": "sig"}
//!   ]
//! }
//! ```
//!
//! Every member but those three is an HMAC secret by key id, so a secret written before signing
//! keys existed (`{"activeKid": "k1", "k1": "..."}`) still reads. The HMAC keys derive the
//! refresh-rotation and cursor keys; access tokens are signed with the active signing key of the
//! configured algorithm. Signing keys not named in `activeSigningKeys` are published and verify,
//! but sign nothing: a new key waiting to become active, or an old one until its tokens expire.

use std::collections::BTreeMap;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::signing_key::{PrivateJwk, SigningAlg, SigningKey};

#[derive(Clone, Serialize, Deserialize)]
pub struct KeySetDocument {
    /// The HMAC key that derives new refresh-rotation and cursor keys (and, without an active
    /// signing key, signs HS256 access tokens).
    #[serde(rename = "activeKid")]
    pub active_kid: String,
    /// The signing key of each algorithm that signs new access tokens, by algorithm name.
    #[serde(
        rename = "activeSigningKeys",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub active_signing_keys: BTreeMap<String, String>,
    #[serde(rename = "signingKeys", default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<PrivateJwk>,
    /// Every other member: an HMAC secret by key id.
    #[serde(flatten)]
    pub hmac_keys: BTreeMap<String, String>,
}

impl KeySetDocument {
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "key set is not a JSON object of HMAC secrets (strings), `activeKid`, \
                 `activeSigningKeys` and `signingKeys`: {e}"
            )
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A fresh set: one HMAC key and one active signing key of `alg`.
    pub fn generate(alg: SigningAlg) -> Self {
        let kid = format!("local-{}", short_id());
        let mut document = Self {
            active_kid: kid.clone(),
            active_signing_keys: BTreeMap::new(),
            signing_keys: Vec::new(),
            hmac_keys: BTreeMap::from([(kid, random_secret())]),
        };
        let kid = document.add_signing_key(alg);
        document.activate(&kid).expect("the key was just added");
        document
    }

    /// Adds a new signing key of `alg`, not active yet; returns its id.
    pub fn add_signing_key(&mut self, alg: SigningAlg) -> String {
        let day = &crate::clock::rfc3339(crate::clock::now_ms())[..10];
        let kid = format!("{}-{day}-{}", alg.name().to_ascii_lowercase(), short_id());
        self.signing_keys
            .push(SigningKey::generate(alg, kid.clone()));
        kid
    }

    /// Makes the signing key `kid` the one that signs its algorithm's tokens.
    pub fn activate(&mut self, kid: &str) -> Result<(), String> {
        let key = self
            .signing_keys
            .iter()
            .find(|key| key.kid == kid)
            .ok_or_else(|| format!("no signing key `{kid}`"))?;
        self.active_signing_keys
            .insert(key.alg.clone(), kid.to_owned());
        Ok(())
    }

    /// Leaves `alg` without an active key (after every instance has moved to another algorithm);
    /// never the last algorithm that has one, which would make the set sign HS256 again.
    pub fn deactivate(&mut self, alg: SigningAlg) -> Result<(), String> {
        if !self.active_signing_keys.contains_key(alg.name()) {
            return Err(format!("no {alg} key is active"));
        }
        if self.active_signing_keys.len() == 1 {
            return Err(format!(
                "the {alg} key is the only active one: activate another algorithm's first"
            ));
        }
        self.active_signing_keys.remove(alg.name());
        Ok(())
    }

    /// Removes the signing key `kid`; the active key of an algorithm stays until another is.
    pub fn remove(&mut self, kid: &str) -> Result<(), String> {
        if self
            .active_signing_keys
            .values()
            .any(|active| active == kid)
        {
            return Err(format!(
                "`{kid}` is active: activate another key of its algorithm first"
            ));
        }
        let before = self.signing_keys.len();
        self.signing_keys.retain(|key| key.kid != kid);
        if self.signing_keys.len() == before {
            return Err(format!("no signing key `{kid}`"));
        }
        Ok(())
    }
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// 48 random bytes, base64url: what a generated HMAC key holds.
pub(crate) fn random_secret() -> String {
    let mut secret = [0u8; 48];
    SystemRandom::new()
        .fill(&mut secret)
        .expect("the system random generator is available");
    URL_SAFE_NO_PAD.encode(secret)
}
