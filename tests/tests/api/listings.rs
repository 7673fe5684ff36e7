//! Listings that stay small and cheap: summaries with excerpts (bodies on request), pages capped
//! by bytes, and DynamoDB queries that read only what they return.

use crate::support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::types::{AttributeValue, ProjectionType};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::config::Config;
use shared::domain::EXCERPT_CHARS;
use support::watched_posts::WatchedPosts;
use support::{Account, Call, TestApp, account, assert_problem, body_json};

const PAGE_MAX_BYTES: usize = posts::PAGE_MAX_BYTES;

async fn create_post(app: &TestApp, author: &Account, body: Value) -> String {
    let response = Call::new(Method::POST, "/api/posts")
        .token(&author.access)
        .json(body)
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body_json(&response)["id"].as_str().unwrap().to_owned()
}

async fn get_json(app: &TestApp, path: &str, token: Option<&str>) -> (Value, usize) {
    let mut call = Call::new(Method::GET, path);
    if let Some(token) = token {
        call = call.token(token);
    }
    let response = call.send(app).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    (body_json(&response), response.body().len())
}

async fn listings_show_excerpts_and_bodies_on_request(app: TestApp) {
    let author = account(&app, "excerpt@example.com", "Excerpt").await;
    let content = format!("First   line\n\n{}", "word ".repeat(200));
    let id = create_post(
        &app,
        &author,
        json!({ "title": "Long", "content": content, "status": "published", "tags": ["long"] }),
    )
    .await;

    for path in [
        "/api/posts".to_owned(),
        "/api/posts?tag=long".to_owned(),
        format!("/api/users/{}/posts", author.id),
    ] {
        let (page, _) = get_json(&app, &path, None).await;
        let listed = &page["data"][0];
        assert_eq!(listed["id"], id.as_str(), "{path}");
        assert!(
            listed.get("content").is_none(),
            "{path}: no body in a listing"
        );
        let excerpt = listed["excerpt"].as_str().unwrap();
        assert!(excerpt.starts_with("First line word word"), "{excerpt}");
        assert!(excerpt.ends_with('…'));
        assert!(excerpt.chars().count() <= EXCERPT_CHARS + 1);

        let sep = if path.contains('?') { '&' } else { '?' };
        let (full, _) = get_json(&app, &format!("{path}{sep}include=content"), None).await;
        assert_eq!(full["data"][0]["content"], content.as_str(), "{path}");
    }
    let bad = Call::new(Method::GET, "/api/posts?include=everything")
        .send(&app)
        .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "invalid_include");
}

/// Bodies at the content limit (50,000 four-byte characters): a page with bodies ends before
/// Lambda's response limit and its cursor resumes after the last post that fit, so every post is
/// listed exactly once; and the bodies are read only about as far as the page goes.
async fn pages_with_bodies_are_capped_by_bytes(app: TestApp) {
    let mut read = None;
    let app = support::with_posts(app, |posts| {
        let watched = WatchedPosts::new(posts);
        read = Some(watched.bodies_read());
        Arc::new(watched)
    });
    let read = read.expect("the store is watched");
    let author = account(&app, "bytes@example.com", "Bytes").await;
    let mut created = Vec::new();
    for i in 0..30 {
        let body = json!({ "title": format!("Big {i}"), "content": "😀".repeat(50_000), "status": "published" });
        created.push(create_post(&app, &author, body).await);
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/api/posts?include=content&limit=100".to_owned();
    loop {
        let (page, bytes) = get_json(&app, &path, None).await;
        assert!(bytes <= PAGE_MAX_BYTES + 1024, "a page of {bytes} bytes");
        let data = page["data"].as_array().unwrap();
        assert!(!data.is_empty());
        seen.extend(data.iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/posts?include=content&limit=100&cursor={cursor}"),
            None => break,
        }
    }
    assert!(pages > 1, "30 bodies of 200 KB cannot fit one page");
    // Bodies are read a few at a time, as the page fills: about what is returned, not the
    // whole `limit` on every page (105 reads for these 30 posts before).
    let bodies_read = read.load(Ordering::SeqCst);
    assert!(
        bodies_read <= 2 * created.len(),
        "{bodies_read} bodies read for {pages} pages"
    );
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a post was listed twice");
    assert_eq!(unique.len(), created.len());

    // Summaries are small: the same 30 posts fit one page.
    let (page, bytes) = get_json(&app, "/api/posts?limit=100", None).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 30);
    assert!(bytes < 64 * 1024, "{bytes}");
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    listings_show_excerpts_and_bodies_on_request => config(),
    pages_with_bodies_are_capped_by_bytes => config(),
}

