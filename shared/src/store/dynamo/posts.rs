use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem,
};

use super::DynamoStore;
use super::item::{Item, corrupt, get_n, get_opt_n, get_s, key, n, s};
use super::metrics::counter_updates;
use super::query::{IndexQuery, TableKey};
use super::retry::{WriteError, back_off};
use super::schema::{GSI1, GSI2, GSI3};
use super::users::{role_still_held, user_pk};
use crate::domain::{Post, PostContent, PostStatus, PostSummary, PostTitle, Tag, excerpt};
use crate::metrics::counts;
use crate::store::{Page, Position, PostQuery, PostStore, RoleHeld, StoreError};

fn post_pk(id: &str) -> String {
    format!("POST#{id}")
}

fn main_key(id: &str) -> Item {
    key(post_pk(id), "POST")
}

fn tag_key(id: &str, tag: &Tag) -> Item {
    key(post_pk(id), format!("TAG#{}", tag.as_str()))
}

/// What listings show: every attribute but the body, with an excerpt in its place.
fn listed_attributes(post: &Post) -> Item {
    let tags = post.tags.iter().map(|t| s(t.as_str())).collect();
    let mut item = Item::from([
        ("id".to_owned(), s(&post.id)),
        ("authorId".to_owned(), s(&post.author_id)),
        ("title".to_owned(), s(post.title.as_str())),
        ("excerpt".to_owned(), s(excerpt(post.content.as_str()))),
        ("status".to_owned(), s(post.status.as_str())),
        ("tags".to_owned(), AttributeValue::L(tags)),
        ("createdAt".to_owned(), n(post.created_at)),
        ("updatedAt".to_owned(), n(post.updated_at)),
        ("version".to_owned(), n(post.version)),
        (
            "authorDeleted".to_owned(),
            AttributeValue::Bool(post.author_deleted),
        ),
    ]);
    if let Some(published_at) = post.published_at {
        item.insert("publishedAt".to_owned(), n(published_at));
    }
    item
}

/// The post itself, with its body; listed by status and by author (and author and status)
/// unless its author was deleted.
fn main_item(post: &Post) -> Item {
    let mut item = main_key(&post.id);
    item.insert("type".to_owned(), s("post"));
    item.extend(listed_attributes(post));
    item.insert("content".to_owned(), s(post.content.as_str()));
    if !post.author_deleted {
        item.extend([
            (
                GSI1.partition_key.to_owned(),
                s(format!("STATUS#{}", post.status)),
            ),
            (GSI1.sort_key.to_owned(), s(post.feed_key())),
            (
                GSI2.partition_key.to_owned(),
                s(author_partition(&post.author_id)),
            ),
            (GSI2.sort_key.to_owned(), s(post.author_key())),
            (
                GSI3.partition_key.to_owned(),
                s(author_status_partition(&post.author_id, post.status)),
            ),
            (GSI3.sort_key.to_owned(), s(post.author_key())),
        ]);
    }
    item
}

/// One entry per tag, listed by tag and by tag and author; no body.
fn tag_item(post: &Post, tag: &Tag) -> Item {
    let mut item = tag_key(&post.id, tag);
    item.insert("type".to_owned(), s("post_tag"));
    item.extend(listed_attributes(post));
    item.extend([
        (
            GSI1.partition_key.to_owned(),
            s(tag_partition(tag, post.status)),
        ),
        (GSI1.sort_key.to_owned(), s(post.feed_key())),
        (
            GSI2.partition_key.to_owned(),
            s(tag_author_partition(tag, post.status, &post.author_id)),
        ),
        (GSI2.sort_key.to_owned(), s(post.feed_key())),
    ]);
    item
}

fn tag_partition(tag: &Tag, status: PostStatus) -> String {
    format!("TAG#{}#{status}", tag.as_str())
}

fn tag_author_partition(tag: &Tag, status: PostStatus, author_id: &str) -> String {
    format!("TAG#{}#{status}#AUTHOR#{author_id}", tag.as_str())
}

fn author_partition(author_id: &str) -> String {
    format!("AUTHOR#{author_id}")
}

fn author_status_partition(author_id: &str, status: PostStatus) -> String {
    format!("AUTHOR#{author_id}#{status}")
}

fn tags_of(item: &Item) -> Result<Vec<Tag>, StoreError> {
    let tags = match item.get("tags") {
        Some(AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| v.as_s().ok().cloned())
            .collect(),
        _ => Vec::new(),
    };
    Tag::parse_list(tags).map_err(corrupt)
}

