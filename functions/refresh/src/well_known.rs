//! `GET /.well-known/jwks.json`: the public keys access tokens are verified with, and
//! `GET /.well-known/openid-configuration`: the issuer, where those keys are, and their algorithms.
//! Both are the same for everyone, so any cache may keep them, but not for longer than a rotation
//! leaves a new key unused (README, "Rotating the signing keys"); the discovery document only
//! when it names a configured URL (`API_BASE_URL`), not one read off the request. Pages on any
//! origin may read both (`Routes::public_get`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use shared::http::{
    ApiError, AppState, DiscoveryView, JwksView, Response, api_base_url, shared_json,
};
use shared::secrets::KeyProvider;

/// Five minutes: a key is published for at least `SECRETS_CACHE_TTL_SECS` + this before it
/// signs, so a verifier's cached copy always has it.
pub const KEYS_CACHE: &str = "public, max-age=300";

pub async fn jwks(
    State(keys): State<KeyProvider>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let keys = keys.current().await;
    shared_json(&headers, &JwksView::from(&*keys), KEYS_CACHE)
}

pub async fn openid_configuration(
    State(app): State<AppState>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let keys = app.keys.current().await;
    let base = api_base_url(&app.config, &parts);
    let document = DiscoveryView::new(&app.config.issuer, &base.url, &keys);
    let response = shared_json(&parts.headers, &document, KEYS_CACHE)?;
    Ok(base.cache_as_naming_it(response))
}
