//! OpenID Connect: the discovery document and the provider's keys, cached (keys fetched again
//! when a token names a key the cache lacks, at most every 10 s: a rotation is followed, a
//! flood of made-up key ids is not), and ID tokens verified: signature by a key of the
//! provider's (RS256, ES256 or EdDSA, the algorithm bound to the key's type), issuer, audience
//! (and `azp`), expiry and nonce.

use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::RwLock;

use super::OAuthError;
use super::fetch::get_json;
use super::providers::safe_url;

const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
const KEYS_TTL: Duration = Duration::from_secs(3600);
const REFETCH_GAP: Duration = Duration::from_secs(10);
const LEEWAY_SECS: u64 = 60;

#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// What an ID token says of the user.
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    aud: Audience,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
enum Audience {
    #[default]
    None,
    Many(Vec<String>),
    One(serde::de::IgnoredAny),
}

/// Some providers send `"email_verified": "true"`.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(d)? {
        Some(Flag::Bool(b)) => b,
        Some(Flag::Text(t)) => t == "true",
        None => false,
    })
}

struct Cached<T> {
    value: T,
    at: Instant,
}

pub struct Oidc {
    issuer: String,
    discovery: RwLock<Option<Cached<Discovery>>>,
    keys: RwLock<Option<Cached<JwkSet>>>,
    fetching: tokio::sync::Mutex<()>,
}

impl Oidc {
    pub fn new(issuer: String) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            discovery: RwLock::new(None),
            keys: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The discovery document; its issuer must be the configured one, its endpoints safe.
    pub async fn discovery(&self) -> Result<Discovery, OAuthError> {
        if let Some(cached) = &*self.discovery.read().await
            && cached.at.elapsed() < DISCOVERY_TTL
        {
            return Ok(cached.value.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let document: Discovery = get_json(&url, None).await?;
        if document.issuer.trim_end_matches('/') != self.issuer {
            return Err(OAuthError::Provider(format!(
                "the discovery document names the issuer {}, not {}",
                document.issuer, self.issuer
            )));
        }
        let endpoints = [
            &document.authorization_endpoint,
            &document.token_endpoint,
            &document.jwks_uri,
        ];
        if let Some(bad) = endpoints.into_iter().find(|url| !safe_url(url)) {
            return Err(OAuthError::Provider(format!("unsafe endpoint {bad}")));
        }
        *self.discovery.write().await = Some(Cached {
            value: document.clone(),
            at: Instant::now(),
        });
        Ok(document)
    }

    /// The cached key `kid`, if the cache is fresh and has it.
    async fn cached_key(&self, kid: &str) -> Option<Jwk> {
        let cached = self.keys.read().await;
        let cached = cached.as_ref().filter(|c| c.at.elapsed() < KEYS_TTL)?;
        cached.value.find(kid).cloned()
    }

    async fn key(&self, kid: &str) -> Result<Jwk, OAuthError> {
        if let Some(key) = self.cached_key(kid).await {
            return Ok(key);
        }
        // One fetch at a time: callers arriving together wait for it and read its keys.
        let _fetching = self.fetching.lock().await;
        if let Some(key) = self.cached_key(kid).await {
            return Ok(key);
        }
        let fetched_lately = self
            .keys
            .read()
            .await
            .as_ref()
            .is_some_and(|c| c.at.elapsed() < REFETCH_GAP);
        if fetched_lately {
            return Err(OAuthError::Invalid("signed by an unknown key"));
        }
        let discovery = self.discovery().await?;
        let set: JwkSet = get_json(&discovery.jwks_uri, None).await?;
        let found = set.find(kid).cloned();
        *self.keys.write().await = Some(Cached {
            value: set,
            at: Instant::now(),
        });
        found.ok_or(OAuthError::Invalid("signed by an unknown key"))
    }

    /// The claims of `token`, if the provider signed it for `client_id` with `nonce`, and it
    /// has not expired.
    pub async fn verify(
        &self,
        token: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<IdClaims, OAuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| OAuthError::Invalid("not a JWT"))?;
        let kid = header.kid.ok_or(OAuthError::Invalid("no key id"))?;
        let jwk = self.key(&kid).await?;
        let alg = algorithm_of(&jwk).ok_or(OAuthError::Invalid("a key of an unsupported kind"))?;
        if header.alg != alg {
            return Err(OAuthError::Invalid("the algorithm is not the key's"));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| OAuthError::Invalid("a bad key"))?;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[self.issuer.as_str(), &format!("{}/", self.issuer)]);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => OAuthError::Invalid("expired"),
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    OAuthError::Invalid("for another client")
                }
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                    OAuthError::Invalid("from another issuer")
                }
                _ => OAuthError::Invalid("a bad signature or claims"),
            })?
            .claims;
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|sent| verify_slices_are_equal(sent.as_bytes(), nonce.as_bytes()).is_ok());
        if !nonce_ok {
            return Err(OAuthError::Invalid("the nonce is not this sign-in's"));
        }
        // `aud` is required and names us (checked above); with several audiences the token must
        // still be issued to us (OIDC Core 3.1.3.7).
        if matches!(claims.aud, Audience::Many(ref all) if all.len() > 1)
            && claims.azp.as_deref() != Some(client_id)
        {
            return Err(OAuthError::Invalid("for another client"));
        }
        Ok(claims)
    }
}

/// The one algorithm a key may sign with: by its type (never a shared secret).
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(by_type),
        Some(declared) if format!("{declared:?}") == format!("{by_type:?}") => Some(by_type),
        Some(_) => None,
    }
}
