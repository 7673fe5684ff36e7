//! What a forger sends, against every signing algorithm: another key under one of our key ids,
//! a header naming another algorithm than its key's (HS256 keyed with a public key included),
//! headers that bring their own key, tokens from the future, and HS256 outside its window.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::access_token::sign;
use super::{
    AuthError, KeySet, KeySetDocument, SigningAlg, issue_access_token, verify_access_token,
};
use crate::config::Config;
use crate::domain::Role;

const HMAC: &str = "0123456789abcdef0123456789abcdef-hmac";

fn now() -> i64 {
    crate::clock::now_ms() / 1000
}

fn issue(keys: &KeySet) -> String {
    let password = crate::domain::Authentication::password();
    issue_access_token(
        keys,
        &Config::for_tests(),
        "u1",
        Role::User,
        "s1",
        &password,
        now(),
    )
    .unwrap()
}

fn verify(keys: &KeySet, token: &str) -> Result<(), &'static str> {
    verify_with(keys, &Config::for_tests(), token)
}

fn verify_with(keys: &KeySet, config: &Config, token: &str) -> Result<(), &'static str> {
    match verify_access_token(keys, config, token) {
        Ok(claims) => {
            assert_eq!(claims.sub, "u1");
            Ok(())
        }
        Err(AuthError::InvalidToken) => Err("invalid_token"),
        Err(AuthError::TokenExpired) => Err("token_expired"),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

fn part(token: &str, index: usize) -> Value {
    let text = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

/// `header` and `claims` signed with `keys`'s signing key, whatever the header says.
fn signed(keys: &KeySet, header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = keys.signer().sign(message.as_bytes()).unwrap();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// A set signing with `alg` whose HMAC key is `HMAC` (`k1`), as an HS256 deployment's was.
fn upgraded(alg: SigningAlg) -> (KeySetDocument, KeySet) {
    let mut document = KeySetDocument::generate(alg);
    document.active_kid = "k1".into();
    document.hmac_keys = [("k1".to_owned(), HMAC.to_owned())].into();
    let keys = KeySet::from_document(&document, alg).unwrap();
    (document, keys)
}

fn hs256_only() -> KeySet {
    KeySet::new(
        "k1".into(),
        [("k1".to_owned(), HMAC.as_bytes().to_vec())].into(),
    )
    .unwrap()
}

#[test]
fn each_algorithm_signs_and_verifies_with_its_own_header() {
    for alg in SigningAlg::ALL {
        let (_, keys) = upgraded(alg);
        let token = issue(&keys);
        assert_eq!(part(&token, 0)["alg"], alg.name());
        assert_eq!(part(&token, 0)["kid"], keys.signer().kid);
        assert_eq!(verify(&keys, &token), Ok(()));
    }
    let legacy = hs256_only();
    let token = issue(&legacy);
    assert_eq!(part(&token, 0)["alg"], "HS256");
    assert_eq!(verify(&legacy, &token), Ok(()));
}

#[test]
fn another_key_under_our_key_id_is_refused() {
    for alg in SigningAlg::ALL {
        let (document, ours) = upgraded(alg);
        let mut forged = KeySetDocument::generate(alg);
        let kid = ours.signer().kid.to_owned();
        forged.signing_keys[0].kid = kid.clone();
        forged.active_signing_keys = [(alg.name().to_owned(), kid)].into();
        let forger = KeySet::from_document(&forged, alg).unwrap();
        assert_ne!(forged.signing_keys[0].x, document.signing_keys[0].x);
        assert_eq!(verify(&ours, &issue(&forger)), Err("invalid_token"));
    }
}

#[test]
fn the_header_must_name_the_keys_own_algorithm() {
    let (document, eddsa) = upgraded(SigningAlg::EdDSA);
    let token = issue(&eddsa);
    let claims = part(&token, 1);
    let kid = eddsa.signer().kid;
    // The same signature, the header claiming another algorithm.
    for alg in ["ES256", "HS256", "none", "EdDSA "] {
        let mut header = part(&token, 0);
        header["alg"] = alg.into();
        let relabelled = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            token.split_once('.').unwrap().1
        );
        assert_eq!(verify(&eddsa, &relabelled), Err("invalid_token"), "{alg}");
    }
    // HS256 keyed with what is public about the EdDSA key: its raw bytes, its JWK, its x.
    let jwk = &document.signing_keys[0];
    let public_jwk = serde_json::to_string(eddsa.public_keys().next().unwrap()).unwrap();
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": kid});
    for secret in [
        URL_SAFE_NO_PAD.decode(&jwk.x).unwrap(),
        public_jwk.into_bytes(),
        jwk.x.clone().into_bytes(),
    ] {
        let confused = hs256(&secret, &header, &claims);
        assert_eq!(verify(&eddsa, &confused), Err("invalid_token"));
        // Even inside an HS256 window: the key is EdDSA's.
        let window = Config {
            hs256_accepted_until: Some(crate::clock::now_ms() + 60_000),
            ..Config::for_tests()
        };
        assert_eq!(
            verify_with(&eddsa, &window, &confused),
            Err("invalid_token")
        );
    }
    // An HS256 token naming the HMAC key, signed with that key but the header naming EdDSA.
    let header = json!({"typ": "JWT", "alg": "EdDSA", "kid": "k1"});
    assert_eq!(
        verify(&eddsa, &hs256(HMAC.as_bytes(), &header, &claims)),
        Err("invalid_token")
    );
}

#[test]
fn a_header_that_brings_a_key_or_an_extension_is_refused_even_when_signed() {
    for alg in SigningAlg::ALL {
        let (_, keys) = upgraded(alg);
        let token = issue(&keys);
        let claims = part(&token, 1);
        let public = serde_json::to_value(keys.public_keys().next().unwrap()).unwrap();
        for (name, value) in [
            ("jwk", public),
            ("jku", json!("https://attacker.example/jwks.json")),
            ("x5u", json!("https://attacker.example/cert.pem")),
            (
                "x5c",
                json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
            ),
            ("crit", json!(["exp"])),
        ] {
            let mut header = part(&token, 0);
            header[name] = value;
            let token = signed(&keys, &header, &claims);
            assert_eq!(verify(&keys, &token), Err("invalid_token"), "{name}");
        }
        // The same header without them verifies: the refusal is theirs.
        assert_eq!(
            verify(&keys, &signed(&keys, &part(&token, 0), &claims)),
            Ok(())
        );
    }
}

#[test]
fn tokens_from_the_future_are_refused_beyond_the_leeway() {
    let (_, keys) = upgraded(SigningAlg::EdDSA);
    let claims = part(&issue(&keys), 1);
    let at = |name: &str, offset: i64| {
        let mut claims = claims.clone();
        claims[name] = json!(now() + offset);
        sign(&keys, &claims).unwrap()
    };
    assert_eq!(verify(&keys, &at("iat", 60)), Err("invalid_token"));
    assert_eq!(verify(&keys, &at("nbf", 60)), Err("invalid_token"));
    assert_eq!(verify(&keys, &at("iat", 2)), Ok(()));
    assert_eq!(verify(&keys, &at("nbf", -10)), Ok(()));
    let mut unreadable = claims.clone();
    unreadable["nbf"] = json!("tomorrow");
    assert_eq!(
        verify(&keys, &sign(&keys, &unreadable).unwrap()),
        Err("invalid_token")
    );
}

#[test]
fn hs256_tokens_verify_only_inside_the_migration_window() {
    let before = issue(&hs256_only());
    for alg in SigningAlg::ALL {
        let (_, upgraded) = upgraded(alg);
        let until = |offset_ms: i64| Config {
            hs256_accepted_until: Some(crate::clock::now_ms() + offset_ms),
            ..Config::for_tests()
        };
        assert_eq!(verify(&upgraded, &before), Err("invalid_token"));
        assert_eq!(verify_with(&upgraded, &until(60_000), &before), Ok(()));
        assert_eq!(
            verify_with(&upgraded, &until(-1_000), &before),
            Err("invalid_token")
        );
        // A set that still signs HS256 accepts it without a window.
        assert_eq!(verify(&hs256_only(), &before), Ok(()));
    }
}
