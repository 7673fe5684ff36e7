//! Storage ports: one narrow trait per capability, each with a DynamoDB and an embedded adapter.

pub mod dynamo;
mod records;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{Email, Role, User};
pub use records::{RefreshRecord, Session};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the e-mail address is already registered")]
    EmailTaken,
    /// A conditional write lost: the item changed (or vanished) since it was read.
    #[error("the item changed concurrently")]
    Conflict,
    #[error("no such item")]
    NotFound,
    #[error("storage backend error: {0}")]
    Backend(String),
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user and claims its e-mail atomically; `EmailTaken` if an active user has it.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// The user as stored, deleted or not.
    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The active user holding this e-mail address.
    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError>;
    /// Ends every session started at or before `at` ("log out everywhere").
    async fn invalidate_sessions(&self, id: &str, at: i64) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Starts a session (a refresh-token family) with its first refresh token.
    async fn create_session(
        &self,
        session: &Session,
        token: &RefreshRecord,
    ) -> Result<(), StoreError>;
    /// The session, unless it has expired.
    async fn get_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<Session>, StoreError>;
    /// The refresh token with this hash, unless it has expired.
    async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError>;
    /// Atomically marks `spent_hash` spent, stores `next`, and extends the session to
    /// `next.expires_at`. `Conflict` if the token was already spent or the session revoked.
    async fn rotate_refresh_token(
        &self,
        spent_hash: &str,
        spent_at: i64,
        next: &RefreshRecord,
    ) -> Result<(), StoreError>;
    async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        at: i64,
    ) -> Result<(), StoreError>;
}

/// The ports a handler can reach, all served by one adapter.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
}

impl Stores {
    pub fn from_adapter<A: UserStore + SessionStore + 'static>(adapter: Arc<A>) -> Self {
        Self {
            users: adapter.clone(),
            sessions: adapter,
        }
    }
}
