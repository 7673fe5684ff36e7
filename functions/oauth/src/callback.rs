//! `GET /api/auth/oauth/{provider}/callback?code&state`: the provider sends the browser back.
//! The state is spent (once, by the browser that started it), the code traded for who signed
//! in, and then: the account that identity belongs to; or an account with the same address,
//! linked, only when both the provider and the account have verified it; or a new account;
//! or, for a link, the signed-in user's account. The browser goes back to its page with a
//! one-time code (or the reason it failed) in the fragment.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use shared::App;
use shared::auth::RefreshToken;
use shared::auth::oauth::{Provider, ProviderUser, secret_hash};
use shared::clock::now_ms;
use shared::domain::{
    AuditAction, AuditOutcome, AuthMethod, DisplayName, Email, NO_PASSWORD, User,
};
use shared::http::{ApiError, AppState, Caller, Params, Response};
use shared::jobs::{Job, MailMessage, Notice, Work};
use shared::store::{Effects, Identity, SignInGrant, StoreError};

use crate::browser::{binding, redirect, return_urls, with_fragment};
use crate::providers;
use crate::start::callback_url;

/// How long the page has to exchange the code.
const GRANT_TTL_MS: i64 = 2 * 60 * 1000;

/// Where a callback ends.
enum Landing {
    /// Signed in: the code for the page.
    SignedIn(String),
    Linked,
    /// Refused, for the reason named (a stable code the page shows).
    Refused(&'static str),
}

pub async fn callback(
    State(app): State<AppState>,
    Path(provider_id): Path<String>,
    params: Params,
    caller: Caller,
    parts: Parts,
) -> Result<Response, ApiError> {
    let fallback = return_urls(&app.config).remove(0);
    let failed = |to: &str, why: &str| Ok(redirect(&with_fragment(to, "oauth_error", why), None));
    let (Some(bound), Some(state)) = (binding(&parts.headers), params.get("state")?) else {
        return failed(&fallback, "invalid_state");
    };
    let taken = app
        .stores
        .identities
        .take_oauth_state(&secret_hash(state), &secret_hash(&bound), now_ms())
        .await?;
    let Some(state) = taken.filter(|s| s.provider == provider_id) else {
        return failed(&fallback, "invalid_state");
    };
    let providers = providers(&app).await?;
    let (Some(provider), None, Some(code)) = (
        providers.get(&provider_id),
        params.get("error")?,
        params.get("code")?,
    ) else {
        return failed(&state.return_to, "provider_refused");
    };
    let redirect_uri = callback_url(&app, &parts, provider.id());
    let who = match provider
        .user_for_code(code, &redirect_uri, &state.verifier, &state.nonce)
        .await
    {
        Ok(who) => who,
        Err(error) => {
            tracing::warn!(provider = provider.id(), %error, "a provider sign-in failed");
            let event = caller.event(AuditAction::Login, AuditOutcome::Failure);
            app.audit(event.detail(format!("oauth:{}: {error}", provider.id())))
                .await;
            return failed(&state.return_to, "provider_failed");
        }
    };
    let landing = match &state.link {
        Some((user_id, session_id)) => {
            link(&app, &caller, provider, &who, user_id, session_id).await?
        }
        None => sign_in(&app, &caller, provider, &who, &state.binding_hash).await?,
    };
    let location = match landing {
        // The binding cookie stays: the page's exchange of the code must come from this browser.
        Landing::SignedIn(code) => {
            let location = with_fragment(&state.return_to, "oauth_code", &code);
            return Ok(redirect(&location, Some(&bound)));
        }
        Landing::Linked => with_fragment(&state.return_to, "oauth_linked", provider.id()),
        Landing::Refused(why) => with_fragment(&state.return_to, "oauth_error", why),
    };
    Ok(redirect(&location, None))
}

/// The provider's account as linked to `user_id`; `added_with_password`: by a signed-in user
/// whose session the password signed in.
fn identity(
    provider: &Provider,
    who: &ProviderUser,
    user_id: &str,
    added_with_password: bool,
) -> Identity {
    Identity {
        provider: provider.id().to_owned(),
        subject: who.subject.clone(),
        user_id: user_id.to_owned(),
        email: who.email.clone(),
        created_at: now_ms(),
        added_with_password,
    }
}

/// The identity's user, if it is linked to an active one; else the deleted user it may be
/// taken from.
async fn linked_user(
    app: &App,
    provider: &Provider,
    who: &ProviderUser,
) -> Result<(Option<User>, Option<String>), ApiError> {
    let Some(found) = app
        .stores
        .identities
        .find_identity(provider.id(), &who.subject)
        .await?
    else {
        return Ok((None, None));
    };
    match app.stores.users.get_user(&found.user_id).await? {
        Some(user) if user.is_active() => Ok((Some(user), None)),
        _ => Ok((None, Some(found.user_id))),
    }
}

async fn sign_in(
    app: &App,
    caller: &Caller,
    provider: &Provider,
    who: &ProviderUser,
    binding_hash: &str,
) -> Result<Landing, ApiError> {
    let (known, stale) = linked_user(app, provider, who).await?;
    if let Some(user) = known {
        return grant(app, &user, provider, binding_hash).await;
    }
    let Some(email) = who.email.as_deref().and_then(exact_address) else {
        return Ok(Landing::Refused("email_required"));
    };
    let user = match app.stores.users.find_user_by_email(&email).await? {
        // Linked by the address only when both sides have proven it: otherwise whoever
        // registered the address here, or claims it at the provider, would get the other's
        // account.
        Some(user) if who.email_verified && user.email_verified => {
            let linked = identity(provider, who, &user.id, false);
            let told = linked_notice(&user, provider);
            if !link_identity(app, &linked, stale.as_deref(), None, &told).await? {
                return Ok(Landing::Refused("identity_in_use"));
            }
            let event = caller.event(AuditAction::IdentityLink, AuditOutcome::Success);
            app.audit(
                event
                    .by_self(&user.id)
                    .detail(format!("{} auto", provider.id())),
            )
            .await;
            user
        }
        Some(_) => return Ok(Landing::Refused("link_required")),
        // An account made from an address nobody proved would be whoever claimed it first:
        // its owner, proving it later, would find the claimant's provider still signing in.
        None if !who.email_verified => return Ok(Landing::Refused("email_not_verified")),
        None => match create_account(app, caller, provider, who, email, stale).await? {
            Some(user) => user,
            // Taken meanwhile: by this provider account's other sign-in (two tabs, a double
            // click), which then signs in here too; or by someone else.
            None => match linked_user(app, provider, who).await? {
                (Some(user), _) => user,
                _ => return Ok(Landing::Refused("link_required")),
            },
        },
    };
    grant(app, &user, provider, binding_hash).await
}

/// The address the provider gave, if it is an address and reads the same once parsed (a look-
/// alike such as a Kelvin sign for a K, which parsing folds, never matches an account here).
fn exact_address(raw: &str) -> Option<Email> {
    let email = Email::parse(raw).ok()?;
    (email.as_str() == raw.trim().to_ascii_lowercase()).then_some(email)
}

/// A new account for the provider's user (whose address the provider verified): verified, no
/// password. `None` if the address was taken meanwhile.
async fn create_account(
    app: &App,
    caller: &Caller,
    provider: &Provider,
    who: &ProviderUser,
    email: Email,
    stale: Option<String>,
) -> Result<Option<User>, ApiError> {
    let now = now_ms();
    let name = who
        .name
        .as_deref()
        .and_then(|name| DisplayName::parse(name).ok())
        .or_else(|| DisplayName::parse(email.as_str().split('@').next().unwrap_or("")).ok())
        .or_else(|| DisplayName::parse("New user").ok())
        .expect("a plain name parses");
    let mut user = User::new(email, name, NO_PASSWORD.into(), now);
    user.email_verified = true;
    let effects = Effects::jobs(vec![Job::new(
        Work::Telegram(Notice::NewSignup {
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
        }),
        now,
    )]);
    match app.stores.users.create_user(&user, &effects).await {
        Err(StoreError::EmailTaken) => return Ok(None),
        other => other?,
    }
    let linked = identity(provider, who, &user.id, false);
    if !link_identity(app, &linked, stale.as_deref(), None, &Effects::none()).await? {
        return Ok(None);
    }
    let event = caller.event(AuditAction::Register, AuditOutcome::Success);
    app.audit(
        event
            .by_self(&user.id)
            .detail(format!("oauth:{}", provider.id())),
    )
    .await;
    Ok(Some(user))
}

/// Links the provider's account to the signed-in user who asked, if their session is still live.
async fn link(
    app: &App,
    caller: &Caller,
    provider: &Provider,
    who: &ProviderUser,
    user_id: &str,
    session_id: &str,
) -> Result<Landing, ApiError> {
    let (user, session) = app
        .stores
        .sessions
        .get_user_and_session(user_id, session_id)
        .await?;
    let (Some(user), Some(session)) = (user, session) else {
        return Ok(Landing::Refused("session_ended"));
    };
    if !session.is_live_for(&user) {
        return Ok(Landing::Refused("session_ended"));
    }
    let (known, stale) = linked_user(app, provider, who).await?;
    match known {
        Some(owner) if owner.id == user.id => return Ok(Landing::Linked),
        Some(_) => return Ok(Landing::Refused("identity_in_use")),
        None => {}
    }
    let with_password = session.authentication.amr.contains(&AuthMethod::Password);
    let linked = identity(provider, who, &user.id, with_password);
    let told = linked_notice(&user, provider);
    if !link_identity(
        app,
        &linked,
        stale.as_deref(),
        Some(user.session_generation),
        &told,
    )
    .await?
    {
        return Ok(Landing::Refused("identity_in_use"));
    }
    let event = caller.event(AuditAction::IdentityLink, AuditOutcome::Success);
    app.audit(event.by_self(&user.id).detail(provider.id()))
        .await;
    Ok(Landing::Linked)
}

/// Links `identity` to its user (while their sessions are of `generation`, for a link they
/// asked for): true when it is theirs afterwards (linked now, or by a request racing this one:
/// two tabs, a double click), false when another user holds it or the sessions ended.
async fn link_identity(
    app: &App,
    identity: &Identity,
    stale: Option<&str>,
    generation: Option<u64>,
    effects: &Effects,
) -> Result<bool, ApiError> {
    let identities = &app.stores.identities;
    match identities
        .link_identity(identity, stale, generation, effects)
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(identities
            .find_identity(&identity.provider, &identity.subject)
            .await?
            .is_some_and(|found| found.user_id == identity.user_id)),
        Err(e) => Err(e.into()),
    }
}

/// The mail that tells a user a provider now signs in as them.
fn linked_notice(user: &User, provider: &Provider) -> Effects {
    Effects::jobs(vec![Job::email(
        user.email.as_str(),
        user.name.as_str(),
        MailMessage::IdentityLinked {
            provider: provider.name().to_owned(),
        },
        now_ms(),
    )])
}

/// A one-time code for the page in the browser bound by `binding_hash`, good for
/// `GRANT_TTL_MS` while the user's sessions last.
async fn grant(
    app: &App,
    user: &User,
    provider: &Provider,
    binding_hash: &str,
) -> Result<Landing, ApiError> {
    let code = RefreshToken::generate().expose();
    let now = now_ms();
    let grant = SignInGrant {
        hash: secret_hash(&code),
        user_id: user.id.clone(),
        provider: provider.id().to_owned(),
        session_id: None,
        binding_hash: binding_hash.to_owned(),
        generation: user.session_generation,
        expires_at: now + GRANT_TTL_MS,
    };
    app.stores.identities.create_grant(&grant).await?;
    Ok(Landing::SignedIn(code))
}
