//! Sessions and refresh-token rotation with reuse detection (in the manner of Supabase Auth):
//! every refresh spends the presented token and issues its successor; presenting a spent token
//! again after the grace window revokes the whole family.

use super::{AuthError, KeySet, Principal, RefreshToken, issue_access_token};
use crate::clock::now_ms;
use crate::config::Config;
use crate::domain::{Authentication, User, is_stored_id};
use crate::jobs::{Job, MailMessage, SecurityEvent};
use crate::secrets::KeyProvider;
use crate::store::{
    OutboxStore, RefreshRecord, Session, SessionOrigin, SessionStore, StoreError, UserStore,
};

/// How finely a session's last use is kept: a request writes it only when the stored one is
/// older than this, so a busy session costs one write a minute, not one a request.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// What sessions are kept with: the users they belong to, the sessions and refresh tokens, the
/// keys that sign their tokens, and the token settings (`config`).
#[derive(Clone, Copy)]
pub struct Sessions<'a> {
    pub users: &'a dyn UserStore,
    pub sessions: &'a dyn SessionStore,
    pub keys: &'a KeyProvider,
    pub config: &'a Config,
}

/// A new access token and the refresh token that continues the session.
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// A new access token for a session that carries on with its refresh token.
#[derive(Debug)]
pub struct IssuedAccess {
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// With `REQUIRE_EMAIL_VERIFICATION`, an account whose address is not verified holds no working
/// session: sign-in, refresh and every authenticated request refuse it.
pub fn check_verified(config: &Config, user: &User) -> Result<(), AuthError> {
    if config.require_email_verification && !user.email_verified {
        return Err(AuthError::EmailNotVerified);
    }
    Ok(())
}

impl Sessions<'_> {
    fn issue(
        &self,
        keys: &KeySet,
        user: &User,
        session: &Session,
        refresh: &RefreshToken,
        now: i64,
    ) -> Result<IssuedTokens, AuthError> {
        Ok(IssuedTokens {
            access_token: issue_access_token(
                keys,
                self.config,
                &user.id,
                user.role,
                &session.id,
                &session.authentication,
                now / 1000,
            )?,
            refresh_token: refresh.expose(),
            expires_in: self.config.access_token_ttl.as_secs(),
        })
    }

    /// Starts a new session (token family) for a user who just proved who they are, how
    /// (`authentication`) and from where (`origin`). The session belongs to the user's current
    /// session generation: ending all sessions bumps it.
    pub async fn start(
        &self,
        user: &User,
        authentication: Authentication,
        origin: SessionOrigin,
    ) -> Result<IssuedTokens, AuthError> {
        let now = now_ms();
        let keys = self.keys.current().await;
        let token = RefreshToken::generate();
        let expires_at = now + self.config.refresh_token_ttl.as_millis() as i64;
        let session = Session {
            // Time-ordered, so a user's sessions list newest first.
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.id.clone(),
            generation: user.session_generation,
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: now,
            authentication,
            origin,
        };
        let record = RefreshRecord {
            hash: token.hash(),
            user_id: user.id.clone(),
            session_id: session.id.clone(),
            created_at: now,
            expires_at,
            spent_at: None,
            successor: None,
        };
        self.sessions.create_session(&session, &record).await?;
        self.issue(&keys, user, &session, &token, now)
    }

    /// The user and session, if the session is still usable: not revoked, not expired, started
    /// in the user's current session generation, and the user not deleted. No clocks are
    /// compared, so instances whose clocks disagree agree on this.
    pub(crate) async fn live_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<(User, Session)>, AuthError> {
        // A signed token's ids are ours; anything else names no session (and no key to read).
        if !is_stored_id(user_id) || !is_stored_id(session_id) {
            return Ok(None);
        }
        let (user, session) = self
            .sessions
            .get_user_and_session(user_id, session_id)
            .await?;
        let (Some(user), Some(session)) = (user, session) else {
            return Ok(None);
        };
        if !session.is_live_for(&user) {
            return Ok(None);
        }
        check_verified(self.config, &user)?;
        Ok(Some((user, session)))
    }

