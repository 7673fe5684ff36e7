//! A signed-in user's providers: `GET /api/auth/identities` lists them,
//! `POST /api/auth/identities/{provider}` `{password?, returnTo?}` answers the URL that links
//! one (the browser goes there: a provider is reached by a page navigation, not a call), and
//! `DELETE /api/auth/identities/{provider}` unlinks it, unless it is the last way in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::auth::RefreshToken;
use shared::auth::oauth::secret_hash;
use shared::clock::{now_ms, rfc3339};
use shared::domain::{AuditAction, AuditOutcome, NO_PASSWORD};
use shared::http::{
    ApiError, AppState, Caller, Json, Response, api_base_url, confirm_new_way_in, json,
    private_json, require_assurance,
};
use shared::limits::with_quota;
use shared::permissions::Sensitivity;
use shared::store::{SignInGrant, StoreError};

use crate::browser::{return_to, with_binding};
use crate::{providers, unknown_provider};

/// How long the page has to follow the link URL.
const TICKET_TTL_MS: i64 = 2 * 60 * 1000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityView {
    provider: String,
    email: Option<String>,
    linked_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentitiesView {
    data: Vec<IdentityView>,
    /// Whether the account has a password (with none, its last identity cannot be unlinked).
    has_password: bool,
}

pub async fn list(State(app): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let identities = app
        .stores
        .identities
        .list_identities(principal.id())
        .await?;
    let view = IdentitiesView {
        data: identities
            .into_iter()
            .map(|identity| IdentityView {
                provider: identity.provider,
                email: identity.email,
                linked_at: rfc3339(identity.created_at),
            })
            .collect(),
        has_password: principal.user.password_hash != NO_PASSWORD,
    };
    private_json(&view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkBody {
    password: Option<String>,
    return_to: Option<String>,
}

/// A new way into the account (`confirm_new_way_in`).
pub async fn link(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Path(provider_id): Path<String>,
    parts: Parts,
    Json(body): Json<LinkBody>,
) -> Result<Response, ApiError> {
    let providers = providers(&app).await?;
    let provider = providers.get(&provider_id).ok_or_else(unknown_provider)?;
    let return_to = return_to(&app.config, body.return_to.as_deref())?;
    let quota = match confirm_new_way_in(
        &app,
        &principal,
        &caller,
        body.password.as_deref(),
        AuditAction::IdentityLink,
        "a sign-in provider",
    )
    .await?
    {
        Ok(quota) => quota,
        Err(refused) => return Ok(refused),
    };
    let user = &principal.user;
    // The ticket is bound to this browser (a cookie): a link URL handed to someone else
    // starts nothing in theirs.
    let ticket = RefreshToken::generate().expose();
    let bound = RefreshToken::generate().expose();
    let grant = SignInGrant {
        hash: secret_hash(&ticket),
        user_id: user.id.clone(),
        provider: provider.id().to_owned(),
        session_id: Some(principal.session_id.clone()),
        binding_hash: secret_hash(&bound),
        generation: user.session_generation,
        expires_at: now_ms() + TICKET_TTL_MS,
    };
    app.stores.identities.create_grant(&grant).await?;
    let base = api_base_url(&app.config, &parts).url;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("link", &ticket)
        .append_pair("return_to", &return_to)
        .finish();
    let url = format!("{base}/api/auth/oauth/{}/start?{query}", provider.id());
    let answer = json(StatusCode::CREATED, &serde_json::json!({ "url": url }))?;
    Ok(with_binding(with_quota(quota, answer), Some(&bound)))
}

pub async fn unlink(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    Path(provider_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_assurance(&app, &principal, Sensitivity::OwnAccount).await?;
    let identities = app
        .stores
        .identities
        .list_identities(principal.id())
        .await?;
    let identity = identities
        .into_iter()
        .find(|identity| identity.provider == provider_id)
        .ok_or(ApiError::NotFound)?;
    match app.stores.identities.unlink_identity(&identity).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "last_sign_in_method",
                "this is the only way into the account: set a password (Forgot your password?) \
                 or link another provider first",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let event = caller.event(AuditAction::IdentityUnlink, AuditOutcome::Success);
    app.audit(event.by_self(principal.id()).detail(provider_id))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
