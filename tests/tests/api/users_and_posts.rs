//! Users and posts through the shipped handlers, on both stores: permissions, pagination,
//! optimistic locking, caching headers, soft delete.

use crate::support;

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::config::Config;
use shared::domain::Role;
use support::{
    Account, Call, TestApp, account, account_with_role, assert_problem, body_json, header,
};

async fn create_post(
    app: &TestApp,
    author: &Account,
    title: &str,
    status: &str,
    tags: &[&str],
) -> Value {
    let response = Call::new(Method::POST, "/api/posts")
        .token(&author.access)
        .json(json!({ "title": title, "content": "Body of the post", "status": status, "tags": tags }))
        .send(app)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    let body = body_json(&response);
    assert_eq!(
        header(&response, "location"),
        Some(format!("/api/posts/{}", body["id"].as_str().unwrap()).as_str())
    );
    body
}

/// Walks a listing page by page, calling `between` after each page; returns every id seen.
async fn walk(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    limit: usize,
    mut between: impl AsyncFnMut(),
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let mut call = Call::new(Method::GET, &url);
        if let Some(token) = token {
            call = call.token(token);
        }
        let response = call.send(app).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
        let body = body_json(&response);
        let page = body["data"].as_array().unwrap();
        assert!(page.len() <= limit);
        ids.extend(
            page.iter()
                .map(|item| item["id"].as_str().unwrap().to_owned()),
        );
        between().await;
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
    panic!("pagination did not end");
}

fn assert_each_once(seen: &[String], expected: &[String]) {
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an item was listed twice");
    for id in expected {
        assert!(unique.contains(id), "{id} was never listed");
    }
}

async fn post_pagination_sees_every_post_once_while_posts_are_added(app: TestApp) {
    let author = account(&app, "writer@example.com", "Writer").await;
    let mut expected = Vec::new();
    for i in 0..23 {
        let post = create_post(&app, &author, &format!("Post {i}"), "published", &["rust"]).await;
        expected.push(post["id"].as_str().unwrap().to_owned());
    }
    let mut added = 0;
    let seen = walk(&app, "/api/posts", None, 5, async || {
        create_post(
            &app,
            &author,
            &format!("Late {added}"),
            "published",
            &["rust"],
        )
        .await;
        added += 1;
    })
    .await;
    assert_each_once(&seen, &expected);
    for path in [
        "/api/posts?tag=rust",
        &format!("/api/users/{}/posts", author.id),
        &format!("/api/posts?author={}", author.id),
    ] {
        let seen = walk(&app, path, None, 4, async || {}).await;
        assert_each_once(&seen, &expected);
    }
}

async fn user_listing_pages_by_email_then_by_name(app: TestApp) {
    let admin = account_with_role(&app, "root@example.com", Role::Admin).await;
    let mut everyone = vec![admin.id.clone()];
    for i in 0..12 {
        everyone.push(
            account(
                &app,
                &format!("user{i:02}@example.com"),
                &format!("Person {i}"),
            )
            .await
            .id,
        );
    }
    let alice_mail = account(&app, "alice@example.com", "Zed").await.id;
    let alice_name = account(&app, "zed@example.com", "Alice Smith").await.id;
    everyone.extend([alice_mail.clone(), alice_name.clone()]);

    let mut n = 0;
    let seen = walk(&app, "/api/users", Some(&admin.access), 4, async || {
        account(&app, &format!("late{n}@example.com"), "Late").await;
        n += 1;
    })
    .await;
    assert_each_once(&seen, &everyone);

    let by_prefix = walk(
        &app,
        "/api/users?q=ALI",
        Some(&admin.access),
        1,
        async || {},
    )
    .await;
    assert_eq!(
        by_prefix,
        [alice_mail, alice_name],
        "e-mail matches first, then name matches"
    );
    let admins = walk(
        &app,
        "/api/users?role=admin",
        Some(&admin.access),
        10,
        async || {},
    )
    .await;
    assert_eq!(admins, std::slice::from_ref(&admin.id));
}