    /// Notes that `session` was used now if its stored last use is older than
    /// `LAST_USED_RESOLUTION_MS`. Best effort: a request is never refused for it.
    pub(crate) async fn note_use(&self, session: &Session) {
        let now = now_ms();
        if now - session.last_used_at < LAST_USED_RESOLUTION_MS {
            return;
        }
        let stale_before = now - LAST_USED_RESOLUTION_MS;
        if let Err(error) = self
            .sessions
            .touch_session(session, now, stale_before)
            .await
        {
            tracing::warn!(error = ?error, "a session's last use not recorded");
        }
    }

    /// Spends `presented` and returns new tokens in the same family. A spent token presented
    /// again revokes the session, and its owner and the admins are told through `notices`.
    pub async fn refresh(
        &self,
        presented: &str,
        notices: &dyn OutboxStore,
    ) -> Result<(User, IssuedTokens), AuthError> {
        let token = RefreshToken::parse(presented).ok_or(AuthError::InvalidRefreshToken)?;
        let keys = self.keys.current().await;
        let hash = token.hash();
        let kid = keys.active().0.to_owned();
        let grace_ms = self.config.refresh_grace.as_millis() as i64;

        // A lost race re-reads the token and lands in the grace branch.
        for attempt in 0..3u32 {
            let now = now_ms();
            let record = self
                .sessions
                .find_refresh_token(&hash)
                .await?
                .ok_or(AuthError::InvalidRefreshToken)?;
            let (user, session) = self
                .live_session(&record.user_id, &record.session_id)
                .await?
                .ok_or(AuthError::InvalidRefreshToken)?;
            let successor = match record.spent_at {
                None => {
                    let successor = token.successor(&keys.rotation_key());
                    let next = RefreshRecord {
                        hash: successor.hash(),
                        user_id: user.id.clone(),
                        session_id: session.id.clone(),
                        created_at: now,
                        expires_at: now + self.config.refresh_token_ttl.as_millis() as i64,
                        spent_at: None,
                        successor: None,
                    };
                    match self
                        .sessions
                        .rotate_refresh_token(&hash, now, &next, &kid)
                        .await
                    {
                        Ok(()) => successor,
                        Err(StoreError::Conflict) => {
                            let pause = 10 * (1 << attempt);
                            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                // A concurrent refresh (two tabs, a retry): hand out the same successor, as long
                // as that successor is still the family's head. Once it was itself spent,
                // replaying an older token is reuse, however recent: grace never walks a thief
                // down the chain.
                Some(spent_at) if now - spent_at < grace_ms => {
                    match self.handed_out(&keys, &token, &record).await {
                        Some(successor) if self.successor_is_head(&successor).await? => successor,
                        Some(_) => {
                            return Err(self.reused(&user, &session.id, now, notices).await?);
                        }
                        // Its key left the set: it cannot be handed out again, and a retry is no
                        // theft either.
                        None => return Err(AuthError::InvalidRefreshToken),
                    }
                }
                Some(_) => return Err(self.reused(&user, &session.id, now, notices).await?),
            };
            let tokens = self.issue(&keys, &user, &session, &successor, now)?;
            return Ok((user, tokens));
        }
        Err(AuthError::InvalidRefreshToken)
    }

    /// The successor `token` was spent for, derived again with the key recorded then
    /// (refetching the key set once if this instance has not seen that key yet), never
    /// recomputed with whatever key is active here; `None` if that key is no longer in the set.
    async fn handed_out(
        &self,
        keys: &KeySet,
        token: &RefreshToken,
        record: &RefreshRecord,
    ) -> Option<RefreshToken> {
        let Some(spent_for) = &record.successor else {
            // Spent before successors were recorded.
            return Some(token.successor(&keys.rotation_key()));
        };
        let keys = self.keys.with_kid(&spent_for.kid).await;
        let successor = token.successor(&keys.rotation_key_of(&spent_for.kid)?);
        (successor.hash() == spent_for.hash).then_some(successor)
    }

    /// A spent token presented again: the session is revoked and its owner and the admins told.
    async fn reused(
        &self,
        user: &User,
        session_id: &str,
        now: i64,
        notices: &dyn OutboxStore,
    ) -> Result<AuthError, AuthError> {
        self.sessions
            .revoke_session(&user.id, session_id, now)
            .await?;
        tracing::warn!(user_id = %user.id, session_id = %session_id, "refresh token reused; session revoked");
        notify_reuse(notices, user, now).await;
        Ok(AuthError::RefreshTokenReused {
            user_id: user.id.clone(),
        })
    }

    /// Whether `successor` exists and is unspent: the newest token of its family.
    async fn successor_is_head(&self, successor: &RefreshToken) -> Result<bool, AuthError> {
        let record = self.sessions.find_refresh_token(&successor.hash()).await?;
        Ok(record.is_some_and(|r| r.spent_at.is_none()))
    }

    /// Raises the session `principal` came in on to `authentication` (a second factor was
    /// just proven) and answers a new access token for it; the refresh token carries on, and
    /// what it issues next keeps the new level. `SessionEnded` if the session ended meanwhile.
    pub async fn raise(
        &self,
        principal: &super::Principal,
        authentication: &Authentication,
    ) -> Result<IssuedAccess, AuthError> {
        match self
            .sessions
            .raise_session(principal.id(), &principal.session_id, authentication)
            .await
        {
            Err(StoreError::Conflict) => return Err(AuthError::SessionEnded),
            other => other?,
        }
        let keys = self.keys.current().await;
        Ok(IssuedAccess {
            access_token: issue_access_token(
                &keys,
                self.config,
                principal.id(),
                principal.role(),
                &principal.session_id,
                authentication,
                now_ms() / 1000,
            )?,
            expires_in: self.config.access_token_ttl.as_secs(),
        })
    }

    /// Ends every session of `principal`'s user but the one it came in on, which carries on.
    /// A lost race (another ending of sessions, or of this one) reads both again: if this
    /// session ended meanwhile, `SessionEnded`.
    pub async fn end_others(&self, principal: &Principal) -> Result<(), AuthError> {
        let mut user = principal.user.clone();
        // Each retry follows another ending of sessions that committed first: a few suffice.
        for _ in 0..3 {
            let ended = self
                .sessions
                .end_other_sessions(&user, &principal.session_id, now_ms())
                .await;
            match ended {
                Err(StoreError::Conflict) => {
                    (user, _) = self
                        .live_session(&user.id, &principal.session_id)
                        .await?
                        .ok_or(AuthError::SessionEnded)?;
                }
                ended => return Ok(ended?),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Revokes the family `presented` belongs to, returning its token's record (its user and
    /// session). Unknown tokens are already logged out.
    pub async fn end(&self, presented: &str) -> Result<Option<RefreshRecord>, AuthError> {
        let Some(token) = RefreshToken::parse(presented) else {
            return Ok(None);
        };
        let Some(record) = self.sessions.find_refresh_token(&token.hash()).await? else {
            return Ok(None);
        };
        self.sessions
            .revoke_session(&record.user_id, &record.session_id, now_ms())
            .await?;
        Ok(Some(record))
    }
}

/// Tells the user and the admins that a session was revoked for reuse. Best effort: if this
/// write fails, the next replay of the same token tells them again.
async fn notify_reuse(notices: &dyn OutboxStore, user: &User, now: i64) {
    let jobs = vec![
        Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::RefreshTokenReused,
            now,
        ),
        Job::security(user.email.as_str(), SecurityEvent::RefreshTokenReused, now),
    ];
    if let Err(error) = notices.add_to_outbox(&jobs).await {
        tracing::warn!(error = ?error, "reuse notice not written");
    }
}
