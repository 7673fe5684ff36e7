//! Storage ports: one narrow trait per capability, each with a DynamoDB and an embedded adapter.

pub mod dynamo;
mod records;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{Email, Post, Role, User};
pub use records::{Page, Position, PostQuery, RefreshRecord, Session, UserQuery};

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
    /// Replaces `previous` with `next` if the stored version is still `previous.version`
    /// (`Conflict` otherwise). An e-mail change releases the old address and claims the new one
    /// in the same transaction (`EmailTaken` if someone holds it).
    async fn update_user(&self, previous: &User, next: &User) -> Result<(), StoreError>;
    /// Soft delete: sets `deleted_at`, ends every session, frees the e-mail, leaves listings.
    async fn delete_user(&self, user: &User, at: i64) -> Result<User, StoreError>;
    /// Active users ordered by e-mail; with a prefix, those whose e-mail starts with it, then
    /// those whose name does (ordered by name). `Position::phase` says which part a cursor is in.
    async fn list_users(
        &self,
        query: &UserQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<User>, StoreError>;
}

#[async_trait]
pub trait PostStore: Send + Sync {
    async fn create_post(&self, post: &Post) -> Result<(), StoreError>;
    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError>;
    /// Replaces `previous` with `next` if the stored version is still `previous.version`.
    async fn update_post(&self, previous: &Post, next: &Post) -> Result<(), StoreError>;
    async fn delete_post(&self, post: &Post) -> Result<(), StoreError>;
    /// Newest first; see `PostQuery` for which index serves which filter.
    async fn list_posts(
        &self,
        query: &PostQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<Post>, StoreError>;
    /// Hides every post of a deleted author from reads and listings.
    async fn hide_author_posts(&self, author_id: &str) -> Result<(), StoreError>;
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
    pub posts: Arc<dyn PostStore>,
}

impl Stores {
    pub fn from_adapter<A: UserStore + SessionStore + PostStore + 'static>(
        adapter: Arc<A>,
    ) -> Self {
        Self {
            users: adapter.clone(),
            sessions: adapter.clone(),
            posts: adapter,
        }
    }
}
