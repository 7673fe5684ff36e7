//! The keys that protect second factors at rest, kept apart from the token-signing keys (their
//! own secret, `MFA_KEYS_SECRET_ID`): a TOTP secret is sealed with AES-256-GCM, and recovery
//! codes are stored as HMAC-SHA256 tags, each under a key derived (HKDF-SHA256) from one entry
//! of the set. Every sealed secret and recovery set names the key (`kid`) it was made with, and
//! rotating adds a key and makes it active: older keys stay in the set, so nothing stored
//! becomes unreadable. (Signing keys rotate and leave the set; these never have to.)
//!
//! JSON shape, as Secrets Manager generates it (the same flat shape as the signing keys'):
//! `{"activeKid": "m1", "m1": "<at least 32 characters>", "m0": "<an older key>"}`

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::totp::TotpSecret;
use crate::domain::RecoveryCode;
use crate::store::SealedSecret;

pub const MIN_KEY_CHARS: usize = 32;

const SALT: &[u8] = b"second-factor-keys";
const SECRET_SEALING: &[u8] = b"totp-secret aes-256-gcm";
const RECOVERY_HASHING: &[u8] = b"recovery-code hmac-sha256";

/// Why a sealed secret did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("the key `{0}` that sealed this secret is not in the key set")]
    UnknownKey(String),
    #[error("the sealed secret is damaged or belongs to another user")]
    Damaged,
}

pub struct MfaKeys {
    active_kid: String,
    keys: BTreeMap<String, String>,
}

impl MfaKeys {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut map: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|e| format!("the MFA key set is not a JSON object of strings: {e}"))?;
        let active_kid = map
            .remove("activeKid")
            .ok_or("the MFA key set has no `activeKid`")?;
        if !map.contains_key(&active_kid) {
            return Err(format!("the MFA key set has no key `{active_kid}`"));
        }
        if let Some((kid, _)) = map.iter().find(|(_, k)| k.chars().count() < MIN_KEY_CHARS) {
            return Err(format!(
                "MFA key `{kid}` is shorter than {MIN_KEY_CHARS} characters"
            ));
        }
        Ok(Self {
            active_kid,
            keys: map,
        })
    }

    /// A fresh one-key set (local runs, tests).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random generator is available");
        let kid = format!("local-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Self {
            keys: BTreeMap::from([(kid.clone(), URL_SAFE_NO_PAD.encode(bytes))]),
            active_kid: kid,
        }
    }

    pub fn to_json(&self) -> String {
        let mut map: BTreeMap<&str, &str> = self
            .keys
            .iter()
            .map(|(kid, key)| (kid.as_str(), key.as_str()))
            .collect();
        map.insert("activeKid", &self.active_kid);
        serde_json::to_string_pretty(&map).unwrap_or_default()
    }

    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    pub fn has(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    fn derived(&self, kid: &str, purpose: &[u8], len: usize) -> Option<Vec<u8>> {
        struct Len(usize);
        impl aws_lc_rs::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                self.0
            }
        }
        let secret = self.keys.get(kid)?;
        let prk = Salt::new(HKDF_SHA256, SALT).extract(secret.as_bytes());
        let mut out = vec![0u8; len];
        prk.expand(&[purpose], Len(len))
            .and_then(|okm| okm.fill(&mut out))
            .ok()?;
        Some(out)
    }

    fn sealing_key(&self, kid: &str) -> Option<LessSafeKey> {
        let bytes = self.derived(kid, SECRET_SEALING, AES_256_GCM.key_len())?;
        UnboundKey::new(&AES_256_GCM, &bytes)
            .ok()
            .map(LessSafeKey::new)
    }

    /// Seals `secret` with the active key, bound to `user_id`: a sealed secret copied onto
    /// another user's factor does not open.
    pub fn seal(&self, user_id: &str, secret: &TotpSecret) -> SealedSecret {
        let key = self
            .sealing_key(&self.active_kid)
            .expect("the active key is in the set");
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random generator is available");
        let mut data = secret.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(user_id)),
            &mut data,
        )
        .expect("AES-GCM seals a 20-byte secret");
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&data);
        SealedSecret {
            kid: self.active_kid.clone(),
            sealed: STANDARD.encode(stored),
        }
    }

    pub fn open(&self, user_id: &str, sealed: &SealedSecret) -> Result<TotpSecret, OpenError> {
        let key = self
            .sealing_key(&sealed.kid)
            .ok_or_else(|| OpenError::UnknownKey(sealed.kid.clone()))?;
        let stored = STANDARD
            .decode(&sealed.sealed)
            .map_err(|_| OpenError::Damaged)?;
        if stored.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, data) = stored.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Damaged)?;
        let mut data = data.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(aad(user_id)), &mut data)
            .map_err(|_| OpenError::Damaged)?;
        Ok(TotpSecret::from_bytes(plain.to_vec()))
    }

    /// The stored form of a recovery code of `user_id`, under key `kid`: HMAC-SHA256. The codes
    /// are 50 random bits each, so a fast keyed hash is enough: without the key, a copy of the
    /// table gives nothing to guess against, and with it each guess still has to be typed in,
    /// against the account's lock. `None` if `kid` is not in the set.
    pub fn recovery_hash(&self, kid: &str, user_id: &str, code: &RecoveryCode) -> Option<String> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.derived(kid, RECOVERY_HASHING, 32)?);
        let mut context = hmac::Context::with_key(&key);
        context.update(user_id.as_bytes());
        context.update(b"\0");
        context.update(code.as_str().as_bytes());
        Some(URL_SAFE_NO_PAD.encode(context.sign()))
    }
}

