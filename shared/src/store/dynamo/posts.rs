use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::DynamoStore;
use super::item::{Item, get_n, get_opt_n, get_s, key, n, s};
use super::query::{Filter, IndexQuery};
use super::schema::{GSI1, GSI2};
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
    let invalid = |e: crate::domain::Invalid| StoreError::Backend(e.message);
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
        title: PostTitle::parse(get_s(item, "title")?).map_err(invalid)?,
        content: PostContent::parse(get_s(item, "content")?).map_err(invalid)?,
        status: PostStatus::parse(get_s(item, "status")?).map_err(invalid)?,
        tags: Tag::parse_list(tags).map_err(invalid)?,
        published_at: get_opt_n(item, "publishedAt")?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
        author_deleted: matches!(item.get("authorDeleted"), Some(AttributeValue::Bool(true))),
    })
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn delete(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl DynamoStore {
    /// Writes `next` (main item and tag entries) and drops tag entries `previous` had. The main
    /// item's write is conditional on `condition`.
    async fn write_post(
        &self,
        previous_tags: &[Tag],
        next: &Post,
        condition: (&str, Option<u64>),
    ) -> Result<(), StoreError> {
        let mut main = Put::builder()
            .table_name(&self.table)
            .set_item(Some(main_item(next)))
            .condition_expression(condition.0)
            .expression_attribute_names("#pk", "PK");
        if let Some(expected) = condition.1 {
            main = main
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", n(expected));
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .put(main.build().map_err(build_error)?)
                .build(),
        ];
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
        self.transact_or_conflict(items).await
    }

    fn posts_query(&self, query: &PostQuery) -> IndexQuery {
        let status = query.status.unwrap_or(PostStatus::Published);
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
        self.write_post(&[], post, ("attribute_not_exists(#pk)", None))
            .await
    }

    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        let item = self.get_consistent(main_key(id)).await?;
        item.as_ref().map(post_from_item).transpose()
    }

    async fn update_post(&self, previous: &Post, next: &Post) -> Result<(), StoreError> {
        self.write_post(
            &previous.tags,
            next,
            (
                "attribute_exists(#pk) AND #version = :expected",
                Some(previous.version),
            ),
        )
        .await
    }

    async fn delete_post(&self, post: &Post) -> Result<(), StoreError> {
        let mut items = vec![delete(&self.table, main_key(&post.id))?];
        for tag in &post.tags {
            items.push(delete(&self.table, tag_key(&post.id, tag))?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await?;
        Ok(())
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
        let query = PostQuery {
            author: Some(author_id.to_owned()),
            tag: None,
            status: None,
        };
        // Hidden posts leave the author index, so every round starts from the top again.
        loop {
            let (items, _) = self
                .query_index(&self.posts_query(&query), None, 25)
                .await?;
            if items.is_empty() {
                return Ok(());
            }
            for item in &items {
                let post = post_from_item(item)?;
                let hidden = Post {
                    author_deleted: true,
                    ..post.clone()
                };
                match self
                    .write_post(&post.tags, &hidden, ("attribute_exists(#pk)", None))
                    .await
                {
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}
