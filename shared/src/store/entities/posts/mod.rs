//! Posts: the main item and one entry per tag under the post's partition (`items`), written
//! together in one transaction; listed from whichever index partition holds exactly what a
//! query lists.

mod items;

use std::collections::HashSet;

use async_trait::async_trait;

use super::TableStore;
use super::paging::{IndexQuery, TableKey};
use super::role_held::role_still_held;
use crate::domain::{Post, PostSummary, Tag};
use crate::store::keys;
use crate::store::table::schema::{GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY};
use crate::store::table::{
    Action, Check, Condition, Delete, Key, Put, Query, Read, TableError, back_off, get_s,
};
use crate::store::{Page, Position, PostQuery, PostStore, RoleHeld, StoreError};
pub(super) use items::post_from_item;
use items::{main_item, summary_from_item, tag_item};

/// Tries of a hide that keeps meeting a concurrent edit.
const HIDE_ATTEMPTS: u32 = 5;

/// What the main item's write requires of the stored post.
enum Expect {
    /// No post with this id yet.
    Absent,
    /// The post at this version, not hidden.
    Version(u64),
}

impl Expect {
    fn condition(self) -> Condition {
        match self {
            Expect::Absent => Condition::item_absent(),
            Expect::Version(expected) => Condition::item_exists()
                .and(Condition::eq("version", expected))
                .and(Condition::eq("authorDeleted", false)),
        }
    }
}

fn resume_at((sort, id): (String, String)) -> Position {
    Position { phase: 0, sort, id }
}

impl TableStore {
    /// Writes `next` (main item and tag entries) and drops tag entries `previous_tags` had, in
    /// one transaction whose main put is conditioned by `expect`; `extra` actions join it.
    async fn write_post(
        &self,
        previous_tags: &[Tag],
        next: &Post,
        expect: Expect,
        extra: Vec<Action>,
    ) -> Result<(), TableError> {
        let main = Put::new(main_item(next, self.listing_shards)).when(expect.condition());
        let mut actions = vec![main.into()];
        if !next.author_deleted {
            let tags = next
                .tags
                .iter()
                .map(|tag| Put::new(tag_item(next, tag, self.listing_shards)).into());
            actions.extend(tags);
        }
        for tag in previous_tags {
            if next.author_deleted || !next.tags.contains(tag) {
                actions.push(Delete::new(keys::post_tag(&next.id, tag)).into());
            }
        }
        actions.extend(extra);
        self.table.transact(actions).await
    }

    /// Every key stored under the post's partition: the main item and each tag entry, whatever
    /// a concurrent edit did to the tags since the post was read.
    async fn post_keys(&self, id: &str) -> Result<Vec<Key>, StoreError> {
        let query = Query::table(keys::post_partition(id))
            .consistent()
            .attributes(&[PARTITION_KEY, SORT_KEY]);
        let page = self.table.query(&query).await?;
        Ok(page.items.iter().map(Key::of).collect::<Result<_, _>>()?)
    }