fn aad(user_id: &str) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

impl fmt::Debug for MfaKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaKeys")
            .field("active_kid", &self.active_kid)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"{"activeKid":"m1","m1":"0123456789abcdef0123456789abcdef"}"#;
    const ROTATED: &str = r#"{"activeKid":"m2","m1":"0123456789abcdef0123456789abcdef","m2":"fedcba9876543210fedcba9876543210"}"#;

    #[test]
    fn a_sealed_secret_opens_for_its_user_only() {
        let keys = MfaKeys::generate();
        let secret = TotpSecret::generate();
        let sealed = keys.seal("u1", &secret);
        assert_eq!(sealed.kid, keys.active_kid());
        assert!(!sealed.sealed.contains(&secret.base32()));
        assert_eq!(keys.open("u1", &sealed).unwrap(), secret);
        assert_eq!(keys.open("u2", &sealed), Err(OpenError::Damaged));
        let mut flipped = STANDARD.decode(&sealed.sealed).unwrap();
        flipped[15] ^= 1;
        let tampered = SealedSecret {
            sealed: STANDARD.encode(flipped),
            ..sealed.clone()
        };
        assert_eq!(keys.open("u1", &tampered), Err(OpenError::Damaged));
        // Two seals of one secret differ (a fresh nonce each).
        assert_ne!(keys.seal("u1", &secret).sealed, sealed.sealed);
    }

    #[test]
    fn a_rotation_keeps_what_older_keys_sealed_readable() {
        let old = MfaKeys::from_json(OLD).unwrap();
        let rotated = MfaKeys::from_json(ROTATED).unwrap();
        let secret = TotpSecret::generate();
        let sealed = old.seal("u1", &secret);
        assert_eq!(rotated.open("u1", &sealed).unwrap(), secret);
        assert_eq!(rotated.seal("u1", &secret).kid, "m2");
        let code = RecoveryCode::parse("abcde-23456").unwrap();
        assert_eq!(
            old.recovery_hash("m1", "u1", &code),
            rotated.recovery_hash("m1", "u1", &code)
        );
        let unknown = SealedSecret {
            kid: "m9".into(),
            ..sealed
        };
        assert_eq!(
            rotated.open("u1", &unknown),
            Err(OpenError::UnknownKey("m9".into()))
        );
    }

    #[test]
    fn recovery_hashes_depend_on_key_user_and_code() {
        let keys = MfaKeys::from_json(ROTATED).unwrap();
        let code = RecoveryCode::parse("abcde-23456").unwrap();
        let other = RecoveryCode::parse("abcde-23457").unwrap();
        let hash = keys.recovery_hash("m2", "u1", &code).unwrap();
        assert_eq!(keys.recovery_hash("m2", "u1", &code).unwrap(), hash);
        assert_ne!(keys.recovery_hash("m1", "u1", &code).unwrap(), hash);
        assert_ne!(keys.recovery_hash("m2", "u2", &code).unwrap(), hash);
        assert_ne!(keys.recovery_hash("m2", "u1", &other).unwrap(), hash);
        assert_eq!(keys.recovery_hash("m9", "u1", &code), None);
    }

    #[test]
    fn key_sets_are_checked_and_never_printed() {
        assert!(MfaKeys::from_json(r#"{"activeKid":"m1","m1":"short"}"#).is_err());
        assert!(
            MfaKeys::from_json(r#"{"activeKid":"m2","m1":"0123456789abcdef0123456789abcdef"}"#)
                .is_err()
        );
        assert!(MfaKeys::from_json("[]").is_err());
        let keys = MfaKeys::generate();
        let again = MfaKeys::from_json(&keys.to_json()).unwrap();
        assert_eq!(again.active_kid(), keys.active_kid());
        let printed = format!("{keys:?}");
        assert!(
            !printed.contains(&keys.keys[keys.active_kid()]),
            "{printed}"
        );
    }
}
