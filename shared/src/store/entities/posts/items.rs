//! A post as items: the main item (`POST#<id>` / `POST`, with the body) and one entry per tag
//! (`POST#<id>` / `TAG#<tag>`, listing fields only), and back.

use crate::domain::{Post, PostContent, PostStatus, PostSummary, PostTitle, Tag, excerpt};
use crate::store::StoreError;
use crate::store::entities::corrupt;
use crate::store::keys::{self, ListingShards};
use crate::store::table::schema::{GSI1, GSI2, GSI3};
use crate::store::table::{Item, Key, Value, get_bool, get_n, get_opt_n, get_s, item};

/// Sets these attributes of `item`.
fn set<const N: usize>(item: &mut Item, attributes: [(&str, Value); N]) {
    item.extend(attributes.map(|(name, value)| (name.to_owned(), value)));
}

/// An item at `key` holding what listings show: every attribute but the body, with an excerpt
/// in its place.
fn listed_item(key: &Key, kind: &str, post: &Post) -> Item {
    let tags = post.tags.iter().map(|t| Value::from(t.as_str())).collect();
    let mut item = item(
        key,
        [
            ("type", kind.into()),
            ("id", (&post.id).into()),
            ("authorId", (&post.author_id).into()),
            ("title", post.title.as_str().into()),
            ("excerpt", excerpt(post.content.as_str()).into()),
            ("status", post.status.as_str().into()),
            ("tags", Value::L(tags)),
            ("createdAt", post.created_at.into()),
            ("updatedAt", post.updated_at.into()),
            ("version", post.version.into()),
            ("authorDeleted", post.author_deleted.into()),
        ],
    );
    if let Some(published_at) = post.published_at {
        item.insert("publishedAt".to_owned(), published_at.into());
    }
    item
}

/// The post itself, with its body; listed by status (in the shard its id maps to) and by
/// author (and author and status) unless its author was deleted.
pub(super) fn main_item(post: &Post, shards: ListingShards) -> Item {
    let mut item = listed_item(&keys::post(&post.id), "post", post);
    set(&mut item, [("content", post.content.as_str().into())]);
    if !post.author_deleted {
        let by_author = keys::posts_by_author_with_status(&post.author_id, post.status);
        set(
            &mut item,
            [
                (
                    GSI1.partition_key,
                    keys::posts_with_status(post.status, shards.of(&post.id)).into(),
                ),
                (GSI1.sort_key, keys::post_feed_sort(post).into()),
                (
                    GSI2.partition_key,
                    keys::posts_by_author(&post.author_id).into(),
                ),
                (GSI2.sort_key, keys::post_author_sort(post).into()),
                (GSI3.partition_key, by_author.into()),
                (GSI3.sort_key, keys::post_author_sort(post).into()),
            ],
        );
    }
    item
}

/// One entry per tag, listed by tag (in the shard the post's id maps to) and by tag and
/// author; no body.
pub(super) fn tag_item(post: &Post, tag: &Tag, shards: ListingShards) -> Item {
    let mut item = listed_item(&keys::post_tag(&post.id, tag), "post_tag", post);
    let by_author = keys::tagged_by_author(tag, post.status, &post.author_id);
    set(
        &mut item,
        [
            (
                GSI1.partition_key,
                keys::tagged(tag, post.status, shards.of(&post.id)).into(),
            ),
            (GSI1.sort_key, keys::post_feed_sort(post).into()),
            (GSI2.partition_key, by_author.into()),
            (GSI2.sort_key, keys::post_feed_sort(post).into()),
        ],
    );
    item
}

/// The stored tags; anything but a list of strings reads as no tags, and a non-string element
/// is skipped.
fn tags_of(item: &Item) -> Result<Vec<Tag>, StoreError> {
    let tags = match item.get("tags") {
        Some(Value::L(values)) => values
            .iter()
            .filter_map(|v| match v {
                Value::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Tag::parse_list(tags).map_err(corrupt)
}

pub(in crate::store::entities) fn post_from_item(item: &Item) -> Result<Post, StoreError> {
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
        author_deleted: get_bool(item, "authorDeleted"),
    })
}

/// A listing entry (an index entry of a post or a tag entry) as a summary.
pub(super) fn summary_from_item(item: &Item) -> Result<PostSummary, StoreError> {
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
