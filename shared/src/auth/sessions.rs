//! Sessions and refresh-token rotation with reuse detection (in the manner of Supabase Auth):
//! every refresh spends the presented token and issues its successor; presenting a spent token
//! again after the grace window revokes the whole family.

use serde::Serialize;

use super::{KeySet, RefreshToken, issue_access_token};
use crate::App;
use crate::clock::now_ms;
use crate::domain::{User, UserView};
use crate::http::ApiError;
use crate::store::{RefreshRecord, Session, StoreError};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// The body of register, login and refresh responses.
#[derive(Debug, Serialize)]
pub struct AuthResponse {
    pub user: UserView,
    #[serde(flatten)]
    pub tokens: TokenPair,
}

impl TokenPair {
    pub fn with_user(self, user: &User) -> AuthResponse {
        AuthResponse {
            user: user.view(),
            tokens: self,
        }
    }
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "the refresh token is invalid, expired or revoked",
    )
}

fn token_pair(
    app: &App,
    keys: &KeySet,
    user: &User,
    session_id: &str,
    refresh: &RefreshToken,
    now: i64,
) -> Result<TokenPair, ApiError> {
    Ok(TokenPair {
        access_token: issue_access_token(
            keys,
            &app.config,
            &user.id,
            user.role,
            session_id,
            now / 1000,
        )?,
        refresh_token: refresh.expose(),
        token_type: "Bearer",
        expires_in: app.config.access_token_ttl.as_secs(),
    })
}

/// Starts a new session (token family) for a user who just proved who they are.
pub async fn start_session(app: &App, user: &User) -> Result<TokenPair, ApiError> {
    let now = now_ms();
    let keys = app.keys.current().await;
    let token = RefreshToken::generate();
    let expires_at = now + app.config.refresh_token_ttl.as_millis() as i64;
    let session = Session {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    let record = RefreshRecord {
        hash: token.hash(),
        user_id: user.id.clone(),
        session_id: session.id.clone(),
        created_at: now,
        expires_at,
        spent_at: None,
    };
    app.stores
        .sessions
        .create_session(&session, &record)
        .await?;
    token_pair(app, &keys, user, &session.id, &token, now)
}

/// The user and session, if the session is still usable: not revoked, not expired, not ended by
/// "log out everywhere", and the user not deleted.
pub(crate) async fn live_session(
    app: &App,
    user_id: &str,
    session_id: &str,
) -> Result<Option<(User, Session)>, ApiError> {
    let (user, session) = tokio::join!(
        app.stores.users.get_user(user_id),
        app.stores.sessions.get_session(user_id, session_id),
    );
    let (Some(user), Some(session)) = (user?, session?) else {
        return Ok(None);
    };
    let live = user.is_active()
        && session.revoked_at.is_none()
        && session.created_at > user.sessions_valid_after;
    Ok(live.then_some((user, session)))
}

/// Spends `presented` and returns a new token pair in the same family.
pub async fn refresh(app: &App, presented: &str) -> Result<(User, TokenPair), ApiError> {
    let token = RefreshToken::parse(presented).ok_or_else(invalid_refresh)?;
    let keys = app.keys.current().await;
    let hash = token.hash();
    let successor = token.successor(&keys.rotation_key());
    let grace_ms = app.config.refresh_grace.as_millis() as i64;

    // A lost race re-reads the token once more and lands in the grace branch.
    for _ in 0..3 {
        let now = now_ms();
        let record = app
            .stores
            .sessions
            .find_refresh_token(&hash)
            .await?
            .ok_or_else(invalid_refresh)?;
        let (user, session) = live_session(app, &record.user_id, &record.session_id)
            .await?
            .ok_or_else(invalid_refresh)?;
        match record.spent_at {
            None => {
                let next = RefreshRecord {
                    hash: successor.hash(),
                    user_id: user.id.clone(),
                    session_id: session.id.clone(),
                    created_at: now,
                    expires_at: now + app.config.refresh_token_ttl.as_millis() as i64,
                    spent_at: None,
                };
                match app
                    .stores
                    .sessions
                    .rotate_refresh_token(&hash, now, &next)
                    .await
                {
                    Ok(()) => {}
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            // A concurrent refresh (two tabs, a retry): hand out the same successor.
            Some(spent_at) if now - spent_at < grace_ms => {}
            Some(_) => {
                app.stores
                    .sessions
                    .revoke_session(&user.id, &session.id, now)
                    .await?;
                tracing::warn!(user_id = %user.id, session_id = %session.id, "refresh token reused; session revoked");
                return Err(ApiError::unauthorized(
                    "refresh_token_reused",
                    "this refresh token was already used; the session has been revoked",
                ));
            }
        }
        let pair = token_pair(app, &keys, &user, &session.id, &successor, now)?;
        return Ok((user, pair));
    }
    Err(invalid_refresh())
}

/// Revokes the family `presented` belongs to. Unknown tokens are already logged out.
pub async fn logout(app: &App, presented: &str) -> Result<(), ApiError> {
    let Some(token) = RefreshToken::parse(presented) else {
        return Ok(());
    };
    if let Some(record) = app
        .stores
        .sessions
        .find_refresh_token(&token.hash())
        .await?
    {
        app.stores
            .sessions
            .revoke_session(&record.user_id, &record.session_id, now_ms())
            .await?;
    }
    Ok(())
}
