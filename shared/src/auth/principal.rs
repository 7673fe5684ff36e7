//! Who is calling: a verified access token whose session and user are still live.

use super::AuthError;
use super::access_token::{token_header, verify_with_header};
use super::sessions::Sessions;
use crate::domain::{Aal, Authentication, Role, User};
use crate::store::UserStore;

#[derive(Debug, Clone)]
pub struct Principal {
    /// The user as stored now, so role changes and deletions apply on the next request.
    pub user: User,
    pub session_id: String,
    /// How the session was signed in, as stored now (a step-up applies at once).
    pub authentication: Authentication,
}

impl Principal {
    pub fn id(&self) -> &str {
        &self.user.id
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn aal(&self) -> Aal {
        self.authentication.aal
    }
}

impl Principal {
    /// The caller as stored now: a write that lost a race may have lost it to the caller's own
    /// demotion, deletion or ended session. `SessionEnded` if the user is gone or the session
    /// generation moved.
    pub async fn reloaded(mut self, users: &dyn UserStore) -> Result<Self, AuthError> {
        let user = users
            .get_user(self.id())
            .await?
            .filter(|user| {
                user.is_active() && user.session_generation == self.user.session_generation
            })
            .ok_or(AuthError::SessionEnded)?;
        self.user = user;
        Ok(self)
    }
}

impl Sessions<'_> {
    /// Verifies the access token, then reads the user and session (one read of two keys)
    /// so logout, role changes and deletions take effect at once rather than when the token
    /// expires; and notes the session's use, at most once a minute.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        // A header that does not decode is refused before any key is looked up.
        let header = token_header(access_token)?;
        let keys = self.keys.with_kid(&header.kid).await;
        let claims = verify_with_header(&keys, self.config, access_token, &header)?;
        let (user, session) = self
            .live_session(&claims.sub, &claims.sid)
            .await?
            .ok_or(AuthError::SessionEnded)?;
        self.note_use(&session).await;
        Ok(Principal {
            user,
            session_id: claims.sid,
            authentication: session.authentication,
        })
    }
}
