//! The key set as the world may see it: the JWKS (RFC 7517) of every signing key, active or
//! not, and the discovery document that points at it. Never a private or HMAC key: the set
//! hands out only `PublicJwk`s, which have no member for one.

use serde::Serialize;

use crate::auth::{KeySet, PublicJwk};

#[derive(Debug, Serialize)]
pub struct JwksView<'a> {
    pub keys: Vec<&'a PublicJwk>,
}

impl<'a> From<&'a KeySet> for JwksView<'a> {
    fn from(keys: &'a KeySet) -> Self {
        Self {
            keys: keys.public_keys().collect(),
        }
    }
}

/// `/.well-known/openid-configuration`: enough for a verifier to find our keys. The algorithms
/// are the access tokens' (no ID tokens are issued; OpenID Connect's member is the one JWT
/// libraries read).
#[derive(Debug, Serialize)]
pub struct DiscoveryView {
    pub issuer: String,
    pub jwks_uri: String,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
}

impl DiscoveryView {
    pub fn new(issuer: &str, api_base_url: &str, keys: &KeySet) -> Self {
        let mut algs: Vec<&'static str> = keys.public_keys().map(|key| key.alg).collect();
        algs.sort_unstable();
        algs.dedup();
        Self {
            issuer: issuer.to_owned(),
            jwks_uri: format!("{api_base_url}/.well-known/jwks.json"),
            id_token_signing_alg_values_supported: algs,
        }
    }
}
