//! `GET /api/auth/oauth/{provider}/start?return_to=…` (and `&link=<ticket>` to link a provider
//! to a signed-in account): stores the sign-in's state, sets the browser's binding cookie and
//! sends the browser to the provider.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use shared::App;
use shared::auth::oauth::{Authorization, OAuthError, secret_hash};
use shared::clock::now_ms;
use shared::http::{ApiError, AppState, Caller, Params, Response, api_base_url};
use shared::store::OAuthState;

use crate::browser::{STATE_TTL_MS, binding, redirect, return_to};
use crate::{providers, unknown_provider};

pub async fn start(
    State(app): State<AppState>,
    Path(provider_id): Path<String>,
    params: Params,
    caller: Caller,
    parts: Parts,
) -> Result<Response, ApiError> {
    let rule = app.config.rate_limits.oauth_start_ip;
    app.limits()
        .count_from_ip("oauth-start", rule, caller.ip, now_ms())
        .await?;
    let providers = providers(&app).await?;
    let provider = providers.get(&provider_id).ok_or_else(unknown_provider)?;
    let return_to = return_to(&app.config, params.get("return_to")?)?;
    let link = match params.get("link")? {
        Some(ticket) => Some(link_ticket(&app, ticket, &parts, provider.id()).await?),
        None => None,
    };
    let auth = Authorization::new();
    let url = provider
        .authorize_url(&auth, &callback_url(&app, &parts, provider.id()))
        .await
        .map_err(provider_unavailable)?;
    let state = OAuthState {
        hash: secret_hash(&auth.state),
        provider: provider.id().to_owned(),
        nonce: auth.nonce.clone(),
        verifier: auth.verifier.clone(),
        binding_hash: secret_hash(&auth.binding),
        return_to,
        link,
        expires_at: now_ms() + STATE_TTL_MS,
    };
    app.stores.identities.create_oauth_state(&state).await?;
    Ok(redirect(&url, Some(&auth.binding)))
}

/// Where the provider sends the browser back: this API's callback for the provider (the URI
/// registered with the provider).
pub fn callback_url(app: &App, parts: &Parts, provider: &str) -> String {
    let base = api_base_url(&app.config, parts).url;
    format!("{base}/api/auth/oauth/{provider}/callback")
}

/// The signed-in user and session a link ticket was made for (spent here, in the browser that
/// asked for it).
async fn link_ticket(
    app: &App,
    ticket: &str,
    parts: &Parts,
    provider: &str,
) -> Result<(String, String), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_link_ticket",
            "the link ticket is unknown, used or expired: ask for a new one",
        )
    };
    let Some(bound) = binding(&parts.headers).filter(|_| ticket.len() <= 64) else {
        return Err(invalid());
    };
    let grant = app
        .stores
        .identities
        .take_grant(&secret_hash(ticket), &secret_hash(&bound), now_ms())
        .await?
        .filter(|grant| grant.provider == provider)
        .ok_or_else(invalid)?;
    let session = grant.session_id.ok_or_else(invalid)?;
    Ok((grant.user_id, session))
}

pub fn provider_unavailable(error: OAuthError) -> ApiError {
    ApiError::Unavailable {
        detail: "the sign-in provider cannot be reached right now",
        retry_after_secs: 5,
        cause: Some(error.to_string().into()),
    }
}