fn post_from_item(item: &Item) -> Result<Post, StoreError> {
    Ok(Post {
        id: get_s(item, "id")?,
        author_id: get_s(item, "authorId")?,
        title: PostTitle::parse(get_s(item, "title")?).map_err(corrupt)?,
        content: PostContent::parse(get_s(item, "content")?).map_err(corrupt)?,
        status: PostStatus::parse(get_s(item, "status")?).map_err(corrupt)?,
        tags: tags_of(item)?,
        published_at: get_opt_n(item, "publishedAt")?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
        author_deleted: matches!(item.get("authorDeleted"), Some(AttributeValue::Bool(true))),
    })
}

/// A listing entry (an index entry of a post or a tag entry) as a summary.
fn summary_from_item(item: &Item) -> Result<PostSummary, StoreError> {
    Ok(PostSummary {
        id: get_s(item, "id")?,
        author_id: get_s(item, "authorId")?,
        title: PostTitle::parse(get_s(item, "title")?).map_err(corrupt)?,
        excerpt: get_s(item, "excerpt")?,
        status: PostStatus::parse(get_s(item, "status")?).map_err(corrupt)?,
        tags: tags_of(item)?,
        published_at: get_opt_n(item, "publishedAt")?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
    })
}

fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn delete(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .build()?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// What the main item's write requires of the stored post.
enum Expect {
    /// No post with this id yet.
    Absent,
    /// The post at this version, not hidden.
    Version(u64),
}

impl DynamoStore {
    /// Writes `next` (main item and tag entries) and drops tag entries `previous_tags` had, in
    /// one transaction whose main put is conditioned by `expect`; `extra` items join it.
    async fn write_post(
        &self,
        previous_tags: &[Tag],
        next: &Post,
        expect: Expect,
        extra: Vec<TransactWriteItem>,
    ) -> Result<(), WriteError> {
        let main = Put::builder()
            .table_name(&self.table)
            .set_item(Some(main_item(next)))
            .expression_attribute_names("#pk", "PK");
        let main = match expect {
            Expect::Absent => main.condition_expression("attribute_not_exists(#pk)"),
            Expect::Version(expected) => main
                .condition_expression(
                    "attribute_exists(#pk) AND #version = :expected AND #hidden = :false",
                )
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#hidden", "authorDeleted")
                .expression_attribute_values(":expected", n(expected))
                .expression_attribute_values(":false", AttributeValue::Bool(false)),
        };
        let mut items = vec![TransactWriteItem::builder().put(main.build()?).build()];
        if !next.author_deleted {
            for tag in &next.tags {
                items.push(put(&self.table, tag_item(next, tag))?);
            }
        }
        for tag in previous_tags {
            if next.author_deleted || !next.tags.contains(tag) {
                items.push(delete(&self.table, tag_key(&next.id, tag))?);
            }
        }
        items.extend(extra);
        self.transact(items).await
    }

    /// Every sort key stored under the post's partition: the main item and each tag entry,
    /// whatever a concurrent edit did to the tags since the post was read.
    async fn post_sort_keys(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .projection_expression("#sk")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#sk", "SK")
            .expression_attribute_values(":pk", s(post_pk(id)))
            .consistent_read(true)
            .send()
            .await?;
        output
            .items()
            .iter()
            .map(|item| get_s(item, "SK"))
            .collect()
    }

    /// The post as stored, hidden or not, whatever its author's state.
    async fn stored_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        let item = self.get_consistent(main_key(id)).await?;
        item.as_ref().map(post_from_item).transpose()
    }

    /// The items at these keys (at most one read round per 100 keys, plus rounds for what
    /// throttling left unprocessed), with only `projection`'s attributes when given.
    async fn batch_get(
        &self,
        keys: Vec<Item>,
        projection: Option<(&str, &[(&str, &str)])>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut keys = chunk.to_vec();
            let mut attempt = 0;
            while !keys.is_empty() {
                let mut request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true);
                if let Some((expression, names)) = projection {
                    request = request.projection_expression(expression);
                    for (placeholder, name) in names {
                        request = request.expression_attribute_names(*placeholder, *name);
                    }
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request.build()?)
                    .send()
                    .await?;
                let items = output.responses.and_then(|mut r| r.remove(&self.table));
                found.extend(items.unwrap_or_default());
                // Throttling or the 16 MB response limit leaves keys for another round.
                keys = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    if attempt >= 5 {
                        return Err(StoreError::Unavailable(
                            "batch read left keys unprocessed".into(),
                        ));
                    }
                    back_off(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }

    /// The posts with these ids as stored, hidden or not, in no particular order.
    async fn stored_posts(&self, ids: &[String]) -> Result<Vec<Post>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let keys = ids.iter().map(|id| main_key(id)).collect();
        self.batch_get(keys, None)
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
        let keys = ids.iter().map(|id| key(user_pk(id), "PROFILE")).collect();
        let projection = (
            "#id, #deletedAt",
            &[("#id", "id"), ("#deletedAt", "deletedAt")][..],
        );
        let mut deleted = HashSet::new();
        for item in self.batch_get(keys, Some(projection)).await? {
            if item.contains_key("deletedAt") {
                deleted.insert(get_s(&item, "id")?);
            }
        }
        Ok(deleted)
    }

    /// Hides one post at the version read; re-reads and tries again if an edit came between.
    async fn hide_post(&self, mut post: Post) -> Result<(), StoreError> {
        for attempt in 0..5 {
            // A hidden post leaves the dashboard's totals, in the same transaction.
            let uncounted = counter_updates(
                &self.table,
                self.counter_shards,
                &counts::post_deleted(&post),
            )?;
            match self
                .write_post(
                    &post.tags,
                    &post.hidden(),
                    Expect::Version(post.version),
                    uncounted,
                )
                .await
            {
                Ok(()) => return Ok(()),
                Err(WriteError::Condition(_)) => {
                    match self.stored_post(&post.id).await? {
                        Some(current) if !current.author_deleted => post = current,
                        _ => return Ok(()),
                    }
                    back_off(attempt).await;
                }
                Err(WriteError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// The index partition holding exactly what the query lists, so nothing is filtered.
    fn posts_query(&self, query: &PostQuery) -> IndexQuery {
        let status = query.listed_status();
        let (index, partition, table_key): (_, _, TableKey) =
            match (&query.tag, &query.author, query.status) {
                (Some(tag), None, _) => {
                    let tag = tag.clone();
                    let partition = tag_partition(&tag, status);
                    (GSI1, partition, Box::new(move |id| tag_key(id, &tag)))
                }
                (Some(tag), Some(author), _) => {
                    let tag = tag.clone();
                    let partition = tag_author_partition(&tag, status, author);
                    (GSI2, partition, Box::new(move |id| tag_key(id, &tag)))
                }
                (None, Some(author), None) => (GSI2, author_partition(author), Box::new(main_key)),
                (None, Some(author), Some(status)) => (
                    GSI3,
                    author_status_partition(author, status),
                    Box::new(main_key),
                ),
                (None, None, _) => (GSI1, format!("STATUS#{status}"), Box::new(main_key)),
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
impl PostStore for DynamoStore {
    async fn create_post(&self, post: &Post) -> Result<(), StoreError> {
        // The author must still be active when the post commits: a deletion that commits first
        // makes this fail, and one that commits after finds the post in the author index.
        let author_active = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(&post.author_id), "PROFILE")))
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#deletedAt)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#deletedAt", "deletedAt")
            .build()?;
        let check = TransactWriteItem::builder()
            .condition_check(author_active)
            .build();
        let check_at = 1 + post.tags.len();
        let mut extra = vec![check];
        extra.extend(counter_updates(
            &self.table,
            self.counter_shards,
            &counts::post_created(post),
        )?);
        match self.write_post(&[], post, Expect::Absent, extra).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition(failed)) if failed.contains(&check_at) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into_store_error()),
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
        let deltas = counts::post_changed(previous, next);
        let mut counted = counter_updates(&self.table, self.counter_shards, &deltas)?;
        counted.extend(role_still_held(&self.table, held)?);
        self.write_post(
            &previous.tags,
            next,
            Expect::Version(previous.version),
            counted,
        )
        .await
        .map_err(WriteError::into_store_error)
    }

    async fn delete_post(&self, post: &Post, held: Option<&RoleHeld>) -> Result<(), StoreError> {
        let main = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(main_key(&post.id)))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(post.version))
            .build()?;
        let mut items = vec![TransactWriteItem::builder().delete(main).build()];
        for sort_key in self.post_sort_keys(&post.id).await? {
            if sort_key != "POST" {
                items.push(delete(&self.table, key(post_pk(&post.id), sort_key))?);
            }
        }
        items.extend(counter_updates(
            &self.table,
            self.counter_shards,
            &counts::post_deleted(post),
        )?);
        items.extend(role_still_held(&self.table, held)?);
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)
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
            .query_index(&self.posts_query(query), start, limit)
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
        let next = page
            .resume
            .map(|(sort, id)| Position { phase: 0, sort, id });
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
            .query_index(&self.posts_query(&query), start, limit.max(1))
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
        Ok(page
            .resume
            .map(|(sort, id)| Position { phase: 0, sort, id }))
    }
}
