//! The global listings spread over shards (`LISTING_SHARDS`): every user, users of a role,
//! posts of a status, posts with a tag. Pages merge the shards in the listing's order and are
//! full whatever the shard count (one, three, more than there are items); they stay exact while
//! other requests add items; a cursor resumes at the same place under another shard count (it
//! holds a position in the listing's order, not in a shard); and every write puts its index
//! keys in the shard its id maps to.

use crate::support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::App;
use shared::clock::{now_ms, parse_rfc3339};
use shared::config::Config;
use shared::domain::{
    DisplayName, Email, NewPost, Post, PostContent, PostStatus, PostTitle, Role, Tag, User,
};
use shared::store::entities::TableStore;
use shared::store::table::{Item, Read, get_s};
use shared::store::{Effects, Stores, keys};
use support::{Call, TestApp, account, account_with_role, assert_problem, body_json};
use tower::ServiceExt;

fn sharded(shards: u32) -> Config {
    Config {
        listing_shards: shards,
        ..Config::for_tests()
    }
}

/// The shard an id maps to, worked out here apart from the store: a 31-multiplier hash of the
/// id's bytes, modulo the count.
fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % shards
}

/// A user written straight to the store (no password to hash).
async fn stored_user(stores: &Stores, email: &str, name: &str) -> User {
    let user = User::new(
        Email::parse(email).unwrap(),
        DisplayName::parse(name).unwrap(),
        "$argon2id$not-a-real-hash".into(),
        now_ms(),
    );
    stores
        .users
        .create_user(&user, &Effects::none())
        .await
        .unwrap();
    user
}

/// A post written straight to the store, published at `at`: anywhere in the feed, not only at
/// its top.
async fn stored_post(stores: &Stores, author: &User, at: i64, tags: &[&str]) -> Post {
    let new = NewPost {
        title: PostTitle::parse(format!("At {at}")).unwrap(),
        content: PostContent::parse("body".into()).unwrap(),
        status: Some(PostStatus::Published),
        tags: Some(tags.iter().map(|t| Tag::parse(*t).unwrap()).collect()),
    };
    let post = Post::new(&author.id, new, at);
    stores.posts.create_post(&post).await.unwrap();
    post
}

/// One page: its items and its next cursor.
async fn page(app: &TestApp, url: &str, token: Option<&str>) -> (Vec<Value>, Option<String>) {
    let mut call = Call::new(Method::GET, url);
    if let Some(token) = token {
        call = call.token(token);
    }
    let response = call.send(app).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{url}: {:?}",
        response.body()
    );
    let body = body_json(&response);
    let items = body["data"].as_array().unwrap().clone();
    (items, body["nextCursor"].as_str().map(str::to_owned))
}

