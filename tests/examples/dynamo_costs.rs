//! What a post costs in DynamoDB: write units per edit and bytes per listing page, for a post
//! near the content limit with the most tags. Run against an emulator (`scripts/bench-dynamo-costs`).
//!
//! moto's `ReturnConsumedCapacity` is a constant (1.0 for a single write, nothing for a
//! transaction), so the units here come from the stored items themselves, sized by DynamoDB's
//! documented rules: an item's size is the UTF-8 length of each attribute name plus its value; a
//! transactional write costs 2 units per started KiB of each item; each index entry an item
//! carries costs 1 unit per started KiB of what the index projects.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ProjectionType};
use shared::domain::{
    DisplayName, Email, MAX_CONTENT_CHARS, MAX_TAGS, NewPost, Post, PostChanges, PostContent,
    PostStatus, PostTitle, Tag, User,
};
use shared::http::PostSummaryView;
use shared::store::entities::{DEFAULT_LISTING_SHARDS, TableStore};
use shared::store::keys::{self, ListingShards};
use shared::store::table::dynamodb::{DynamoTable, create_table};
use shared::store::table::schema;
use shared::store::{Effects, PostQuery, PostStore, UserStore};

type Item = HashMap<String, AttributeValue>;

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        // Numbers: about one byte per two significant digits, plus one.
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        _ => 0,
    }
}

fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize) -> usize {
    bytes.div_ceil(1024).max(1)
}

/// The part of `item` an index stores: its keys, the table keys, and the projected attributes
/// (`None`: all of them).
fn index_entry(item: &Item, index: &schema::IndexDef, projected: Option<&[String]>) -> Item {
    item.iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            [
                schema::PARTITION_KEY,
                schema::SORT_KEY,
                index.partition_key,
                index.sort_key,
            ]
            .contains(&name)
                || projected.is_none_or(|names| names.iter().any(|n| n == name))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Each index's projected attributes as the table describes them (`None`: all).
async fn projections(client: &Client, table: &str) -> HashMap<String, Option<Vec<String>>> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let indexes = described
        .table
        .unwrap()
        .global_secondary_indexes
        .unwrap_or_default();
    indexes
        .into_iter()
        .map(|index| {
            let projection = index.projection.unwrap();
            let attributes = match projection.projection_type {
                Some(ProjectionType::All) => None,
                _ => Some(projection.non_key_attributes.unwrap_or_default()),
            };
            (index.index_name.unwrap(), attributes)
        })
        .collect()
}

/// Write units of writing every item of the post's partition once, transactionally, with the
/// index entries each carries.
fn write_units(
    items: &[Item],
    projections: &HashMap<String, Option<Vec<String>>>,
) -> (usize, usize) {
    let mut table = 0;
    let mut indexes = 0;
    for item in items {
        table += 2 * units(item_size(item));
        for index in schema::INDEXES {
            if item.contains_key(index.partition_key) {
                let projected = projections[index.name].as_deref();
                indexes += units(item_size(&index_entry(item, index, projected)));
            }
        }
    }
    (table, indexes)
}

async fn partition(client: &Client, table: &str, id: &str) -> Vec<Item> {
    client
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", "PK")
        .expression_attribute_values(":pk", AttributeValue::S(format!("POST#{id}")))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

/// Bytes of the items the index queries for a page of the listing return: one query per shard
/// of the feed and tag listings (each reading a page and one more), one for an author's.
async fn index_page_bytes(
    client: &Client,
    table: &str,
    listing: &str,
    query: &PostQuery,
    author: &str,
    page_size: i32,
) -> usize {
    let shards = ListingShards::new(DEFAULT_LISTING_SHARDS);
    let (index, partitions): (_, Vec<String>) = match listing {
        "feed" => (
            "GSI1",
            shards
                .all()
                .map(|shard| keys::posts_with_status(PostStatus::Published, shard))
                .collect(),
        ),
        "tag" => (
            "GSI1",
            shards
                .all()
                .map(|shard| {
                    keys::tagged(query.tag.as_ref().unwrap(), PostStatus::Published, shard)
                })
                .collect(),
        ),
        _ => ("GSI2", vec![keys::posts_by_author(author)]),
    };
    let mut bytes = 0;
    for partition in partitions {
        let output = client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", format!("{index}PK"))
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .limit(page_size + 1)
            .send()
            .await
            .unwrap();
        bytes += output.items().iter().map(item_size).sum::<usize>();
    }
    bytes
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::main]
async fn main() {
    let client = Client::new(&aws_config::load_from_env().await);
    let table = format!("costs-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.unwrap();
    let store = TableStore::new(std::sync::Arc::new(DynamoTable::new(
        client.clone(),
        &table,
    )));

    let author = User::new(
        Email::parse("costs@example.com").unwrap(),
        DisplayName::parse("Costs").unwrap(),
        "$argon2id$not-a-real-hash".into(),
        now_ms(),
    );
    store.create_user(&author, &Effects::none()).await.unwrap();
    let tags: Vec<Tag> = (0..MAX_TAGS)
        .map(|i| Tag::parse(format!("tag-{i}")).unwrap())
        .collect();
    let page_size = 20;
    let mut last = None;
    for i in 0..page_size {
        let post = Post::new(
            &author.id,
            NewPost {
                title: PostTitle::parse(format!("Post number {i}")).unwrap(),
                content: PostContent::parse("x".repeat(MAX_CONTENT_CHARS)).unwrap(),
                status: Some(PostStatus::Published),
                tags: Some(tags.clone()),
            },
            now_ms(),
        );
        store.create_post(&post).await.unwrap();
        last = Some(post);
    }
    let post = last.unwrap();
    let edited = post.edited(
        PostChanges {
            title: Some(PostTitle::parse("Edited").unwrap()),
            ..Default::default()
        },
        now_ms(),
    );
    store.update_post(&post, &edited, None).await.unwrap();

    let items = partition(&client, &table, &post.id).await;
    let (table_units, index_units) = write_units(&items, &projections(&client, &table).await);
    let partition_bytes: usize = items.iter().map(item_size).sum();
    println!(
        "one edit of a {MAX_CONTENT_CHARS}-character post with {MAX_TAGS} tags: {} items, {partition_bytes} bytes, \
         {table_units} table write units + {index_units} index write units = {}",
        items.len(),
        table_units + index_units
    );

    for (name, query) in [
        ("feed", PostQuery::feed(None, None, None)),
        ("tag", PostQuery::feed(None, Some(tags[0].clone()), None)),
        ("author", PostQuery::by_author(&author.id, None)),
    ] {
        let page = store.list_posts(&query, None, page_size).await.unwrap();
        let index_bytes =
            index_page_bytes(&client, &table, name, &query, &author.id, page_size as i32).await;
        let json = serde_json::to_vec(
            &page
                .items
                .iter()
                .map(PostSummaryView::from)
                .collect::<Vec<_>>(),
        )
        .unwrap()
        .len();
        println!(
            "{name} listing, page of {}: {index_bytes} bytes read from the index, {json} bytes of JSON",
            page.items.len()
        );
    }
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
}
