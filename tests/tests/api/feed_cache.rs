//! The public feed is cacheable: an anonymous page of published posts (`GET /api/posts`, tag
//! and author pages, with or without bodies) may be kept by any cache, carries a strong `ETag`
//! of its body and answers `If-None-Match` with 304; anything that depends on the caller, and
//! every error, is kept by none.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::config::Config;
use shared::domain::Role;
use support::{
    Account, Call, TestApp, TestResponse, account, account_with_role, body_json, header,
};

const PUBLIC: &str = posts::FEED_CACHE;
const PRIVATE: &str = "private, no-store";

async fn create_post(app: &TestApp, author: &Account, title: &str, status: &str) -> String {
    let response = Call::new(Method::POST, "/api/posts")
        .token(&author.access)
        .json(json!({ "title": title, "content": "Body", "status": status, "tags": ["news"] }))
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body_json(&response)["id"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> TestResponse {
    let mut call = Call::new(Method::GET, path);
    if let Some(token) = token {
        call = call.token(token);
    }
    call.send(app).await
}

async fn get_if_none_match(app: &TestApp, path: &str, tags: &str) -> TestResponse {
    Call::new(Method::GET, path)
        .header("if-none-match", tags)
        .send(app)
        .await
}

/// Every `Vary` value, split and lower-cased.
fn vary(response: &TestResponse) -> Vec<String> {
    response
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect()
}

fn etag_of(response: &TestResponse) -> String {
    header(response, "etag").expect("an ETag").to_owned()
}

/// A shared answer: 200, public for a short time, varying by the caller's credentials, with a
/// strong tag.
fn assert_public(response: &TestResponse, path: &str) -> String {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{path}: {:?}",
        response.body()
    );
    assert_eq!(header(response, "cache-control"), Some(PUBLIC), "{path}");
    assert!(
        vary(response).contains(&"authorization".to_owned()),
        "{path}"
    );
    let tag = etag_of(response);
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2,
        "{path}: a strong tag, {tag}"
    );
    tag
}

fn assert_private(response: &TestResponse, path: &str) {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{path}: {:?}",
        response.body()
    );
    assert_eq!(header(response, "cache-control"), Some(PRIVATE), "{path}");
    assert!(
        vary(response).contains(&"authorization".to_owned()),
        "{path}"
    );
}

/// An error is never kept by a shared cache, whoever asks.
fn assert_not_stored(response: &TestResponse, status: StatusCode, what: &str) {
    assert_eq!(response.status(), status, "{what}: {:?}", response.body());
    let cache = header(response, "cache-control").unwrap_or_default();
    assert!(
        cache.contains("no-store") && !cache.contains("public"),
        "{what}: {cache}"
    );
    assert!(header(response, "etag").is_none(), "{what}");
}