/// Counts the DynamoDB `Query` calls a client makes.
#[derive(Debug, Clone, Default)]
pub(crate) struct CountQueries(pub(crate) Arc<AtomicUsize>);

impl Intercept for CountQueries {
    fn name(&self) -> &'static str {
        "CountQueries"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), shared::BoxError> {
        if context.input().downcast_ref::<QueryInput>().is_some() {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

async fn counting_app() -> (TestApp, CountQueries) {
    counting_app_with(config()).await
}

/// An app on DynamoDB Local whose client counts its queries.
pub(crate) async fn counting_app_with(config: Config) -> (TestApp, CountQueries) {
    support::emulator_endpoint();
    let counter = CountQueries::default();
    let sdk_config = aws_config::load_from_env().await;
    let client_config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .interceptor(counter.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(client_config);
    (support::dynamo_app_on(client, config).await, counter)
}

/// A selective filter (one draft among many published posts, one author inside a busy tag)
/// is one query on a partition holding exactly the answer, not a filter over the listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn selective_listings_are_one_query_on_dynamodb() {
    let (app, queries) = counting_app().await;
    let busy = account(&app, "busy@example.com", "Busy").await;
    let quiet = account(&app, "quiet@example.com", "Quiet").await;
    let draft = create_post(
        &app,
        &quiet,
        json!({ "title": "Draft", "content": "d", "status": "draft", "tags": ["shared"] }),
    )
    .await;
    let published = create_post(
        &app,
        &quiet,
        json!({ "title": "Mine", "content": "m", "status": "published", "tags": ["shared"] }),
    )
    .await;
    for i in 0..60 {
        create_post(
            &app,
            &busy,
            json!({ "title": format!("Busy {i}"), "content": "b", "status": "published", "tags": ["shared"] }),
        )
        .await;
    }
    for i in 0..60 {
        create_post(
            &app,
            &quiet,
            json!({ "title": format!("Old {i}"), "content": "o", "status": "archived" }),
        )
        .await;
    }

    for (path, expected) in [
        (
            format!("/api/users/{}/posts?status=draft&limit=1", quiet.id),
            &draft,
        ),
        (
            format!("/api/posts?tag=shared&author={}&limit=1", quiet.id),
            &published,
        ),
    ] {
        let before = queries.0.load(Ordering::SeqCst);
        let (page, _) = get_json(&app, &path, Some(&quiet.access)).await;
        let used = queries.0.load(Ordering::SeqCst) - before;
        let ids: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [expected.as_str()], "{path}");
        assert_eq!(used, 1, "{path} took {used} queries");
    }
}

/// Tag entries and index entries carry the listing fields, never the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tag_and_index_entries_hold_no_body_on_dynamodb() {
    let app = support::dynamo_app_with(config()).await;
    let author = account(&app, "nobody@example.com", "Nobody").await;
    let id = create_post(
        &app,
        &author,
        json!({ "title": "T", "content": "x".repeat(10_000), "status": "published", "tags": ["a", "b"] }),
    )
    .await;
    let client = support::dynamo_client().await;
    let table = &app.config.table_name;
    let items = client
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", "PK")
        .expression_attribute_values(":pk", AttributeValue::S(format!("POST#{id}")))
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(items.len(), 3);
    for item in &items {
        let is_main = item["SK"] == AttributeValue::S("POST".into());
        assert_eq!(item.contains_key("content"), is_main, "{:?}", item["SK"]);
        assert!(item.contains_key("excerpt"));
    }
    let table = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    for index in table.global_secondary_indexes() {
        let projection = index.projection().unwrap();
        assert_eq!(projection.projection_type(), Some(&ProjectionType::Include));
        assert!(
            !projection
                .non_key_attributes()
                .contains(&"content".to_owned())
        );
    }
}
