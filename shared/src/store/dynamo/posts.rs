use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};

use super::DynamoStore;
use super::item::{Item, corrupt, get_n, get_opt_n, get_s, key, n, s};
use super::query::{Filter, IndexQuery};
use super::retry::{WriteError, back_off};
use super::schema::{GSI1, GSI2};
use super::users::user_pk;
use crate::domain::{Post, PostContent, PostStatus, PostTitle, Tag};
use crate::store::{Page, Position, PostQuery, PostStore, StoreError};

fn post_pk(id: &str) -> String {
    format!("POST#{id}")
}

fn main_key(id: &str) -> Item {
    key(post_pk(id), "POST")
}

fn tag_key(id: &str, tag: &Tag) -> Item {
    key(post_pk(id), format!("TAG#{}", tag.as_str()))
}

fn attributes(post: &Post) -> Item {
    let tags = post.tags.iter().map(|t| s(t.as_str())).collect();
    let mut item = Item::from([
        ("id".to_owned(), s(&post.id)),
        ("authorId".to_owned(), s(&post.author_id)),
        ("title".to_owned(), s(post.title.as_str())),
        ("content".to_owned(), s(post.content.as_str())),
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

/// The post itself; listed by status and by author unless its author was deleted.
fn main_item(post: &Post) -> Item {
    let mut item = main_key(&post.id);
    item.insert("type".to_owned(), s("post"));
    item.extend(attributes(post));
    if !post.author_deleted {
        item.extend([
            (
                GSI1.partition_key.to_owned(),
                s(format!("STATUS#{}", post.status)),
            ),
            (GSI1.sort_key.to_owned(), s(post.feed_key())),
            (
                GSI2.partition_key.to_owned(),
                s(format!("AUTHOR#{}", post.author_id)),
            ),
            (GSI2.sort_key.to_owned(), s(post.author_key())),
        ]);
    }
    item
}

/// One entry per tag, a full copy of the post, so a tag listing needs no second read.
fn tag_item(post: &Post, tag: &Tag) -> Item {
    let mut item = tag_key(&post.id, tag);
    item.insert("type".to_owned(), s("post_tag"));
    item.extend(attributes(post));
    item.extend([
        (
            GSI1.partition_key.to_owned(),
            s(tag_partition(tag, post.status)),
        ),
        (GSI1.sort_key.to_owned(), s(post.feed_key())),
    ]);
    item
}

fn tag_partition(tag: &Tag, status: PostStatus) -> String {
    format!("TAG#{}#{status}", tag.as_str())
}

fn post_from_item(item: &Item) -> Result<Post, StoreError> {
    let tags = match item.get("tags") {
        Some(AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| v.as_s().ok().cloned())
            .collect(),
        _ => Vec::new(),
    };
    Ok(Post {
        id: get_s(item, "id")?,
        author_id: get_s(item, "authorId")?,
        title: PostTitle::parse(get_s(item, "title")?).map_err(corrupt)?,
        content: PostContent::parse(get_s(item, "content")?).map_err(corrupt)?,
        status: PostStatus::parse(get_s(item, "status")?).map_err(corrupt)?,
        tags: Tag::parse_list(tags).map_err(corrupt)?,
        published_at: get_opt_n(item, "publishedAt")?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
        author_deleted: matches!(item.get("authorDeleted"), Some(AttributeValue::Bool(true))),
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

    /// Hides one post at the version read; re-reads and tries again if an edit came between.
    async fn hide_post(&self, mut post: Post) -> Result<(), StoreError> {
        for attempt in 0..5 {
            match self
                .write_post(
                    &post.tags,
                    &post.hidden(),
                    Expect::Version(post.version),
                    vec![],
                )
                .await
            {
                Ok(()) => return Ok(()),
                Err(WriteError::Condition(_)) => {
                    match self.get_post(&post.id).await? {
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

    fn posts_query(&self, query: &PostQuery) -> IndexQuery {
        let status = query.listed_status();
        match (&query.tag, &query.author) {
            (Some(tag), author) => {
                let tag = tag.clone();
                IndexQuery {
                    index: GSI1,
                    partition: tag_partition(&tag, status),
                    sort_prefix: None,
                    filter: author.as_ref().map(|author| Filter {
                        expression: "#authorId = :authorId",
                        names: vec![("#authorId", "authorId")],
                        values: vec![(":authorId", s(author))],
                    }),
                    forward: false,
                    table_key: Box::new(move |id| tag_key(id, &tag)),
                }
            }
            (None, Some(author)) => IndexQuery {
                index: GSI2,
                partition: format!("AUTHOR#{author}"),
                sort_prefix: None,
                filter: query.status.map(|status| Filter {
                    expression: "#status = :status",
                    names: vec![("#status", "status")],
                    values: vec![(":status", s(status.as_str()))],
                }),
                forward: false,
                table_key: Box::new(main_key),
            },
            (None, None) => IndexQuery {
                index: GSI1,
                partition: format!("STATUS#{status}"),
                sort_prefix: None,
                filter: None,
                forward: false,
                table_key: Box::new(main_key),
            },
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
        match self
            .write_post(&[], post, Expect::Absent, vec![check])
            .await
        {
            Ok(()) => Ok(()),
            Err(WriteError::Condition(failed)) if failed.contains(&check_at) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into_store_error()),
        }
    }

    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        let item = self.get_consistent(main_key(id)).await?;
        item.as_ref().map(post_from_item).transpose()
    }

    async fn update_post(&self, previous: &Post, next: &Post) -> Result<(), StoreError> {
        self.write_post(
            &previous.tags,
            next,
            Expect::Version(previous.version),
            vec![],
        )
        .await
        .map_err(WriteError::into_store_error)
    }

    async fn delete_post(&self, post: &Post) -> Result<(), StoreError> {
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
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)
    }

    async fn list_posts(
        &self,
        query: &PostQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<Post>, StoreError> {
        let index_query = self.posts_query(query);
        let start = after.map(|p| (p.sort.as_str(), p.id.as_str()));
        let (items, more) = self.query_index(&index_query, start, limit).await?;
        let posts = items
            .iter()
            .map(post_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let sort_key = index_query.index.sort_key;
        let next = match items.last() {
            Some(last) if more => Some(Position {
                phase: 0,
                sort: get_s(last, sort_key)?,
                id: get_s(last, "id")?,
            }),
            _ => None,
        };
        Ok(Page { items: posts, next })
    }

    async fn hide_author_posts(&self, author_id: &str) -> Result<(), StoreError> {
        let query = PostQuery::by_author(author_id, None);
        // Hidden posts leave the author index, so every round starts from the top again.
        loop {
            let (items, _) = self
                .query_index(&self.posts_query(&query), None, 25)
                .await?;
            if items.is_empty() {
                return Ok(());
            }
            for item in &items {
                self.hide_post(post_from_item(item)?).await?;
            }
        }
    }
}
