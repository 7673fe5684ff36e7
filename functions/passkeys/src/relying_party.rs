//! The relying party as configured (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`, checked at start).

use std::time::Duration;

use shared::App;
use shared::clock::now_ms;
use shared::config::Config;
use shared::http::{ApiError, Caller};
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

use crate::ceremony::CEREMONY_TTL_MS;

/// The relying party; passkeys are off (403 `passkeys_off`) where none is configured.
pub fn relying_party(config: &Config) -> Result<Webauthn, ApiError> {
    let rp = config
        .relying_party
        .as_ref()
        .ok_or_else(|| ApiError::ForbiddenBecause {
            code: "passkeys_off",
            detail: "passkeys need a relying party: set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS".into(),
        })?;
    let origins: Vec<Url> = rp
        .origins
        .iter()
        .map(|origin| Url::parse(origin))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(e.into()))?;
    let first = origins
        .first()
        .ok_or_else(|| ApiError::Internal("WEBAUTHN_ORIGINS is empty".into()))?;
    let mut builder = WebauthnBuilder::new(&rp.id, first)
        .map_err(|e| ApiError::Internal(e.into()))?
        .rp_name(&rp.id)
        .timeout(Duration::from_millis(CEREMONY_TTL_MS as u64));
    for origin in &origins[1..] {
        builder = builder.append_allowed_origin(origin);
    }
    builder.build().map_err(|e| ApiError::Internal(e.into()))
}

/// The relying party for a new ceremony, counted against the caller's address (each ceremony
/// stores its state until it is spent or expires).
pub async fn for_a_new_ceremony(app: &App, caller: &Caller) -> Result<Webauthn, ApiError> {
    let webauthn = relying_party(&app.config)?;
    let rule = app.config.rate_limits.passkey_options_ip;
    app.limits()
        .count_from_ip("passkey-options", rule, caller.ip, now_ms())
        .await?;
    Ok(webauthn)
}
