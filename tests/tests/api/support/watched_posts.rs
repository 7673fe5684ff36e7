//! The real post store, watched: it counts the bodies `include=content` reads, and can run a
//! hook right after each listing (to make a race happen every run).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use shared::domain::{Post, PostSummary};
use shared::store::{Page, Position, PostQuery, PostStore, RoleHeld, StoreError};

/// Runs after a listing is read, given the real store and the listed posts.
pub type AfterList =
    Box<dyn Fn(Arc<dyn PostStore>, Vec<PostSummary>) -> BoxFuture<'static, ()> + Send + Sync>;

pub struct WatchedPosts {
    inner: Arc<dyn PostStore>,
    bodies_read: Arc<AtomicUsize>,
    after_list: Option<AfterList>,
}

impl WatchedPosts {
    pub fn new(inner: Arc<dyn PostStore>) -> Self {
        Self {
            inner,
            bodies_read: Arc::default(),
            after_list: None,
        }
    }

    pub fn after_list(self, hook: AfterList) -> Self {
        Self {
            after_list: Some(hook),
            ..self
        }
    }

    /// How many post bodies have been read (`get_posts`), shared with the caller.
    pub fn bodies_read(&self) -> Arc<AtomicUsize> {
        self.bodies_read.clone()
    }
}

#[async_trait]
impl PostStore for WatchedPosts {
    async fn list_posts(
        &self,
        query: &PostQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<PostSummary>, StoreError> {
        let page = self.inner.list_posts(query, after, limit).await?;
        if let Some(hook) = &self.after_list {
            hook(self.inner.clone(), page.items.clone()).await;
        }
        Ok(page)
    }
    async fn get_posts(&self, ids: &[String]) -> Result<Vec<Post>, StoreError> {
        self.bodies_read.fetch_add(ids.len(), Ordering::SeqCst);
        self.inner.get_posts(ids).await
    }
    async fn create_post(&self, post: &Post) -> Result<(), StoreError> {
        self.inner.create_post(post).await
    }
    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        self.inner.get_post(id).await
    }
    async fn update_post(
        &self,
        previous: &Post,
        next: &Post,
        held: Option<&RoleHeld>,
    ) -> Result<(), StoreError> {
        self.inner.update_post(previous, next, held).await
    }
    async fn delete_post(&self, post: &Post, held: Option<&RoleHeld>) -> Result<(), StoreError> {
        self.inner.delete_post(post, held).await
    }
    async fn hide_author_posts_page(
        &self,
        author_id: &str,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Option<Position>, StoreError> {
        self.inner
            .hide_author_posts_page(author_id, after, limit)
            .await
    }
}