    /// The post as stored, hidden or not, whatever its author's state.
    async fn stored_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        let item = self.get_consistent(&keys::post(id)).await?;
        item.as_ref().map(post_from_item).transpose()
    }

    /// The posts with these ids as stored, hidden or not, in no particular order.
    async fn stored_posts(&self, ids: &[String]) -> Result<Vec<Post>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Key> = ids.iter().map(|id| keys::post(id)).collect();
        self.table
            .get_many(&keys, Read::Consistent, None)
            .await?
            .iter()
            .map(post_from_item)
            .collect()
    }

    /// Which of these authors are deleted: one strongly consistent batch read of their
    /// profiles (id and deletion mark only), so a read right after a deletion's 204 sees it.
    async fn deleted_authors<'a>(
        &self,
        author_ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut ids: Vec<&str> = author_ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let keys: Vec<Key> = ids.iter().map(|id| keys::user(id)).collect();
        let profiles = self
            .table
            .get_many(&keys, Read::Consistent, Some(&["id", "deletedAt"]))
            .await?;
        let mut deleted = HashSet::new();
        for item in profiles {
            if item.contains_key("deletedAt") {
                deleted.insert(get_s(&item, "id")?);
            }
        }
        Ok(deleted)
    }

    /// Hides one post at the version read; re-reads and tries again if an edit came between.
    async fn hide_post(&self, mut post: Post) -> Result<(), StoreError> {
        for attempt in 0..HIDE_ATTEMPTS {
            let hidden = post.hidden();
            let expect = Expect::Version(post.version);
            match self
                .write_post(&post.tags, &hidden, expect, Vec::new())
                .await
            {
                Ok(()) => return Ok(()),
                Err(TableError::ConditionFailed(_)) => {
                    match self.stored_post(&post.id).await? {
                        Some(current) if !current.author_deleted => post = current,
                        _ => return Ok(()),
                    }
                    back_off(attempt).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict)
    }

    /// The index partitions holding exactly what the query lists, so nothing is filtered: the
    /// shards of the status or tag listing, or an author's one partition.
    fn posts_query(&self, query: &PostQuery) -> Vec<IndexQuery> {
        if query.author.is_some() {
            return vec![self.posts_query_on(query, 0)];
        }
        self.listing_shards
            .all()
            .map(|shard| self.posts_query_on(query, shard))
            .collect()
    }

    /// The query's index partition; `shard` picks one of a status or tag listing's shards.
    fn posts_query_on(&self, query: &PostQuery, shard: u32) -> IndexQuery {
        let status = query.listed_status();
        let (index, partition, table_key): (_, _, TableKey) =
            match (&query.tag, &query.author, query.status) {
                (Some(tag), None, _) => {
                    let tag = tag.clone();
                    let partition = keys::tagged(&tag, status, shard);
                    (
                        GSI1,
                        partition,
                        Box::new(move |id| keys::post_tag(id, &tag)),
                    )
                }
                (Some(tag), Some(author), _) => {
                    let tag = tag.clone();
                    let partition = keys::tagged_by_author(&tag, status, author);
                    (
                        GSI2,
                        partition,
                        Box::new(move |id| keys::post_tag(id, &tag)),
                    )
                }
                (None, Some(author), None) => {
                    (GSI2, keys::posts_by_author(author), Box::new(keys::post))
                }
                (None, Some(author), Some(status)) => (
                    GSI3,
                    keys::posts_by_author_with_status(author, status),
                    Box::new(keys::post),
                ),
                (None, None, _) => (
                    GSI1,
                    keys::posts_with_status(status, shard),
                    Box::new(keys::post),
                ),
            };
        IndexQuery {
            index,
            partition,
            sort_prefix: None,
            filter: None,
            forward: false,
            table_key,
        }
    }
}

#[async_trait]
impl PostStore for TableStore {
    async fn create_post(&self, post: &Post) -> Result<(), StoreError> {
        // The author must still be active when the post commits: a deletion that commits first
        // makes this fail, and one that commits after finds the post in the author index.
        let author_active = Check {
            key: keys::user(&post.author_id),
            condition: Condition::item_exists().and(Condition::absent("deletedAt")),
        };
        // After the main put and one put per tag (a new post drops no tag entries).
        let check_at = 1 + post.tags.len();
        let extra = vec![author_active.into()];
        match self.write_post(&[], post, Expect::Absent, extra).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(failed)) if failed.contains(&check_at) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        let Some(mut post) = self.stored_post(id).await? else {
            return Ok(None);
        };
        // Until the clean-up job has hidden it, a deleted author's post is hidden by reading
        // the author.
        if !post.author_deleted {
            post.author_deleted = !self
                .deleted_authors([post.author_id.as_str()])
                .await?
                .is_empty();
        }
        Ok(Some(post))
    }

    async fn update_post(
        &self,
        previous: &Post,
        next: &Post,
        held: Option<&RoleHeld>,
    ) -> Result<(), StoreError> {
        // Conditioned on `previous.version`: `previous` is exactly what the write replaces.
        let extra = role_still_held(held).into_iter().collect();
        let expect = Expect::Version(previous.version);
        Ok(self.write_post(&previous.tags, next, expect, extra).await?)
    }

    async fn delete_post(&self, post: &Post, held: Option<&RoleHeld>) -> Result<(), StoreError> {
        let main_key = keys::post(&post.id);
        let main = Delete::new(main_key.clone()).when(Condition::eq("version", post.version));
        let mut actions = vec![main.into()];
        for key in self.post_keys(&post.id).await? {
            if key != main_key {
                actions.push(Delete::new(key).into());
            }
        }
        actions.extend(role_still_held(held));
        Ok(self.table.transact(actions).await?)
    }

    async fn get_posts(&self, ids: &[String]) -> Result<Vec<Post>, StoreError> {
        let mut posts = self.stored_posts(ids).await?;
        posts.retain(|post| !post.author_deleted);
        let deleted = self
            .deleted_authors(posts.iter().map(|post| post.author_id.as_str()))
            .await?;
        posts.retain(|post| !deleted.contains(&post.author_id));
        Ok(posts)
    }

    async fn list_posts(
        &self,
        query: &PostQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<PostSummary>, StoreError> {
        let start = after.map(|p| (p.sort.as_str(), p.id.as_str()));
        let page = self
            .query_shards(&self.posts_query(query), start, limit)
            .await?;
        let mut items = page
            .items
            .iter()
            .map(summary_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        // A deleted author's posts stay in the indexes until the clean-up job hides them.
        let deleted = self
            .deleted_authors(items.iter().map(|post| post.author_id.as_str()))
            .await?;
        items.retain(|post| !deleted.contains(&post.author_id));
        let next = page.resume.map(resume_at);
        Ok(Page { items, next })
    }

    async fn hide_author_posts_page(
        &self,
        author_id: &str,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Option<Position>, StoreError> {
        let query = PostQuery::by_author(author_id, None);
        let start = after.map(|p| (p.sort.as_str(), p.id.as_str()));
        let page = self
            .query_shards(&self.posts_query(&query), start, limit.max(1))
            .await?;
        let ids = page
            .items
            .iter()
            .map(|item| get_s(item, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        // Index entries hold no body and the write needs the whole post: one batch read for
        // the page. An entry the index still shows for a post already hidden is skipped.
        for post in self.stored_posts(&ids).await? {
            if !post.author_deleted && post.author_id == author_id {
                self.hide_post(post).await?;
            }
        }
        Ok(page.resume.map(resume_at))
    }
}
