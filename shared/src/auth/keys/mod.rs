//! The key set: the asymmetric keys that sign access tokens (`EdDSA`, `ES256`) and the HMAC
//! secrets that derive the refresh-rotation and cursor keys (and sign HS256 access tokens where
//! no signing key is active yet). Every key is pinned to one algorithm and found by its id
//! (`kid`), so keys rotate: several verify at once, one signs. The secret's JSON is
//! `KeySetDocument`'s.

mod document;
mod signing_key;
mod verified;

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::hmac;
use jsonwebtoken::{Algorithm, DecodingKey};

pub use document::KeySetDocument;
use signing_key::SigningKey;
pub use signing_key::{PrivateJwk, PublicJwk, SigningAlg};
pub(crate) use verified::VerifiedTokens;

pub const MIN_SECRET_BYTES: usize = 32;

pub struct KeySet {
    active_kid: String,
    keys: BTreeMap<String, Vec<u8>>,
    signing_keys: Vec<SigningKey>,
    /// Which of `signing_keys` signs access tokens; none: HS256 with the active HMAC key.
    signer: Option<usize>,
    /// Every key id with the one algorithm it verifies.
    verifiers: BTreeMap<String, (Algorithm, DecodingKey)>,
    /// Access tokens these keys have verified.
    pub(crate) verified: VerifiedTokens,
}

/// The key that signs new access tokens.
pub(crate) struct Signer<'a> {
    pub kid: &'a str,
    pub alg: Algorithm,
    key: SignerKey<'a>,
}

enum SignerKey<'a> {
    Hmac(&'a [u8]),
    Asymmetric(&'a SigningKey),
}

impl Signer<'_> {
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self.key {
            SignerKey::Hmac(secret) => {
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
                Ok(hmac::sign(&key, message).as_ref().to_vec())
            }
            SignerKey::Asymmetric(key) => key.sign(message),
        }
    }
}

impl KeySet {
    /// The secret's JSON, with the access tokens signed by its active `alg` key.
    pub fn from_json(text: &str, alg: SigningAlg) -> Result<Self, String> {
        Self::from_document(&KeySetDocument::from_json(text)?, alg)
    }

    /// Checks every key (lengths, algorithms, public halves matching private ones, ids used
    /// once) and picks the signer: the active key of `alg`; HS256 with the active HMAC key if
    /// the set names no active signing key at all (a set from before signing keys); an error if
    /// it names some, but none of `alg`.
    pub fn from_document(document: &KeySetDocument, alg: SigningAlg) -> Result<Self, String> {
        let hmac_keys = document
            .hmac_keys
            .iter()
            .map(|(kid, secret)| (kid.clone(), secret.clone().into_bytes()))
            .collect();
        let mut set = Self::new(document.active_kid.clone(), hmac_keys)?;
        for jwk in &document.signing_keys {
            let key = SigningKey::from_jwk(jwk)?;
            if set.verifiers.contains_key(key.kid()) {
                return Err(format!("key id `{}` is used twice", key.kid()));
            }
            set.verifiers.insert(
                key.kid().to_owned(),
                (key.alg().algorithm(), key.decoding_key()),
            );
            set.signing_keys.push(key);
        }
        for (name, kid) in &document.active_signing_keys {
            let active = SigningAlg::parse(name).ok_or_else(|| {
                format!("activeSigningKeys: `{name}` is not an algorithm (EdDSA, ES256)")
            })?;
            let index = set
                .signing_keys
                .iter()
                .position(|key| key.kid() == kid)
                .ok_or_else(|| format!("activeSigningKeys.{name}: no signing key `{kid}`"))?;
            if set.signing_keys[index].alg() != active {
                return Err(format!(
                    "activeSigningKeys.{name}: `{kid}` is not an {name} key"
                ));
            }
            if active == alg {
                set.signer = Some(index);
            }
        }
        if set.signer.is_none() && !document.active_signing_keys.is_empty() {
            return Err(format!(
                "the key set has no active {alg} key for ACCESS_TOKEN_ALG={alg}: \
                 name one in activeSigningKeys.{alg}"
            ));
        }
        Ok(set)
    }