async fn tampered_or_foreign_cursors_are_400(app: TestApp) {
    let author = account(&app, "cursor@example.com", "Cursor").await;
    for i in 0..3 {
        create_post(&app, &author, &format!("P{i}"), "published", &[]).await;
    }
    let first = body_json(
        &Call::new(Method::GET, "/api/posts?limit=1")
            .send(&app)
            .await,
    );
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let (payload, signature) = cursor.split_once('.').unwrap();
    let flipped = format!(
        "{payload}.{}",
        if signature.starts_with('A') { "B" } else { "A" }.to_owned() + &signature[1..]
    );
    for bad in [
        flipped.as_str(),
        "garbage",
        "e30.e30",
        &cursor[..cursor.len() / 2],
    ] {
        let response = Call::new(Method::GET, &format!("/api/posts?cursor={bad}"))
            .send(&app)
            .await;
        assert_problem(&response, StatusCode::BAD_REQUEST, "invalid_cursor");
    }
    // A cursor from one listing is refused by another.
    let response = Call::new(Method::GET, &format!("/api/posts?tag=rust&cursor={cursor}"))
        .send(&app)
        .await;
    assert_problem(&response, StatusCode::BAD_REQUEST, "invalid_cursor");
    for limit in ["0", "101", "ten"] {
        let response = Call::new(Method::GET, &format!("/api/posts?limit={limit}"))
            .send(&app)
            .await;
        assert_problem(&response, StatusCode::BAD_REQUEST, "invalid_limit");
    }
}

