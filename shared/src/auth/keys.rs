//! The HMAC key set that signs access tokens. Several keys may verify at once so keys can
//! rotate: add a new key, make it active, drop the old one after the access-token lifetime.
//!
//! JSON shape (one flat object, so Secrets Manager can generate it):
//! `{"activeKid": "k1", "k1": "<at least 32 characters>", "k0": "<older key>"}`

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const MIN_SECRET_BYTES: usize = 32;

pub struct KeySet {
    active_kid: String,
    keys: BTreeMap<String, Vec<u8>>,
}

impl KeySet {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut map: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|e| format!("key set is not a JSON object of strings: {e}"))?;
        let active_kid = map
            .remove("activeKid")
            .ok_or("key set has no `activeKid`")?;
        let keys: BTreeMap<String, Vec<u8>> = map
            .into_iter()
            .map(|(kid, secret)| (kid, secret.into_bytes()))
            .collect();
        Self::new(active_kid, keys)
    }

    pub fn new(active_kid: String, keys: BTreeMap<String, Vec<u8>>) -> Result<Self, String> {
        if !keys.contains_key(&active_kid) {
            return Err(format!("key set has no key for activeKid `{active_kid}`"));
        }
        if let Some((kid, _)) = keys.iter().find(|(_, s)| s.len() < MIN_SECRET_BYTES) {
            return Err(format!(
                "key `{kid}` is shorter than {MIN_SECRET_BYTES} bytes"
            ));
        }
        Ok(Self { active_kid, keys })
    }

    /// A fresh single-key set (local runs with nothing configured).
    pub fn generate() -> Self {
        let mut secret = [0u8; 48];
        SystemRandom::new()
            .fill(&mut secret)
            .expect("the system random generator is available");
        let kid = format!("local-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let keys = BTreeMap::from([(kid.clone(), URL_SAFE_NO_PAD.encode(secret).into_bytes())]);
        Self {
            active_kid: kid,
            keys,
        }
    }

    pub fn to_json(&self) -> String {
        let mut map: BTreeMap<&str, String> = self
            .keys
            .iter()
            .map(|(kid, secret)| (kid.as_str(), String::from_utf8_lossy(secret).into_owned()))
            .collect();
        map.insert("activeKid", self.active_kid.clone());
        serde_json::to_string_pretty(&map).unwrap_or_default()
    }

    pub fn active(&self) -> (&str, &[u8]) {
        (&self.active_kid, &self.keys[&self.active_kid])
    }

    pub fn get(&self, kid: &str) -> Option<&[u8]> {
        self.keys.get(kid).map(Vec::as_slice)
    }

    /// The key that derives a refresh token's successor (kept apart from JWT signing by HMAC).
    pub fn rotation_key(&self) -> hmac::Key {
        Self::derive(self.active().1, b"refresh-token-rotation")
    }

    /// The rotation key of `kid`, if the set still has it: a retried refresh gets the successor
    /// derived when its token was spent, whichever key is active now.
    pub fn rotation_key_of(&self, kid: &str) -> Option<hmac::Key> {
        self.get(kid)
            .map(|secret| Self::derive(secret, b"refresh-token-rotation"))
    }
}

impl KeySet {
    /// Signs pagination cursors.
    pub fn cursor_key(&self) -> hmac::Key {
        Self::derive(self.active().1, b"pagination-cursor")
    }

    /// Every key a cursor may have been signed with (so cursors outlive a key rotation).
    pub fn all_cursor_keys(&self) -> impl Iterator<Item = hmac::Key> + '_ {
        self.keys
            .values()
            .map(|secret| Self::derive(secret, b"pagination-cursor"))
    }

    fn derive(secret: &[u8], purpose: &[u8]) -> hmac::Key {
        let signing = hmac::Key::new(hmac::HMAC_SHA256, secret);
        hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&signing, purpose).as_ref())
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("active_kid", &self.active_kid)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_flat_secret_shape() {
        let keys = KeySet::from_json(
            r#"{"activeKid":"k2","k1":"0123456789abcdef0123456789abcdef","k2":"fedcba9876543210fedcba9876543210"}"#,
        )
        .unwrap();
        assert_eq!(keys.active().0, "k2");
        assert!(keys.get("k1").is_some());
    }

    #[test]
    fn rejects_short_or_missing_keys() {
        assert!(KeySet::from_json(r#"{"activeKid":"k1","k1":"short"}"#).is_err());
        assert!(
            KeySet::from_json(r#"{"activeKid":"k9","k1":"0123456789abcdef0123456789abcdef"}"#)
                .is_err()
        );
        assert!(KeySet::from_json("[]").is_err());
    }

    #[test]
    fn generated_sets_round_trip_and_debug_hides_secrets() {
        let keys = KeySet::generate();
        let again = KeySet::from_json(&keys.to_json()).unwrap();
        assert_eq!(keys.active(), again.active());
        assert!(
            !format!("{keys:?}").contains(&String::from_utf8_lossy(keys.active().1).to_string())
        );
    }
}