/// Every page of a listing from `cursor` (from the top without one), following its cursors,
/// `pause` apart.
async fn pages_from(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    limit: usize,
    mut cursor: Option<String>,
    pause: Duration,
) -> Vec<Vec<Value>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut pages = Vec::new();
    for _ in 0..500 {
        let url = match &cursor {
            Some(cursor) => format!("{path}{sep}limit={limit}&cursor={cursor}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (items, next) = page(app, &url, token).await;
        pages.push(items);
        match next {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
        tokio::time::sleep(pause).await;
    }
    panic!("{path}: paging did not end");
}

async fn pages(app: &TestApp, path: &str, token: Option<&str>, limit: usize) -> Vec<Vec<Value>> {
    pages_from(app, path, token, limit, None, Duration::ZERO).await
}

fn ids(pages: &[Vec<Value>]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page but the last holds exactly `limit` items, and the last is not empty (unless it
/// is the only one).
fn assert_full(pages: &[Vec<Value>], limit: usize, what: &str) {
    let (last, rest) = pages.split_last().expect("at least one page");
    for (i, page) in rest.iter().enumerate() {
        assert_eq!(page.len(), limit, "{what}: page {i} of {}", pages.len());
    }
    assert!(last.len() <= limit, "{what}: last page");
    assert!(
        !last.is_empty() || pages.len() == 1,
        "{what}: an empty last page"
    );
}

/// A listed post's place in the feed: its publication time and id, as the index sorts them.
fn feed_sort(post: &Value) -> String {
    let at = parse_rfc3339(post["publishedAt"].as_str().unwrap()).unwrap();
    keys::time_sort_key(at, post["id"].as_str().unwrap())
}

fn email_sort(user: &Value) -> String {
    user["email"].as_str().unwrap().to_owned()
}

fn newest_first(posts: &[&Post]) -> Vec<String> {
    let mut posts = posts.to_vec();
    posts.sort_by_key(|post| std::cmp::Reverse(keys::post_feed_sort(post)));
    posts.iter().map(|post| post.id.clone()).collect()
}

fn by_email(users: &[&User]) -> Vec<String> {
    let mut users = users.to_vec();
    users.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
    users.iter().map(|user| user.id.clone()).collect()
}

/// Pages hold `limit` items until the last, in the listing's order, each item once, however
/// many shards the listing is spread over.
async fn pages_merge_the_shards_in_order(app: TestApp) {
    let staff = account_with_role(&app, "root@example.com", Role::Admin).await;
    let stores = &app.stores;
    let admin = stores.users.get_user(&staff.id).await.unwrap().unwrap();
    let author = stored_user(stores, "author@example.com", "Author").await;
    let mut users = vec![admin.clone(), author.clone()];
    for (email, name) in [
        ("al1@example.com", "Zed"),
        ("alb@example.com", "Yves"),
        ("bea@example.com", "Alma Gray"),
        ("cy@example.com", "Alvin"),
        ("dora@example.com", "Dora"),
        ("eve@example.com", "Eve"),
        ("finn@example.com", "Finn"),
        ("gus@example.com", "Gus"),
    ] {
        users.push(stored_user(stores, email, name).await);
    }
    // Pairs of posts share a millisecond: the id orders them.
    let base = now_ms() - 60_000;
    let mut posts = Vec::new();
    for i in 0..13 {
        let tags: &[&str] = if i % 3 == 0 { &["rust"] } else { &[] };
        posts.push(stored_post(stores, &author, base + i / 2 * 10, tags).await);
    }
    let all: Vec<&Post> = posts.iter().collect();
    let rust: Vec<&Post> = posts
        .iter()
        .filter(|p| p.tags.iter().any(|t| t.as_str() == "rust"))
        .collect();
    let everyone: Vec<&User> = users.iter().collect();
    let plain: Vec<&User> = users.iter().filter(|u| u.role == Role::User).collect();

    let token = Some(staff.access.as_str());
    for (path, token, limit, expected) in [
        ("/api/posts", None, 3, newest_first(&all)),
        ("/api/posts?tag=rust", None, 2, newest_first(&rust)),
        ("/api/users", token, 4, by_email(&everyone)),
        ("/api/users?role=user", token, 2, by_email(&plain)),
    ] {
        let pages = pages(&app, path, token, limit).await;
        assert_full(&pages, limit, path);
        assert_eq!(ids(&pages), expected, "{path}");
    }
    // A prefix search: e-mail matches by e-mail, then name matches by name, one a page.
    let pages = pages(&app, "/api/users?q=AL", token, 1).await;
    assert_full(&pages, 1, "q=AL");
    let emails: Vec<String> = pages.iter().flatten().map(email_sort).collect();
    assert_eq!(
        emails,
        [
            "al1@example.com",
            "alb@example.com",
            "bea@example.com",
            "cy@example.com"
        ]
    );
}

async fn pages_merge_one_shard(app: TestApp) {
    pages_merge_the_shards_in_order(app).await;
}

async fn pages_merge_three_shards(app: TestApp) {
    pages_merge_the_shards_in_order(app).await;
}

async fn pages_merge_more_shards_than_items(app: TestApp) {
    pages_merge_the_shards_in_order(app).await;
}

/// Paging while items arrive must give every item that was there before it started exactly
/// once, nothing twice, in the listing's order, every page but the last full.
fn assert_exact(
    pages: &[Vec<Value>],
    limit: usize,
    before: &[String],
    sort: impl Fn(&Value) -> String,
    ascending: bool,
    what: &str,
) {
    assert_full(pages, limit, what);
    let seen = ids(pages);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{what}: an item was listed twice");
    for id in before {
        assert!(
            unique.contains(id),
            "{what}: {id}, there before paging started, was never listed"
        );
    }
    let sorts: Vec<String> = pages.iter().flatten().map(sort).collect();
    for pair in sorts.windows(2) {
        let in_order = if ascending {
            pair[0] < pair[1]
        } else {
            pair[0] > pair[1]
        };
        assert!(in_order, "{what}: {} then {}", pair[0], pair[1]);
    }
}

/// Users and posts are added all through the paging, by other requests and straight to the
/// store, anywhere in each listing's order: before the page being read, after it, at the top
/// of the feed.
async fn pages_stay_exact_while_items_arrive(app: TestApp) {
    let admin = account_with_role(&app, "root@example.com", Role::Admin).await;
    let writer = account(&app, "writer@example.com", "Writer").await;
    let stores = app.stores.clone();
    let author = stores.users.get_user(&writer.id).await.unwrap().unwrap();
    let hour_ago = now_ms() - 3_600_000;
    let mut users_before = vec![admin.id.clone(), writer.id.clone()];
    for i in 0..26u8 {
        let email = format!("{}{i}@example.com", (b'a' + i) as char);
        users_before.push(stored_user(&stores, &email, "Before").await.id);
    }
    let mut posts_before = Vec::new();
    for i in 0..24 {
        let post = stored_post(&stores, &author, hour_ago + i * 150_000, &["live"]).await;
        posts_before.push(post.id);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let added = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    // Users anywhere in e-mail order, straight to the store.
    tasks.push(tokio::spawn({
        let (stores, stop, added) = (stores.clone(), stop.clone(), added.clone());
        async move {
            for n in 0..150u32 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let letter = (b'a' + (n * 7 % 26) as u8) as char;
                stored_user(&stores, &format!("{letter}-late{n}@example.com"), "Late").await;
                added.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }));
    // Users registering, anywhere in e-mail order.
    tasks.push(tokio::spawn({
        let (router, stop, added) = (app.router.clone(), stop.clone(), added.clone());
        async move {
            for n in 0..8u32 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let letter = (b'a' + (n * 11 % 26) as u8) as char;
                let request = Call::new(Method::POST, "/api/auth/register")
                    .json(json!({
                        "email": format!("{letter}-signup{n}@example.com"),
                        "password": "correct horse battery",
                        "name": "Signup",
                    }))
                    .request();
                let response = router.clone().oneshot(request).await.unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                added.fetch_add(1, Ordering::SeqCst);
            }
        }
    }));
    // Posts anywhere in the last hour of the feed, straight to the store.
    tasks.push(tokio::spawn({
        let (stores, stop, added) = (stores.clone(), stop.clone(), added.clone());
        let author = author.clone();
        async move {
            for n in 0..150i64 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let at = hour_ago + n * 7_919 % 3_600 * 1_000;
                stored_post(&stores, &author, at, &["live"]).await;
                added.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }));
    // New posts at the top of the feed, through the API.
    tasks.push(tokio::spawn({
        let (router, stop, added) = (app.router.clone(), stop.clone(), added.clone());
        let access = writer.access.clone();
        async move {
            for n in 0..60u32 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let request = Call::new(Method::POST, "/api/posts")
                    .token(&access)
                    .json(json!({
                        "title": format!("New {n}"),
                        "content": "c",
                        "status": "published",
                        "tags": ["live"],
                    }))
                    .request();
                let response = router.clone().oneshot(request).await.unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                added.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }));

    // A little time between pages, so that every page is read with items arriving around it.
    let walk = async |path, token, limit| {
        pages_from(&app, path, token, limit, None, Duration::from_millis(10)).await
    };
    let started = added.load(Ordering::SeqCst);
    let users = walk("/api/users", Some(admin.access.as_str()), 4).await;
    let posts = walk("/api/posts", None, 5).await;
    let tagged = walk("/api/posts?tag=live", None, 3).await;
    let during = added.load(Ordering::SeqCst) - started;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    assert!(during > 0, "nothing was added while paging");

    assert_exact(&users, 4, &users_before, email_sort, true, "users");
    assert_exact(&posts, 5, &posts_before, feed_sort, false, "posts");
    assert_exact(&tagged, 3, &posts_before, feed_sort, false, "tag");
}

/// The same table and keys, read with another shard count.
async fn with_shards(app: &TestApp, shards: u32) -> TestApp {
    let table = support::table_of(app).await;
    let store = TableStore::new(table).with_listing_shards(shards);
    let config = Config {
        listing_shards: shards,
        ..app.config.clone()
    };
    let stores = Stores::from_adapter(Arc::new(store));
    TestApp::new(App::new(config, stores, app.keys.clone()), None)
}

/// A cursor names no shard: another shard count resumes where it points. Raised, it reads the
/// old shards among the new ones and the listing goes on exactly; lowered, the entries in the
/// dropped shards are not read (until they are rewritten, see the README), and the listing goes
/// on over the shards it reads. A cursor from elsewhere is still a 400.
async fn a_cursor_resumes_under_another_shard_count(app: TestApp) {
    let admin = account_with_role(&app, "root@example.com", Role::Admin).await;
    let author = stored_user(&app.stores, "author@example.com", "Author").await;
    let base = now_ms() - 60_000;
    let mut posts = Vec::new();
    for i in 0..14 {
        posts.push(stored_post(&app.stores, &author, base + i * 10, &[]).await);
    }
    let mut users = vec![
        app.stores.users.get_user(&admin.id).await.unwrap().unwrap(),
        author,
    ];
    for i in 0..10 {
        let email = format!("person{i:02}@example.com");
        users.push(stored_user(&app.stores, &email, "Person").await);
    }
    let listings = [
        (
            "/api/posts",
            None,
            newest_first(&posts.iter().collect::<Vec<_>>()),
        ),
        (
            "/api/users",
            Some(admin.access.as_str()),
            by_email(&users.iter().collect::<Vec<_>>()),
        ),
    ];
    let wider = with_shards(&app, 5).await;
    let narrower = with_shards(&app, 1).await;
    for (path, token, expected) in listings {
        let (first, cursor) = page(&app, &format!("{path}?limit=4"), token).await;
        let cursor = cursor.expect("more than a page");
        let mut seen = ids(&[first]);

        let rest = pages_from(&wider, path, token, 4, Some(cursor.clone()), Duration::ZERO).await;
        assert_full(&rest, 4, path);
        seen.extend(ids(&rest));
        assert_eq!(seen, expected, "{path}: three shards, then five");

        let rest = pages_from(
            &narrower,
            path,
            token,
            4,
            Some(cursor.clone()),
            Duration::ZERO,
        )
        .await;
        let in_shard_zero: Vec<String> = expected[4..]
            .iter()
            .filter(|id| shard_of(id, 3) == 0)
            .cloned()
            .collect();
        assert_eq!(ids(&rest), in_shard_zero, "{path}: three shards, then one");

        let (payload, signature) = cursor.split_once('.').unwrap();
        let mut forged = payload.to_owned();
        forged.insert(4, 'A');
        for bad in [
            format!("{forged}.{signature}"),
            cursor[..cursor.len() - 2].to_owned(),
        ] {
            let url = format!("{path}?cursor={bad}");
            let mut call = Call::new(Method::GET, &url);
            if let Some(token) = token {
                call = call.token(token);
            }
            let response = call.send(&wider).await;
            assert_problem(&response, StatusCode::BAD_REQUEST, "invalid_cursor");
        }
    }
}

/// The index partitions (GSI1, GSI2, GSI3) an item holds.
async fn partitions(app: &TestApp, key: &shared::store::table::Key) -> [Option<String>; 3] {
    let table = support::table_of(app).await;
    let item: Item = table
        .get(key, Read::Consistent)
        .await
        .unwrap()
        .expect("the item");
    ["GSI1PK", "GSI2PK", "GSI3PK"].map(|name| get_s(&item, name).ok())
}

/// Users' and posts' index entries go to the shard of their id, and stay there when the item
/// is edited (a role change moves the role entry to the new role's shard of the same number);
/// the listings that name a user are not sharded. With three shards, twenty posts use more
/// than one of them.
async fn writes_put_index_keys_in_the_shard_of_their_id(app: TestApp) {
    let admin = account_with_role(&app, "root@example.com", Role::Admin).await;
    let writer = account(&app, "writer@example.com", "Writer").await;
    let some = |s: String| Some(s);

    let s = shard_of(&admin.id, 3);
    assert_eq!(
        partitions(&app, &keys::user(&admin.id)).await,
        [
            some(format!("USERS#{s}")),
            some(format!("USERS#admin#{s}")),
            some(format!("USERS#{s}"))
        ]
    );
    let s = shard_of(&writer.id, 3);
    let user_partitions = |role: &str| {
        [
            some(format!("USERS#{s}")),
            some(format!("USERS#{role}#{s}")),
            some(format!("USERS#{s}")),
        ]
    };
    let key = keys::user(&writer.id);
    assert_eq!(partitions(&app, &key).await, user_partitions("user"));
    for (token, change, role) in [
        (&writer.access, json!({ "name": "Renamed" }), "user"),
        (&admin.access, json!({ "role": "moderator" }), "moderator"),
    ] {
        let response = Call::new(Method::PATCH, &format!("/api/users/{}", writer.id))
            .token(token)
            .json(change)
            .send(&app)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
        assert_eq!(partitions(&app, &key).await, user_partitions(role));
    }

    let mut shards_used = HashSet::new();
    let mut first = None;
    for i in 0..20 {
        let response = Call::new(Method::POST, "/api/posts")
            .token(&writer.access)
            .json(json!({ "title": format!("P{i}"), "content": "c", "status": "published", "tags": ["alpha"] }))
            .send(&app)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let id = body_json(&response)["id"].as_str().unwrap().to_owned();
        let s = shard_of(&id, 3);
        shards_used.insert(s);
        let author = &writer.id;
        assert_eq!(
            partitions(&app, &keys::post(&id)).await,
            [
                some(format!("STATUS#published#{s}")),
                some(format!("AUTHOR#{author}")),
                some(format!("AUTHOR#{author}#published")),
            ]
        );
        let tag = keys::post_tag(&id, &Tag::parse("alpha").unwrap());
        assert_eq!(
            partitions(&app, &tag).await,
            [
                some(format!("TAG#alpha#published#{s}")),
                some(format!("TAG#alpha#published#AUTHOR#{author}")),
                None,
            ]
        );
        first.get_or_insert(id);
    }
    assert!(shards_used.len() > 1, "twenty posts in one shard");

    let id = first.unwrap();
    let response = Call::new(Method::PATCH, &format!("/api/posts/{id}"))
        .token(&writer.access)
        .json(json!({ "status": "draft" }))
        .send(&app)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    let s = shard_of(&id, 3);
    let [status, ..] = partitions(&app, &keys::post(&id)).await;
    assert_eq!(status, some(format!("STATUS#draft#{s}")));
    let tag = keys::post_tag(&id, &Tag::parse("alpha").unwrap());
    let [tagged, ..] = partitions(&app, &tag).await;
    assert_eq!(tagged, some(format!("TAG#alpha#draft#{s}")));
}

on_both_stores! {
    pages_merge_one_shard => sharded(1),
    pages_merge_three_shards => sharded(3),
    pages_merge_more_shards_than_items => sharded(32),
    pages_stay_exact_while_items_arrive => sharded(3),
    a_cursor_resumes_under_another_shard_count => sharded(3),
    writes_put_index_keys_in_the_shard_of_their_id => sharded(3),
}

/// A page of a sharded listing is one query per shard; a listing that names a user, one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_is_one_query_per_shard_on_dynamodb() {
    let (app, queries) = crate::listings::counting_app_with(sharded(3)).await;
    let admin = account_with_role(&app, "root@example.com", Role::Admin).await;
    let author = stored_user(&app.stores, "author@example.com", "Author").await;
    for i in 0..8 {
        stored_post(&app.stores, &author, now_ms() - i * 1_000, &["rust"]).await;
    }
    let by_author = format!("/api/users/{}/posts?limit=5", author.id);
    for (path, token, expected) in [
        ("/api/posts?limit=5", None, 3),
        ("/api/posts?tag=rust&limit=5", None, 3),
        ("/api/users?limit=2", Some(admin.access.as_str()), 3),
        (by_author.as_str(), None, 1),
    ] {
        let before = queries.0.load(Ordering::SeqCst);
        let (items, _) = page(&app, path, token).await;
        let used = queries.0.load(Ordering::SeqCst) - before;
        assert!(!items.is_empty(), "{path}");
        assert_eq!(used, expected, "{path} took {used} queries");
    }
}