/// (who, method, path, expected status) for every route.
async fn permission_matrix(app: TestApp) {
    let author = account(&app, "author@example.com", "Author").await;
    let other = account(&app, "other@example.com", "Other").await;
    let moderator = account_with_role(&app, "mod@example.com", Role::Moderator).await;
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let published = create_post(&app, &author, "Public", "published", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let draft = create_post(&app, &author, "Secret", "draft", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (a, pubp, draftp) = (
        author.id.clone(),
        format!("/api/posts/{published}"),
        format!("/api/posts/{draft}"),
    );
    let users_a = format!("/api/users/{a}");
    let posts_a = format!("/api/users/{a}/posts");
    let drafts_a = format!("/api/posts?author={a}&status=draft");

    let who = |name: &str| -> Option<&str> {
        match name {
            "anon" => None,
            "author" => Some(&author.access),
            "other" => Some(&other.access),
            "mod" => Some(&moderator.access),
            "admin" => Some(&admin.access),
            _ => unreachable!(),
        }
    };
    let rename = json!({ "name": "Renamed" });
    let retitle = json!({ "title": "Retitled" });
    #[rustfmt::skip]
    let matrix: Vec<(&str, Method, &str, Option<Value>, u16)> = vec![
        // users
        ("anon",   Method::GET,   "/api/users", None, 401),
        ("author", Method::GET,   "/api/users", None, 403),
        ("mod",    Method::GET,   "/api/users", None, 403),
        ("admin",  Method::GET,   "/api/users", None, 200),
        ("anon",   Method::GET,   &users_a, None, 401),
        ("author", Method::GET,   &users_a, None, 200),
        ("other",  Method::GET,   &users_a, None, 403),
        ("mod",    Method::GET,   &users_a, None, 403),
        ("admin",  Method::GET,   &users_a, None, 200),
        ("anon",   Method::PATCH, &users_a, Some(rename.clone()), 401),
        ("other",  Method::PATCH, &users_a, Some(rename.clone()), 403),
        ("mod",    Method::PATCH, &users_a, Some(rename.clone()), 403),
        ("author", Method::PATCH, &users_a, Some(rename.clone()), 200),
        ("admin",  Method::PATCH, &users_a, Some(rename.clone()), 200),
        ("author", Method::PATCH, &users_a, Some(json!({ "role": "admin" })), 403),
        ("author", Method::PATCH, &users_a, Some(json!({ "passwordHash": "x" })), 422),
        ("other",  Method::DELETE, &users_a, None, 403),
        ("mod",    Method::DELETE, &users_a, None, 403),
        ("author", Method::DELETE, &users_a, None, 403),
        // posts: reading
        ("anon",   Method::GET,   "/api/posts", None, 200),
        ("anon",   Method::GET,   &pubp, None, 200),
        ("anon",   Method::GET,   &draftp, None, 404),
        ("other",  Method::GET,   &draftp, None, 404),
        ("author", Method::GET,   &draftp, None, 200),
        ("mod",    Method::GET,   &draftp, None, 200),
        ("admin",  Method::GET,   &draftp, None, 200),
        ("anon",   Method::GET,   &posts_a, None, 200),
        ("anon",   Method::GET,   &drafts_a, None, 401),
        ("other",  Method::GET,   &drafts_a, None, 403),
        ("author", Method::GET,   &drafts_a, None, 200),
        ("mod",    Method::GET,   &drafts_a, None, 200),
        // posts: writing
        ("anon",   Method::POST,  "/api/posts", Some(json!({ "title": "t", "content": "c" })), 401),
        ("other",  Method::POST,  "/api/posts", Some(json!({ "title": "t", "content": "c" })), 201),
        ("anon",   Method::PATCH, &pubp, Some(retitle.clone()), 401),
        ("other",  Method::PATCH, &pubp, Some(retitle.clone()), 403),
        ("other",  Method::PATCH, &draftp, Some(retitle.clone()), 404),
        ("author", Method::PATCH, &pubp, Some(retitle.clone()), 200),
        ("mod",    Method::PATCH, &pubp, Some(retitle.clone()), 200),
        ("admin",  Method::PATCH, &pubp, Some(retitle.clone()), 200),
        ("author", Method::PATCH, &pubp, Some(json!({ "authorId": "x" })), 422),
        ("anon",   Method::DELETE, &pubp, None, 401),
        ("other",  Method::DELETE, &pubp, None, 403),
        ("mod",    Method::DELETE, &pubp, None, 403),
        ("other",  Method::DELETE, &draftp, None, 404),
        ("author", Method::DELETE, &draftp, None, 204),
        ("admin",  Method::DELETE, &pubp, None, 204),
    ];
    for (caller, method, path, body, expected) in matrix {
        let mut call = Call::new(method.clone(), path);
        if let Some(token) = who(caller) {
            call = call.token(token);
        }
        if let Some(body) = body {
            call = call.json(body);
        }
        let response = call.send(&app).await;
        assert_eq!(
            response.status().as_u16(),
            expected,
            "{caller} {method} {path}: {:?}",
            response.body()
        );
    }
}

async fn concurrent_writers_with_the_same_version_one_wins(app: TestApp) {
    let author = account(&app, "locks@example.com", "Locks").await;
    let post = create_post(&app, &author, "Original", "draft", &[]).await;
    let path = format!("/api/posts/{}", post["id"].as_str().unwrap());
    let writes = (0..2).map(|i| {
        Call::new(Method::PATCH, &path)
            .token(&author.access)
            .header("if-match", "\"1\"")
            .json(json!({ "title": format!("Writer {i}") }))
            .send(&app)
    });
    let statuses: Vec<u16> = join_all(writes)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 412], "{statuses:?}");

    let user_path = format!("/api/users/{}", author.id);
    let writes = (0..2).map(|i| {
        Call::new(Method::PATCH, &user_path)
            .token(&author.access)
            .header("if-match", "\"1\"")
            .json(json!({ "name": format!("Name {i}") }))
            .send(&app)
    });
    let mut statuses: Vec<u16> = join_all(writes)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let stale = Call::new(Method::PATCH, &user_path)
        .token(&author.access)
        .header("if-match", "\"1\"")
        .json(json!({ "name": "Late" }))
        .send(&app)
        .await;
    assert_problem(
        &stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
}

async fn published_posts_carry_etags_and_answer_304(app: TestApp) {
    let author = account(&app, "etag@example.com", "Etag").await;
    let post = create_post(&app, &author, "Cached", "published", &[]).await;
    let path = format!("/api/posts/{}", post["id"].as_str().unwrap());
    let first = Call::new(Method::GET, &path).send(&app).await;
    assert_eq!(
        header(&first, "cache-control"),
        Some("public, max-age=60, stale-while-revalidate=300")
    );
    // Asked with credentials, or answered to a write, it is kept by no cache (as the feed).
    let signed_in = Call::new(Method::GET, &path)
        .token(&author.access)
        .send(&app)
        .await;
    assert_eq!(
        header(&signed_in, "cache-control"),
        Some("private, no-store")
    );
    assert_eq!(header(&signed_in, "vary"), Some("Authorization"));
    let tag = header(&first, "etag").unwrap().to_owned();
    let again = Call::new(Method::GET, &path)
        .header("if-none-match", tag.clone())
        .send(&app)
        .await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, "etag"), Some(tag.as_str()));

    let edited = Call::new(Method::PATCH, &path)
        .token(&author.access)
        .header("if-match", tag.clone())
        .json(json!({ "content": "changed" }))
        .send(&app)
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let fresh = Call::new(Method::GET, &path)
        .header("if-none-match", tag)
        .send(&app)
        .await;
    assert_eq!(
        fresh.status(),
        StatusCode::OK,
        "a stale ETag gets the new body"
    );
    assert_eq!(body_json(&fresh)["content"], "changed");

    // Publishing sets publishedAt once; drafts are never publicly cacheable.
    let draft = create_post(&app, &author, "Draft", "draft", &[]).await;
    assert!(draft["publishedAt"].is_null());
    let draft_path = format!("/api/posts/{}", draft["id"].as_str().unwrap());
    let own = Call::new(Method::GET, &draft_path)
        .token(&author.access)
        .send(&app)
        .await;
    assert_eq!(header(&own, "cache-control"), Some("private, no-store"));
    let published = Call::new(Method::PATCH, &draft_path)
        .token(&author.access)
        .json(json!({ "status": "published" }))
        .send(&app)
        .await;
    let at = body_json(&published)["publishedAt"].clone();
    assert!(at.is_string());
    Call::new(Method::PATCH, &draft_path)
        .token(&author.access)
        .json(json!({ "status": "archived" }))
        .send(&app)
        .await;
    let again = Call::new(Method::PATCH, &draft_path)
        .token(&author.access)
        .json(json!({ "status": "published" }))
        .send(&app)
        .await;
    assert_eq!(body_json(&again)["publishedAt"], at);
}