async fn anonymous_pages_are_public_and_a_callers_own_are_not(app: TestApp) {
    let author = account(&app, "cache-author@example.com", "Author").await;
    let admin = account_with_role(&app, "cache-admin@example.com", Role::Admin).await;
    create_post(&app, &author, "Out", "published").await;
    create_post(&app, &author, "Draft", "draft").await;

    let by_author = format!("/api/users/{}/posts", author.id);
    let paths = [
        "/api/posts".to_owned(),
        "/api/posts?tag=news".to_owned(),
        "/api/posts?include=content".to_owned(),
        "/api/posts?tag=news&include=content&limit=5".to_owned(),
        format!("/api/posts?author={}", author.id),
        "/api/posts?status=published".to_owned(),
        by_author.clone(),
        format!("{by_author}?include=content"),
    ];
    let mut tags = Vec::new();
    for path in &paths {
        let anonymous = get(&app, path, None).await;
        tags.push(assert_public(&anonymous, path));
        // The same URL with credentials: the caller's own answer (the author sees drafts on
        // their page), never shared.
        for token in [&author.access, &admin.access] {
            assert_private(&get(&app, path, Some(token)).await, path);
        }
    }
    // Summaries and bodies are different answers: each URL is its own cache entry.
    assert_ne!(tags[0], tags[2], "include=content has its own tag");

    // Drafts and other statuses are only ever the caller's own.
    for path in [
        format!("/api/posts?status=draft&author={}", author.id),
        format!("{by_author}?status=draft"),
    ] {
        assert_private(&get(&app, &path, Some(&author.access)).await, &path);
        assert_private(&get(&app, &path, Some(&admin.access)).await, &path);
    }

    // Errors, anonymous or not, are never stored.
    let refused = [
        (
            "/api/posts?status=draft".to_owned(),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/posts?include=everything".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/posts?cursor=forged".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/posts?limit=0".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/posts".to_owned(),
            Some("not-a-token"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            format!("/api/users/{}/posts", uuid::Uuid::new_v4()),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/posts?status=draft&author={}", admin.id),
            Some(author.access.as_str()),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (path, token, status) in refused {
        let response = get(&app, &path, token).await;
        assert_not_stored(&response, status, &path);
    }
}

async fn if_none_match_answers_304_without_a_body(app: TestApp) {
    let author = account(&app, "cache-304@example.com", "Author").await;
    create_post(&app, &author, "Cached", "published").await;

    for path in ["/api/posts", "/api/posts?tag=news&include=content"] {
        let first = get(&app, path, None).await;
        let tag = assert_public(&first, path);
        // The same page again has the same tag: the tag is the body's.
        assert_eq!(etag_of(&get(&app, path, None).await), tag, "{path}");

        let revalidated = get_if_none_match(&app, path, &tag).await;
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(revalidated.body().is_empty(), "{path}: a 304 has no body");
        assert_eq!(etag_of(&revalidated), tag, "{path}");
        assert_eq!(
            header(&revalidated, "cache-control"),
            Some(PUBLIC),
            "{path}"
        );
        assert!(vary(&revalidated).contains(&"authorization".to_owned()));

        // HEAD answers as GET does, without the body.
        let head = Call::new(Method::HEAD, path)
            .header("if-none-match", tag.clone())
            .send(&app)
            .await;
        assert_eq!(head.status(), StatusCode::NOT_MODIFIED, "{path}");
    }

    // A caller with credentials is not answered from a public tag.
    let tag = etag_of(&get(&app, "/api/posts", None).await);
    let own = Call::new(Method::GET, "/api/posts")
        .token(&author.access)
        .header("if-none-match", tag)
        .send(&app)
        .await;
    assert_private(&own, "/api/posts with a token");
}

/// RFC 9110: `If-None-Match` is `*` or a list of tags, compared weakly (`W/"x"` matches `"x"`);
/// a comma inside a quoted tag is part of that tag.
async fn if_none_match_reads_lists_weak_tags_and_star(app: TestApp) {
    let author = account(&app, "cache-rfc@example.com", "Author").await;
    create_post(&app, &author, "Listed", "published").await;
    let path = "/api/posts?tag=news";
    let tag = etag_of(&get(&app, path, None).await);
    let opaque = tag.trim_matches('"');

    for matching in [
        "*".to_owned(),
        tag.clone(),
        format!("W/{tag}"),
        format!("\"stale\", {tag}"),
        format!("W/\"stale\",W/{tag} , \"other\""),
    ] {
        let response = get_if_none_match(&app, path, &matching).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{matching}");
        assert!(response.body().is_empty());
    }
    for other in [
        "\"stale\"".to_owned(),
        "W/\"stale\", \"other\"".to_owned(),
        format!("\"{opaque}-x\""),
        format!("\"x,{opaque}\""),
        format!("\"{opaque},x\""),
    ] {
        let response = get_if_none_match(&app, path, &other).await;
        assert_public(&response, &other);
        assert_eq!(etag_of(&response), tag, "{other}");
        assert!(!response.body().is_empty());
    }
}

async fn publishing_changes_the_tag(app: TestApp) {
    let author = account(&app, "cache-publish@example.com", "Author").await;
    create_post(&app, &author, "First", "published").await;
    let draft = create_post(&app, &author, "Second", "draft").await;
    let paths = ["/api/posts", "/api/posts?tag=news"];
    let mut before = Vec::new();
    for path in paths {
        before.push(etag_of(&get(&app, path, None).await));
    }

    // A new post: every page it lands on has a new body, so a new tag; the old tag is
    // answered with the new page, not 304.
    create_post(&app, &author, "Third", "published").await;
    let mut after_create = Vec::new();
    for (path, old) in paths.iter().zip(&before) {
        let response = get_if_none_match(&app, path, old).await;
        let tag = assert_public(&response, path);
        assert_ne!(&tag, old, "{path}");
        let titles: Vec<Value> = body_json(&response)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].clone())
            .collect();
        assert_eq!(titles, [json!("Third"), json!("First")], "{path}");
        after_create.push(tag);
    }

    // A draft published later changes it again.
    let published = Call::new(Method::PATCH, &format!("/api/posts/{draft}"))
        .token(&author.access)
        .json(json!({ "status": "published" }))
        .send(&app)
        .await;
    assert_eq!(published.status(), StatusCode::OK, "{:?}", published.body());
    for (path, old) in paths.iter().zip(&after_create) {
        let response = get_if_none_match(&app, path, old).await;
        assert_ne!(&assert_public(&response, path), old, "{path}");
        assert_eq!(body_json(&response)["data"].as_array().unwrap().len(), 3);
    }
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    anonymous_pages_are_public_and_a_callers_own_are_not => config(),
    if_none_match_answers_304_without_a_body => config(),
    if_none_match_reads_lists_weak_tags_and_star => config(),
    publishing_changes_the_tag => config(),
}
