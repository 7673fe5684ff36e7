//! Short-lived access JWTs: signed with the key set's active key (EdDSA by default, ES256, or
//! HS256 where no signing key is active yet) and a `kid` header; each key verifies the one
//! algorithm it is pinned to; `iss`, `aud`, `exp`, `iat` and `nbf` are checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode};
use serde::{Deserialize, Serialize};

use super::AuthError;
use super::KeySet;
use super::token_header::TokenHeader;
use crate::config::Config;
use crate::domain::{Aal, AuthMethod, Authentication, Role};

/// How far clocks may disagree: for `exp`, `nbf` and `iat`.
const LEEWAY_SECS: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    #[serde(with = "role_claim")]
    pub role: Role,
    /// The session (refresh-token family) this token was issued for.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The session's assurance level and its authentication methods (RFC 8176); tokens issued
    /// before they were carried read as `aal1` with none.
    #[serde(default, with = "super::authentication_claims::aal")]
    pub aal: Aal,
    #[serde(default, with = "super::authentication_claims::amr")]
    pub amr: Vec<AuthMethod>,
}

/// The `role` claim: the role's name (`user`, `moderator`, `admin`).
mod role_claim {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::domain::Role;

    pub fn serialize<S: Serializer>(role: &Role, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(role.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Role, D::Error> {
        let name = String::deserialize(deserializer)?;
        Role::parse(name).map_err(|invalid| de::Error::custom(invalid.message))
    }
}

pub fn issue_access_token(
    keys: &KeySet,
    config: &Config,
    user_id: &str,
    role: Role,
    session_id: &str,
    authentication: &Authentication,
    now_secs: i64,
) -> Result<String, AuthError> {
    let claims = AccessClaims {
        sub: user_id.to_owned(),
        role,
        sid: session_id.to_owned(),
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        iat: now_secs,
        exp: now_secs + config.access_token_ttl.as_secs() as i64,
        jti: uuid::Uuid::new_v4().to_string(),
        aal: authentication.aal,
        amr: authentication.amr.clone(),
    };
    sign(keys, &claims)
}

/// `<header>.<claims>.<signature>`, signed with the set's signing key (parsed once, when the set
/// was loaded).
pub(crate) fn sign<T: Serialize>(keys: &KeySet, claims: &T) -> Result<String, AuthError> {
    let signer = keys.signer();
    let header = TokenHeader::new(signer.alg, signer.kid);
    let failed = |e: String| AuthError::Signing(ErrorKind::Signing(e).into());
    let header = serde_json::to_vec(&header).map_err(|e| failed(e.to_string()))?;
    let claims = serde_json::to_vec(claims).map_err(|e| failed(e.to_string()))?;
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = signer.sign(message.as_bytes()).map_err(failed)?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

pub fn verify_access_token(
    keys: &KeySet,
    config: &Config,
    token: &str,
) -> Result<AccessClaims, AuthError> {
    let header = token_header(token)?;
    verify_with_header(keys, config, token, &header)
}

/// The token's header, unverified, read strictly: its `kid` says which key set to verify with.
pub(crate) fn token_header(token: &str) -> Result<TokenHeader, AuthError> {
    TokenHeader::read(token).ok_or(AuthError::InvalidToken)
}

/// `verify_access_token` with the token's header already read (`token_header`). The key named by
/// `kid` decides the algorithm: a header naming any other is refused, and an HS256 key verifies
/// only while HS256 is accepted (`hs256_accepted`).
pub(crate) fn verify_with_header(
    keys: &KeySet,
    config: &Config,
    token: &str,
    header: &TokenHeader,
) -> Result<AccessClaims, AuthError> {
    let invalid = || AuthError::InvalidToken;
    let (alg, key) = keys.verifier(&header.kid).ok_or_else(invalid)?;
    if header.alg() != Some(alg) {
        return Err(invalid());
    }
    let now_ms = crate::clock::now_ms();
    if alg == Algorithm::HS256 && !hs256_accepted(keys, config, now_ms) {
        return Err(invalid());
    }
    if let Some(claims) = keys.verified.get(token) {
        return still_valid(claims, config, now_ms);
    }
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS as u64;
    let claims = decode::<AccessClaims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::TokenExpired,
            _ => invalid(),
        })?;
    // Issued in the future: not by an instance of ours, whose clocks agree within the leeway.
    if claims.iat > now_ms / 1000 + LEEWAY_SECS {
        return Err(invalid());
    }
    keys.verified.remember(token, &claims);
    Ok(claims)
}

/// A token these keys verified before: its signature, `nbf` and `iat` only hold better with
/// time; its expiry, and the issuer and audience of this configuration, are checked again.
fn still_valid(
    claims: AccessClaims,
    config: &Config,
    now_ms: i64,
) -> Result<AccessClaims, AuthError> {
    if claims.iss != config.issuer || claims.aud != config.audience {
        return Err(AuthError::InvalidToken);
    }
    if claims.exp < now_ms / 1000 - LEEWAY_SECS {
        return Err(AuthError::TokenExpired);
    }
    Ok(claims)
}

/// HS256 tokens verify while the set signs HS256 (no signing key active yet), and after that only
/// until `HS256_ACCEPTED_UNTIL`: the migration window, as long as the last HS256 token lives.
fn hs256_accepted(keys: &KeySet, config: &Config, now_ms: i64) -> bool {
    keys.signs_hs256()
        || config
            .hs256_accepted_until
            .is_some_and(|until| now_ms < until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SigningAlg;

    fn setup() -> (KeySet, Config) {
        (KeySet::generate(), Config::for_tests())
    }

    fn now() -> i64 {
        crate::clock::now_ms() / 1000
    }

    fn password() -> Authentication {
        Authentication::password()
    }

    fn code(result: Result<AccessClaims, AuthError>) -> &'static str {
        match result {
            Err(AuthError::TokenExpired) => "token_expired",
            Err(AuthError::InvalidToken) => "invalid_token",
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A token verified once is taken again without its signature check, and still only
    /// where the configuration's issuer and audience are its own, and until it expires.
    #[test]
    fn a_token_verified_before_is_checked_again_for_what_changes() {
        let (keys, config) = setup();
        let token =
            issue_access_token(&keys, &config, "u1", Role::User, "s1", &password(), now()).unwrap();
        let first = verify_access_token(&keys, &config, &token).unwrap();
        assert_eq!(keys.verified.get(&token), Some(first.clone()));
        assert_eq!(verify_access_token(&keys, &config, &token).unwrap(), first);
        let elsewhere = Config {
            audience: "another-api".into(),
            ..Config::for_tests()
        };
        assert_eq!(
            code(verify_access_token(&keys, &elsewhere, &token)),
            "invalid_token"
        );
        let now_ms = crate::clock::now_ms();
        let expired = AccessClaims {
            exp: now_ms / 1000 - LEEWAY_SECS - 1,
            ..first.clone()
        };
        assert_eq!(code(still_valid(expired, &config, now_ms)), "token_expired");
        assert!(still_valid(first, &config, now_ms).is_ok());
        // Only what passed goes in: a tampered token is refused every time.
        let at = token.len() - 10;
        let other = if &token[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{other}{}", &token[..at], &token[at + 1..]);
        for _ in 0..2 {
            assert_eq!(
                code(verify_access_token(&keys, &config, &tampered)),
                "invalid_token"
            );
        }
        assert!(keys.verified.get(&tampered).is_none());
    }

    #[test]
    fn round_trips_every_claim() {
        let (keys, config) = setup();
        let token = issue_access_token(
            &keys,
            &config,
            "u1",
            Role::Moderator,
            "s1",
            &password(),
            now(),
        )
        .unwrap();
        let claims = verify_access_token(&keys, &config, &token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.role, claims.sid.as_str()),
            ("u1", Role::Moderator, "s1")
        );
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(
            (claims.aal, claims.amr),
            (Aal::Aal1, vec![AuthMethod::Password])
        );
        assert_eq!(claims.iss, config.issuer);
        assert_eq!(claims.aud, config.audience);
        assert!(!claims.jti.is_empty());
        let header = TokenHeader::read(&token).unwrap();
        assert_eq!(header.kid, keys.signer().kid);
        assert_eq!(header.alg(), Some(Algorithm::EdDSA));
    }

    #[test]
    fn the_role_claim_is_the_role_name() {
        let claims = AccessClaims {
            sub: "u1".into(),
            role: Role::Moderator,
            sid: "s1".into(),
            iss: "iss".into(),
            aud: "aud".into(),
            iat: 1,
            exp: 2,
            jti: "j1".into(),
            aal: Aal::Aal1,
            amr: vec![AuthMethod::Password],
        };
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["role"], "moderator");
        assert_eq!(
            serde_json::from_value::<AccessClaims>(json.clone()).unwrap(),
            claims
        );
        for role in [Role::User, Role::Admin] {
            let json = serde_json::to_value(AccessClaims {
                role,
                ..claims.clone()
            })
            .unwrap();
            assert_eq!(json["role"], role.as_str());
        }
        let mut unknown = json;
        unknown["role"] = "root".into();
        assert!(serde_json::from_value::<AccessClaims>(unknown).is_err());
    }

    #[test]
    fn aal_and_amr_are_their_wire_names_and_older_tokens_have_none() {
        let (keys, config) = setup();
        let token =
            issue_access_token(&keys, &config, "u1", Role::User, "s1", &password(), now()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(payload["aal"], "aal1");
        assert_eq!(payload["amr"], serde_json::json!(["pwd"]));

        let mut older = payload;
        older.as_object_mut().unwrap().remove("aal");
        older.as_object_mut().unwrap().remove("amr");
        let claims: AccessClaims = serde_json::from_value(older.clone()).unwrap();
        assert_eq!((claims.aal, claims.amr), (Aal::Aal1, vec![]));
        older["amr"] = serde_json::json!(["sms"]);
        assert!(serde_json::from_value::<AccessClaims>(older).is_err());
    }

    #[test]
    fn rejects_expired_tokens() {
        let (keys, config) = setup();
        let token = issue_access_token(
            &keys,
            &config,
            "u1",
            Role::User,
            "s1",
            &password(),
            now() - 3600,
        )
        .unwrap();
        assert_eq!(
            code(verify_access_token(&keys, &config, &token)),
            "token_expired"
        );
    }

    #[test]
    fn rejects_tokens_signed_with_another_key() {
        let (keys, config) = setup();
        let token = issue_access_token(
            &KeySet::generate(),
            &config,
            "u1",
            Role::User,
            "s1",
            &password(),
            now(),
        )
        .unwrap();
        assert_eq!(
            code(verify_access_token(&keys, &config, &token)),
            "invalid_token"
        );
    }

    #[test]
    fn rejects_alg_none_and_tampered_payloads() {
        let (keys, config) = setup();
        let token =
            issue_access_token(&keys, &config, "u1", Role::User, "s1", &password(), now()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            keys.signer().kid
        ));
        let alg_none = format!("{none_header}.{}.", parts[1]);
        assert_eq!(
            code(verify_access_token(&keys, &config, &alg_none)),
            "invalid_token"
        );

        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let admin = URL_SAFE_NO_PAD.encode(payload.replace("\"user\"", "\"admin\""));
        let tampered = format!("{}.{admin}.{}", parts[0], parts[2]);
        assert_eq!(
            code(verify_access_token(&keys, &config, &tampered)),
            "invalid_token"
        );
    }

    #[test]
    fn rejects_wrong_audience_or_issuer() {
        let (keys, config) = setup();
        let mut other = config.clone();
        other.audience = "another-api".into();
        let token =
            issue_access_token(&keys, &other, "u1", Role::User, "s1", &password(), now()).unwrap();
        assert_eq!(
            code(verify_access_token(&keys, &config, &token)),
            "invalid_token"
        );
        let mut other = config.clone();
        other.issuer = "someone-else".into();
        let token =
            issue_access_token(&keys, &other, "u1", Role::User, "s1", &password(), now()).unwrap();
        assert_eq!(
            code(verify_access_token(&keys, &config, &token)),
            "invalid_token"
        );
    }

    #[test]
    fn accepts_an_older_key_still_in_the_set() {
        let config = Config::for_tests();
        let old = KeySet::from_json(
            r#"{"activeKid":"k1","k1":"0123456789abcdef0123456789abcdef"}"#,
            SigningAlg::EdDSA,
        )
        .unwrap();
        let rotated = KeySet::from_json(
            r#"{"activeKid":"k2","k1":"0123456789abcdef0123456789abcdef","k2":"fedcba9876543210fedcba9876543210"}"#,
            SigningAlg::EdDSA,
        )
        .unwrap();
        let token =
            issue_access_token(&old, &config, "u1", Role::User, "s1", &password(), now()).unwrap();
        assert!(verify_access_token(&rotated, &config, &token).is_ok());
    }
}