async fn soft_delete_hides_the_user_and_posts_and_frees_the_email(app: TestApp) {
    let admin = account_with_role(&app, "boss@example.com", Role::Admin).await;
    let leaving = account(&app, "leaving@example.com", "Leaving").await;
    let post = create_post(&app, &leaving, "Goodbye", "published", &["farewell"]).await;
    let post_path = format!("/api/posts/{}", post["id"].as_str().unwrap());

    // `self` is true or false; anything else is a mistake, not a "no".
    let unclear = Call::new(
        Method::DELETE,
        &format!("/api/users/{}?self=yes", leaving.id),
    )
    .token(&leaving.access)
    .send(&app)
    .await;
    assert_problem(&unclear, StatusCode::BAD_REQUEST, "invalid_parameter");

    let deleted = Call::new(
        Method::DELETE,
        &format!("/api/users/{}?self=true", leaving.id),
    )
    .token(&leaving.access)
    .json(json!({ "password": "correct horse battery" }))
    .send(&app)
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // Sessions end at once; login fails; the profile, listings and posts are gone.
    let me = Call::new(Method::GET, "/api/users/me")
        .token(&leaving.access)
        .send(&app)
        .await;
    assert_problem(&me, StatusCode::UNAUTHORIZED, "session_ended");
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": leaving.email, "password": "correct horse battery" }))
        .send(&app)
        .await;
    assert_problem(&login, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let profile = Call::new(Method::GET, &format!("/api/users/{}", leaving.id))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(profile.status(), StatusCode::NOT_FOUND);
    let listed = walk(&app, "/api/users", Some(&admin.access), 50, async || {}).await;
    assert!(!listed.contains(&leaving.id));
    assert_eq!(
        Call::new(Method::GET, &post_path).send(&app).await.status(),
        StatusCode::NOT_FOUND
    );
    for path in ["/api/posts", "/api/posts?tag=farewell"] {
        assert!(
            walk(&app, path, None, 50, async || {}).await.is_empty(),
            "{path}"
        );
    }
    let by_author = Call::new(Method::GET, &format!("/api/users/{}/posts", leaving.id))
        .send(&app)
        .await;
    assert_eq!(by_author.status(), StatusCode::NOT_FOUND);

    // The address is free again.
    let again = account(&app, "leaving@example.com", "Returning").await;
    assert_ne!(again.id, leaving.id);
}

/// Admins change addresses directly (users go through the mailed confirmation, see the account
/// flow tests); either way an address belongs to one active user.
async fn email_changes_keep_uniqueness(app: TestApp) {
    let admin = account_with_role(&app, "email-admin@example.com", Role::Admin).await;
    let ada = account(&app, "ada@example.com", "Ada").await;
    account(&app, "taken@example.com", "Taken").await;
    let path = format!("/api/users/{}", ada.id);
    let own = Call::new(Method::PATCH, &path)
        .token(&ada.access)
        .json(json!({ "email": "ada@new.example.com" }))
        .send(&app)
        .await;
    assert_problem(
        &own,
        StatusCode::FORBIDDEN,
        "email_change_needs_confirmation",
    );
    let taken = Call::new(Method::PATCH, &path)
        .token(&admin.access)
        .json(json!({ "email": "TAKEN@example.com" }))
        .send(&app)
        .await;
    assert_problem(&taken, StatusCode::CONFLICT, "email_taken");
    let moved = Call::new(Method::PATCH, &path)
        .token(&admin.access)
        .json(json!({ "email": "ada@new.example.com" }))
        .send(&app)
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(header(&moved, "etag"), Some("\"2\""));
    assert_eq!(body_json(&moved)["emailVerified"], false);
    // The old address is free, the new one is held.
    account(&app, "ada@example.com", "Someone Else").await;
    let clash = Call::new(Method::POST, "/api/auth/register")
        .json(json!({ "email": "ada@new.example.com", "password": "correct horse battery", "name": "X" }))
        .send(&app)
        .await;
    assert_problem(&clash, StatusCode::CONFLICT, "email_taken");
    let invalid = Call::new(Method::PATCH, &path)
        .token(&admin.access)
        .json(json!({ "email": "nope", "name": "" }))
        .send(&app)
        .await;
    let body = assert_problem(
        &invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

async fn role_changes_apply_on_the_next_request(app: TestApp) {
    let admin = account_with_role(&app, "first@example.com", Role::Admin).await;
    let second = account(&app, "second@example.com", "Second").await;
    let promote = Call::new(Method::PATCH, &format!("/api/users/{}", second.id))
        .token(&admin.access)
        .json(json!({ "role": "admin" }))
        .send(&app)
        .await;
    assert_eq!(body_json(&promote)["role"], "admin");
    // The same access token, issued when `second` was a user, now lists users.
    let list = Call::new(Method::GET, "/api/users")
        .token(&second.access)
        .send(&app)
        .await;
    assert_eq!(list.status(), StatusCode::OK);
    let demote = Call::new(Method::PATCH, &format!("/api/users/{}", second.id))
        .token(&admin.access)
        .json(json!({ "role": "user" }))
        .send(&app)
        .await;
    assert_eq!(demote.status(), StatusCode::OK);
    let list = Call::new(Method::GET, "/api/users")
        .token(&second.access)
        .send(&app)
        .await;
    assert_eq!(list.status(), StatusCode::FORBIDDEN);
    let admins = walk(
        &app,
        "/api/users?role=admin",
        Some(&admin.access),
        10,
        async || {},
    )
    .await;
    assert_eq!(admins, std::slice::from_ref(&admin.id));
}

async fn password_change_ends_other_sessions(app: TestApp) {
    let user = account(&app, "pw@example.com", "Pw").await;
    let wrong = Call::new(Method::POST, "/api/auth/password")
        .token(&user.access)
        .json(json!({ "currentPassword": "not it at all", "newPassword": "a brand new secret" }))
        .send(&app)
        .await;
    assert_problem(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let changed = Call::new(Method::POST, "/api/auth/password")
        .token(&user.access)
        .json(json!({ "currentPassword": "correct horse battery", "newPassword": "a brand new secret" }))
        .send(&app)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let fresh = body_json(&changed)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = Call::new(Method::GET, "/api/users/me")
        .token(&user.access)
        .send(&app)
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let old_refresh = support::refresh_with(&app, &user.refresh).await;
    assert_eq!(old_refresh.status(), StatusCode::UNAUTHORIZED);
    let new = Call::new(Method::GET, "/api/users/me")
        .token(&fresh)
        .send(&app)
        .await;
    assert_eq!(new.status(), StatusCode::OK);
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "pw@example.com", "password": "a brand new secret" }))
        .send(&app)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

async fn post_validation_and_filters(app: TestApp) {
    let author = account(&app, "tags@example.com", "Tags").await;
    let bad = Call::new(Method::POST, "/api/posts")
        .token(&author.access)
        .json(json!({ "title": "", "content": "x".repeat(50_001), "status": "secret", "tags": ["Not A Slug"] }))
        .send(&app)
        .await;
    let body = assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(body["errors"].as_array().unwrap().len(), 4);
    let rust = create_post(&app, &author, "Rust", "published", &["rust", "aws"]).await;
    create_post(&app, &author, "Go", "published", &["go"]).await;
    create_post(&app, &author, "Draft rust", "draft", &["rust"]).await;
    let tagged = walk(&app, "/api/posts?tag=rust", None, 10, async || {}).await;
    assert_eq!(tagged, [rust["id"].as_str().unwrap().to_owned()]);
    let own_drafts = walk(
        &app,
        &format!("/api/posts?tag=rust&status=draft&author={}", author.id),
        Some(&author.access),
        10,
        async || {},
    )
    .await;
    assert_eq!(own_drafts.len(), 1);
    let all_own = walk(
        &app,
        &format!("/api/users/{}/posts", author.id),
        Some(&author.access),
        2,
        async || {},
    )
    .await;
    assert_eq!(all_own.len(), 3);
    let public = walk(
        &app,
        &format!("/api/users/{}/posts", author.id),
        None,
        2,
        async || {},
    )
    .await;
    assert_eq!(public.len(), 2);
    // Retagging moves the post between tag listings.
    let path = format!("/api/posts/{}", rust["id"].as_str().unwrap());
    Call::new(Method::PATCH, &path)
        .token(&author.access)
        .json(json!({ "tags": ["go"] }))
        .send(&app)
        .await;
    assert!(
        walk(&app, "/api/posts?tag=rust", None, 10, async || {})
            .await
            .is_empty()
    );
    assert_eq!(
        walk(&app, "/api/posts?tag=go", None, 10, async || {})
            .await
            .len(),
        2
    );
}

/// Ids are UUIDs: anything else in a path is a 404 and in `?author=` a 422, before any store
/// call (a 3 KB id would exceed DynamoDB's 2 KB partition-key limit on AWS).
async fn ids_that_are_not_uuids_never_reach_the_store(app: TestApp) {
    let admin = account_with_role(&app, "ids@example.com", Role::Admin).await;
    let long = "a".repeat(3000);
    for id in [
        long.as_str(),
        "not-a-uuid",
        "0190c3a4-0000-7000-8000-00000000000g",
    ] {
        for path in [
            format!("/api/posts/{id}"),
            format!("/api/users/{id}"),
            format!("/api/users/{id}/posts"),
        ] {
            for method in [Method::GET, Method::PATCH, Method::DELETE] {
                if path.ends_with("/posts") && method != Method::GET {
                    continue;
                }
                let mut call = Call::new(method.clone(), &path).token(&admin.access);
                if method == Method::PATCH {
                    call = call.json(json!({ "name": "N" }));
                }
                let response = call.send(&app).await;
                assert_problem(&response, StatusCode::NOT_FOUND, "not_found");
            }
        }
        let feed = Call::new(Method::GET, &format!("/api/posts?author={id}"))
            .send(&app)
            .await;
        let problem = assert_problem(&feed, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "author");
    }
}

/// Other spellings of an existing id (upper case, braces, `urn:uuid:`, no hyphens) name
/// nothing: each would be another URL, and another CDN cache entry, for one resource. Only the
/// lower-case hyphenated form answers.
async fn only_the_stored_spelling_of_an_id_finds_anything(app: TestApp) {
    let admin = account_with_role(&app, "spelling@example.com", Role::Admin).await;
    let post = create_post(&app, &admin, "Spelled once", "published", &[]).await;
    let post_id = post["id"].as_str().unwrap().to_owned();
    let sessions = Call::new(Method::GET, "/api/auth/sessions")
        .token(&admin.access)
        .send(&app)
        .await;
    let session_id = body_json(&sessions)["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let spellings = |id: &str| {
        [
            id.to_uppercase(),
            format!("%7B{id}%7D"),
            format!("urn:uuid:{id}"),
            id.replace('-', ""),
        ]
    };
    let paths = |user: &str, post: &str| {
        [
            format!("/api/posts/{post}"),
            format!("/api/users/{user}"),
            format!("/api/users/{user}/posts"),
            format!("/api/users/{user}/sessions"),
        ]
    };
    for path in paths(&admin.id, &post_id) {
        let response = Call::new(Method::GET, &path)
            .token(&admin.access)
            .send(&app)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let [user_spellings, post_spellings, session_spellings] =
        [&admin.id, &post_id, &session_id].map(|id| spellings(id));
    for i in 0..4 {
        let (user, post, session) = (
            &user_spellings[i],
            &post_spellings[i],
            &session_spellings[i],
        );
        for path in paths(user, post) {
            let response = Call::new(Method::GET, &path)
                .token(&admin.access)
                .send(&app)
                .await;
            assert_problem(&response, StatusCode::NOT_FOUND, "not_found");
        }
        let anonymous = Call::new(Method::GET, &format!("/api/posts/{post}"))
            .send(&app)
            .await;
        assert_problem(&anonymous, StatusCode::NOT_FOUND, "not_found");
        for path in [
            format!("/api/auth/sessions/{session}"),
            format!("/api/users/{}/sessions/{session}", admin.id),
        ] {
            let response = Call::new(Method::DELETE, &path)
                .token(&admin.access)
                .send(&app)
                .await;
            assert_problem(&response, StatusCode::NOT_FOUND, "not_found");
        }
        let feed = Call::new(Method::GET, &format!("/api/posts?author={user}"))
            .send(&app)
            .await;
        let problem = assert_problem(&feed, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "author");
    }
    // None of those ended the session: the caller is still signed in.
    let me = support::get_me(&app, &admin.access).await;
    assert_eq!(me.status(), StatusCode::OK);
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    post_pagination_sees_every_post_once_while_posts_are_added => config(),
    user_listing_pages_by_email_then_by_name => config(),
    tampered_or_foreign_cursors_are_400 => config(),
    permission_matrix => config(),
    concurrent_writers_with_the_same_version_one_wins => config(),
    published_posts_carry_etags_and_answer_304 => config(),
    soft_delete_hides_the_user_and_posts_and_frees_the_email => config(),
    email_changes_keep_uniqueness => config(),
    role_changes_apply_on_the_next_request => config(),
    password_change_ends_other_sessions => config(),
    post_validation_and_filters => config(),
    ids_that_are_not_uuids_never_reach_the_store => config(),
    only_the_stored_spelling_of_an_id_finds_anything => config(),
}
