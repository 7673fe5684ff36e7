//! Who is calling: a verified access token whose session and user are still live.

use super::sessions::live_session;
use super::verify_access_token;
use crate::App;
use crate::domain::{Role, User};
use crate::http::{ApiError, Request, bearer_token};

#[derive(Debug, Clone)]
pub struct Principal {
    /// The user as stored now, so role changes and deletions apply on the next request.
    pub user: User,
    pub session_id: String,
}

impl Principal {
    pub fn id(&self) -> &str {
        &self.user.id
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The caller is `user_id`, or staff (moderator or admin).
    pub fn is_self_or_staff(&self, user_id: &str) -> bool {
        self.id() == user_id || self.user.role.is_staff()
    }
}

/// Verifies the bearer token, then reads the user and session (two concurrent key lookups) so
/// logout, role changes and deletions take effect at once rather than when the token expires.
pub async fn authenticate(app: &App, req: &Request) -> Result<Principal, ApiError> {
    let token = bearer_token(req).ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "send `Authorization: Bearer <access token>`",
        )
    })?;
    let keys = app.keys.current().await;
    let claims = verify_access_token(&keys, &app.config, token)?;
    let (user, _) = live_session(app, &claims.sub, &claims.sid)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("session_ended", "the session has ended; log in again")
        })?;
    Ok(Principal {
        user,
        session_id: claims.sid,
    })
}

/// The caller if they sent a token (which must then be valid), `None` if they sent none.
pub async fn authenticate_optional(
    app: &App,
    req: &Request,
) -> Result<Option<Principal>, ApiError> {
    if bearer_token(req).is_none()
        && crate::http::header(req, http::header::AUTHORIZATION).is_none()
    {
        return Ok(None);
    }
    authenticate(app, req).await.map(Some)
}