    /// HMAC keys only (a set from before signing keys): access tokens are HS256.
    pub fn new(active_kid: String, keys: BTreeMap<String, Vec<u8>>) -> Result<Self, String> {
        if !keys.contains_key(&active_kid) {
            return Err(format!("key set has no key for activeKid `{active_kid}`"));
        }
        if let Some((kid, _)) = keys.iter().find(|(_, s)| s.len() < MIN_SECRET_BYTES) {
            return Err(format!(
                "key `{kid}` is shorter than {MIN_SECRET_BYTES} bytes"
            ));
        }
        let verifiers = keys
            .iter()
            .map(|(kid, secret)| {
                let key = DecodingKey::from_secret(secret);
                (kid.clone(), (Algorithm::HS256, key))
            })
            .collect();
        Ok(Self {
            active_kid,
            keys,
            signing_keys: Vec::new(),
            signer: None,
            verified: VerifiedTokens::default(),
            verifiers,
        })
    }

    /// A random HMAC key nobody else holds, and no signing key: for workers and jobs, which sign
    /// and check nothing (so Lambda binaries link no key generation).
    pub fn throwaway() -> Self {
        let kid = "throwaway".to_owned();
        let secret = document::random_secret().into_bytes();
        Self::new(kid.clone(), BTreeMap::from([(kid, secret)])).expect("a 64-character key")
    }

    /// A fresh set signing with the default algorithm (EdDSA).
    pub fn generate() -> Self {
        Self::generate_with(SigningAlg::default())
    }

    /// A fresh set: one HMAC key and one active signing key of `alg`.
    pub fn generate_with(alg: SigningAlg) -> Self {
        Self::from_document(&KeySetDocument::generate(alg), alg)
            .expect("a generated key set is valid")
    }

    /// The active HMAC key: derives refresh-rotation and cursor keys.
    pub fn active(&self) -> (&str, &[u8]) {
        (&self.active_kid, &self.keys[&self.active_kid])
    }

    fn get(&self, kid: &str) -> Option<&[u8]> {
        self.keys.get(kid).map(Vec::as_slice)
    }

    /// Whether any key of the set has this id.
    pub fn knows(&self, kid: &str) -> bool {
        self.verifiers.contains_key(kid)
    }

    /// The key `kid` verifies with, and the one algorithm it verifies.
    pub(crate) fn verifier(&self, kid: &str) -> Option<(Algorithm, &DecodingKey)> {
        self.verifiers.get(kid).map(|(alg, key)| (*alg, key))
    }

    /// True when access tokens are HS256: the set names no active signing key.
    pub fn signs_hs256(&self) -> bool {
        self.signer.is_none()
    }

    pub(crate) fn signer(&self) -> Signer<'_> {
        match self.signer {
            Some(index) => {
                let key = &self.signing_keys[index];
                Signer {
                    kid: key.kid(),
                    alg: key.alg().algorithm(),
                    key: SignerKey::Asymmetric(key),
                }
            }
            None => {
                let (kid, secret) = self.active();
                Signer {
                    kid,
                    alg: Algorithm::HS256,
                    key: SignerKey::Hmac(secret),
                }
            }
        }
    }

    /// The public half of every signing key, active or not, in the secret's order: the JWKS.
    pub fn public_keys(&self) -> impl Iterator<Item = &PublicJwk> {
        self.signing_keys.iter().map(SigningKey::public_jwk)
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
    /// Makes up the passkey ids offered for an address with none, so that the answer does not
    /// tell whether it has an account (the same address gets the same ids).
    pub fn passkey_decoy_key(&self) -> hmac::Key {
        Self::derive(self.active().1, b"passkey-decoy")
    }

    /// The active key that hashes the codes mailed for sign-in, and its id.
    pub fn mailed_code_key(&self) -> (&str, hmac::Key) {
        let (kid, secret) = self.active();
        (kid, Self::derive(secret, b"mailed-sign-in-code"))
    }

    /// The key of `kid` that hashed a mailed code, if the set still has it.
    pub fn mailed_code_key_of(&self, kid: &str) -> Option<hmac::Key> {
        self.get(kid)
            .map(|secret| Self::derive(secret, b"mailed-sign-in-code"))
    }

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
            .field(
                "signing_kids",
                &self
                    .signing_keys
                    .iter()
                    .map(SigningKey::kid)
                    .collect::<Vec<_>>(),
            )
            .field("signer", &self.signer().kid)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD_SECRET: &str = r#"{"activeKid":"k2","k1":"0123456789abcdef0123456789abcdef","k2":"fedcba9876543210fedcba9876543210"}"#;

    #[test]
    fn a_secret_of_hmac_keys_only_still_loads_and_signs_hs256() {
        for alg in SigningAlg::ALL {
            let keys = KeySet::from_json(OLD_SECRET, alg).unwrap();
            assert_eq!(keys.active().0, "k2");
            assert!(keys.knows("k1") && keys.knows("k2"));
            assert!(keys.signs_hs256());
            assert_eq!(keys.signer().alg, Algorithm::HS256);
            assert_eq!(keys.public_keys().count(), 0);
        }
    }

    #[test]
    fn rejects_short_or_missing_keys() {
        let alg = SigningAlg::EdDSA;
        assert!(KeySet::from_json(r#"{"activeKid":"k1","k1":"short"}"#, alg).is_err());
        assert!(
            KeySet::from_json(
                r#"{"activeKid":"k9","k1":"0123456789abcdef0123456789abcdef"}"#,
                alg
            )
            .is_err()
        );
        assert!(KeySet::from_json("[]", alg).is_err());
        assert!(KeySet::from_json(r#"{"activeKid":"k1","k1":7}"#, alg).is_err());
    }

    #[test]
    fn signs_with_the_active_key_of_the_configured_algorithm() {
        let mut document = KeySetDocument::generate(SigningAlg::EdDSA);
        let es = document.add_signing_key(SigningAlg::ES256);
        // ES256 is published but not active: an ES256 instance has nothing to sign with.
        let eddsa = KeySet::from_document(&document, SigningAlg::EdDSA).unwrap();
        assert_eq!(eddsa.signer().alg, Algorithm::EdDSA);
        assert_eq!(eddsa.public_keys().count(), 2);
        assert!(KeySet::from_document(&document, SigningAlg::ES256).is_err());
        document.activate(&es).unwrap();
        let es256 = KeySet::from_document(&document, SigningAlg::ES256).unwrap();
        assert_eq!(
            (es256.signer().kid, es256.signer().alg),
            (es.as_str(), Algorithm::ES256)
        );
        // Every key verifies with its own algorithm only.
        assert_eq!(es256.verifier(&es).unwrap().0, Algorithm::ES256);
        assert_eq!(
            es256.verifier(&document.active_kid).unwrap().0,
            Algorithm::HS256
        );
    }

    #[test]
    fn a_standby_key_in_a_set_from_before_signing_keys_changes_nothing_yet() {
        let mut document = KeySetDocument::from_json(OLD_SECRET).unwrap();
        let kid = document.add_signing_key(SigningAlg::EdDSA);
        let keys = KeySet::from_document(&document, SigningAlg::EdDSA).unwrap();
        assert!(keys.signs_hs256());
        assert_eq!(keys.public_keys().next().unwrap().kid, kid);
    }

    #[test]
    fn refuses_contradictory_documents() {
        let document = KeySetDocument::generate(SigningAlg::EdDSA);
        let ed = document.signing_keys[0].kid.clone();
        let mut twice = document.clone();
        twice.signing_keys.push(document.signing_keys[0].clone());
        let mut hmac_named_like_it = document.clone();
        hmac_named_like_it
            .hmac_keys
            .insert(ed.clone(), document::random_secret());
        let mut wrong_alg = document.clone();
        wrong_alg.active_signing_keys = BTreeMap::from([("ES256".into(), ed.clone())]);
        let mut unknown_alg = document.clone();
        unknown_alg.active_signing_keys = BTreeMap::from([("HS256".into(), ed.clone())]);
        let mut missing = document.clone();
        missing.active_signing_keys = BTreeMap::from([("EdDSA".into(), "gone".into())]);
        for bad in [twice, hmac_named_like_it, wrong_alg, unknown_alg, missing] {
            assert!(KeySet::from_document(&bad, SigningAlg::EdDSA).is_err());
        }
    }

    #[test]
    fn generated_sets_round_trip_and_debug_hides_secrets() {
        for alg in SigningAlg::ALL {
            let document = KeySetDocument::generate(alg);
            let json = document.to_json();
            let keys = KeySet::from_json(&json, alg).unwrap();
            let again =
                KeySet::from_json(&KeySetDocument::from_json(&json).unwrap().to_json(), alg)
                    .unwrap();
            assert_eq!(keys.active(), again.active());
            assert_eq!(keys.signer().kid, again.signer().kid);
            let printed = format!("{keys:?}");
            assert!(
                !printed.contains(&document.hmac_keys[&document.active_kid]),
                "{printed}"
            );
            assert!(!printed.contains(&document.signing_keys[0].d), "{printed}");
        }
    }
}
