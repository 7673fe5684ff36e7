//! One suite, both adapters: every case runs on the embedded SQLite store and on DynamoDB
//! (the moto server started by `scripts/test`).

use crate::support;

use std::time::Duration;

use axum::http::StatusCode;
use futures_util::future::join_all;
use shared::auth::RefreshToken;
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::{
    Authentication, DisplayName, Email, NewPost, Post, PostChanges, PostContent, PostStatus,
    PostTitle, ProfileChanges, Role, Tag, User,
};
use shared::store::{Effects, RefreshRecord, Session, SessionOrigin, StoreError};
use support::{TestApp, assert_problem, body_json, refresh_with};

fn user(email: &str) -> User {
    User::new(
        Email::parse(email).unwrap(),
        DisplayName::parse("Conformance").unwrap(),
        "$argon2id$not-a-real-hash".into(),
        now_ms(),
    )
}

fn session_for(user: &User, expires_in_ms: i64) -> (Session, RefreshRecord, RefreshToken) {
    let now = now_ms();
    let token = RefreshToken::generate();
    let session = Session {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        generation: user.session_generation,
        created_at: now,
        expires_at: now + expires_in_ms,
        revoked_at: None,
        last_used_at: now,
        authentication: Authentication::password(),
        origin: SessionOrigin::default(),
    };
    let record = RefreshRecord {
        hash: token.hash(),
        user_id: user.id.clone(),
        session_id: session.id.clone(),
        created_at: now,
        expires_at: now + expires_in_ms,
        spent_at: None,
        successor: None,
    };
    (session, record, token)
}

async fn creates_and_finds_users(app: TestApp) {
    let ada = user("ada@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    assert_eq!(
        app.stores.users.get_user(&ada.id).await.unwrap(),
        Some(ada.clone())
    );
    let found = app
        .stores
        .users
        .find_user_by_email(&Email::parse(" ADA@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(ada));
    assert_eq!(app.stores.users.get_user("nobody").await.unwrap(), None);
    let unknown = Email::parse("nobody@example.com").unwrap();
    assert_eq!(
        app.stores.users.find_user_by_email(&unknown).await.unwrap(),
        None
    );
}

async fn rejects_a_second_user_with_the_same_email(app: TestApp) {
    app.stores
        .users
        .create_user(&user("dup@example.com"), &Effects::none())
        .await
        .unwrap();
    let second = user("dup@example.com");
    let result = app
        .stores
        .users
        .create_user(&second, &Effects::none())
        .await;
    assert!(matches!(result, Err(StoreError::EmailTaken)), "{result:?}");
    // The loser left nothing behind.
    assert_eq!(app.stores.users.get_user(&second.id).await.unwrap(), None);
}

async fn lets_exactly_one_of_twenty_concurrent_registrations_win(app: TestApp) {
    let attempts = (0..20).map(|_| {
        let candidate = user("race@example.com");
        let users = app.stores.users.clone();
        async move { users.create_user(&candidate, &Effects::none()).await }
    });
    let results = join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::EmailTaken)))
        .count();
    assert_eq!((won, taken), (1, 19), "{results:?}");
}

async fn changes_roles_and_bumps_the_version(app: TestApp) {
    let ada = user("role@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let promoted = app
        .stores
        .users
        .set_role(&ada.id, Role::Admin, now_ms())
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(promoted.version, ada.version + 1);
    assert_eq!(
        app.stores.users.get_user(&ada.id).await.unwrap(),
        Some(promoted)
    );
    let missing = app
        .stores
        .users
        .set_role("nobody", Role::Admin, now_ms())
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

async fn records_logout_everywhere(app: TestApp) {
    let ada = user("everywhere@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    for round in 1..=2 {
        app.stores
            .users
            .end_all_sessions(&ada.id, now_ms())
            .await
            .unwrap();
        let stored = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
        // One rule on both stores: each call moves the generation on, and the version with it.
        assert_eq!(stored.session_generation, ada.session_generation + round);
        assert_eq!(stored.version, ada.version + round);
    }
    let missing = app.stores.users.end_all_sessions("nobody", now_ms()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

/// Defect 6: a profile edit that read the user before "log out everywhere" cannot write the
/// old session generation back: it loses its version check, and owns no session attribute.
async fn a_stale_profile_edit_cannot_undo_logout_everywhere(app: TestApp) {
    let ada = user("stale-edit@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let read_before = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    app.stores
        .users
        .end_all_sessions(&ada.id, now_ms())
        .await
        .unwrap();
    let edit = read_before.with_profile(
        ProfileChanges {
            name: Some(DisplayName::parse("Attacker").unwrap()),
            ..Default::default()
        },
        now_ms(),
    );
    let result = app
        .stores
        .users
        .update_profile(&read_before, &edit, None, &Effects::none())
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    let stored = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert_eq!(
        stored.session_generation,
        read_before.session_generation + 1
    );

    // Read again, the edit applies and leaves the generation alone.
    let fresh = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    let edit = fresh.with_profile(
        ProfileChanges {
            name: Some(DisplayName::parse("Ada").unwrap()),
            ..Default::default()
        },
        now_ms(),
    );
    app.stores
        .users
        .update_profile(&fresh, &edit, None, &Effects::none())
        .await
        .unwrap();
    let stored = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert_eq!(stored.session_generation, fresh.session_generation);
    assert_eq!(stored.version, fresh.version + 1);
}

/// Defect 7: a password change writes only what it owns, so a profile edit in between does
/// not make it fail; a second change from the same verified hash does.
async fn a_password_change_wins_against_profile_edits(app: TestApp) {
    let ada = user("password@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let verified = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    let edit = verified.with_profile(
        ProfileChanges {
            name: Some(DisplayName::parse("Renamed").unwrap()),
            ..Default::default()
        },
        now_ms(),
    );
    app.stores
        .users
        .update_profile(&verified, &edit, None, &Effects::none())
        .await
        .unwrap();
    let changed = app
        .stores
        .users
        .change_password(&verified, "$argon2id$new", now_ms(), &Effects::none())
        .await
        .unwrap();
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert_eq!(changed.name.as_str(), "Renamed");
    assert_eq!(changed.session_generation, verified.session_generation + 1);
    assert_eq!(changed.version, verified.version + 2);
    let again = app
        .stores
        .users
        .change_password(&verified, "$argon2id$other", now_ms(), &Effects::none())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

/// Defect 4: deleting a user with an expected version is conditional on it.
async fn deletes_users_only_at_the_expected_version(app: TestApp) {
    let ada = user("delete-version@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let stale = app
        .stores
        .users
        .delete_user(
            &ada,
            Some(ada.version + 7),
            now_ms(),
            &Effects::none(),
            None,
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    assert!(
        app.stores
            .users
            .get_user(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    let deleted = app
        .stores
        .users
        .delete_user(&ada, Some(ada.version), now_ms(), &Effects::none(), None)
        .await
        .unwrap();
    assert!(!deleted.is_active());
    assert_eq!(deleted.session_generation, ada.session_generation + 1);
    // The address is free again.
    app.stores
        .users
        .create_user(&user("delete-version@example.com"), &Effects::none())
        .await
        .unwrap();
}

fn post_by(author: &User, tags: &[&str]) -> Post {
    let new = NewPost {
        title: PostTitle::parse("A post").unwrap(),
        content: PostContent::parse("Its body".into()).unwrap(),
        status: Some(PostStatus::Published),
        tags: Some(tags.iter().map(|t| Tag::parse(t).unwrap()).collect()),
    };
    Post::new(&author.id, new, now_ms())
}

/// Defects 1 and 8: hiding a deleted author's posts bumps their versions, so an edit that read
/// a post before cannot bring it back; and no post can be created once the author is deleted.
async fn hidden_posts_stay_hidden_and_deleted_authors_cannot_post(app: TestApp) {
    let ada = user("hide@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let post = post_by(&ada, &["rust"]);
    app.stores.posts.create_post(&post).await.unwrap();
    let read_before = app.stores.posts.get_post(&post.id).await.unwrap().unwrap();

    app.stores
        .users
        .delete_user(&ada, None, now_ms(), &Effects::none(), None)
        .await
        .unwrap();
    assert!(hide_all_posts_of(&app, &ada.id).await);
    let hidden = app.stores.posts.get_post(&post.id).await.unwrap().unwrap();
    assert!(hidden.author_deleted);
    assert_eq!(hidden.version, read_before.version + 1);

    let edit = read_before.edited(
        PostChanges {
            title: Some(PostTitle::parse("Back again").unwrap()),
            ..Default::default()
        },
        now_ms(),
    );
    let result = app
        .stores
        .posts
        .update_post(&read_before, &edit, None)
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert!(
        app.stores
            .posts
            .get_post(&post.id)
            .await
            .unwrap()
            .unwrap()
            .author_deleted
    );

    let late = app
        .stores
        .posts
        .create_post(&post_by(&ada, &["rust"]))
        .await;
    assert!(matches!(late, Err(StoreError::NotFound)), "{late:?}");
    let query = shared::store::PostQuery::feed(None, Some(Tag::parse("rust").unwrap()), None);
    let listed = app.stores.posts.list_posts(&query, None, 10).await.unwrap();
    assert!(listed.items.is_empty(), "{listed:?}");
    // Running the hide again (a retried deletion) is harmless.
    assert!(hide_all_posts_of(&app, &ada.id).await);
}

/// Defect 4: deleting a post is conditional on the version read.
async fn deletes_posts_only_at_the_version_read(app: TestApp) {
    let ada = user("post-delete@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let post = post_by(&ada, &["a", "b"]);
    app.stores.posts.create_post(&post).await.unwrap();
    let edited = post.edited(
        PostChanges {
            tags: Some(vec![Tag::parse("c").unwrap()]),
            ..Default::default()
        },
        now_ms(),
    );
    app.stores
        .posts
        .update_post(&post, &edited, None)
        .await
        .unwrap();
    let stale = app.stores.posts.delete_post(&post, None).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    app.stores.posts.delete_post(&edited, None).await.unwrap();
    assert_eq!(app.stores.posts.get_post(&post.id).await.unwrap(), None);
    for tag in ["a", "b", "c"] {
        let query = shared::store::PostQuery::feed(None, Some(Tag::parse(tag).unwrap()), None);
        let listed = app.stores.posts.list_posts(&query, None, 10).await.unwrap();
        assert!(listed.items.is_empty(), "{tag}: {listed:?}");
    }
}

async fn stores_sessions_and_rotates_tokens_once(app: TestApp) {
    let ada = user("session@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let (session, record, _) = session_for(&ada, 60_000);
    app.stores
        .sessions
        .create_session(&session, &record)
        .await
        .unwrap();
    assert_eq!(
        app.stores
            .sessions
            .get_session(&ada.id, &session.id)
            .await
            .unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        app.stores
            .sessions
            .find_refresh_token(&record.hash)
            .await
            .unwrap(),
        Some(record.clone())
    );

    let (_, mut next, _) = session_for(&ada, 120_000);
    next.session_id = session.id.clone();
    let spent_at = now_ms();
    app.stores
        .sessions
        .rotate_refresh_token(&record.hash, spent_at, &next, "k1")
        .await
        .unwrap();
    let spent = app
        .stores
        .sessions
        .find_refresh_token(&record.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spent.spent_at, Some(spent_at));
    let extended = app
        .stores
        .sessions
        .get_session(&ada.id, &session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(extended.expires_at, next.expires_at);

    // The same token cannot be spent twice.
    let (_, mut other, _) = session_for(&ada, 60_000);
    other.session_id = session.id.clone();
    let again = app
        .stores
        .sessions
        .rotate_refresh_token(&record.hash, now_ms(), &other, "k1")
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(
        app.stores
            .sessions
            .find_refresh_token(&other.hash)
            .await
            .unwrap(),
        None
    );
}

async fn revoked_sessions_cannot_rotate(app: TestApp) {
    let ada = user("revoke@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let (session, record, _) = session_for(&ada, 60_000);
    app.stores
        .sessions
        .create_session(&session, &record)
        .await
        .unwrap();
    let at = now_ms();
    app.stores
        .sessions
        .revoke_session(&ada.id, &session.id, at)
        .await
        .unwrap();
    // Revoking twice keeps the first instant.
    app.stores
        .sessions
        .revoke_session(&ada.id, &session.id, at + 5)
        .await
        .unwrap();
    let revoked = app
        .stores
        .sessions
        .get_session(&ada.id, &session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at));

    let (_, mut next, _) = session_for(&ada, 60_000);
    next.session_id = session.id.clone();
    let result = app
        .stores
        .sessions
        .rotate_refresh_token(&record.hash, now_ms(), &next, "k1")
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    // The failed rotation spent nothing.
    let record = app
        .stores
        .sessions
        .find_refresh_token(&record.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.spent_at, None);
    // Revoking an unknown session is a no-op, not an error.
    app.stores
        .sessions
        .revoke_session(&ada.id, "unknown", at)
        .await
        .unwrap();
}

async fn ignores_expired_items_before_ttl_deletion(app: TestApp) {
    let ada = user("expired@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let (session, record, _) = session_for(&ada, -1_000);
    app.stores
        .sessions
        .create_session(&session, &record)
        .await
        .unwrap();
    assert_eq!(
        app.stores
            .sessions
            .get_session(&ada.id, &session.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        app.stores
            .sessions
            .find_refresh_token(&record.hash)
            .await
            .unwrap(),
        None
    );
}

async fn refresh_rotates_and_detects_reuse(app: TestApp) {
    let body = support::register_user(&app, "reuse@example.com", "correct horse battery").await;
    let first = body["refreshToken"].as_str().unwrap().to_owned();

    let rotated = refresh_with(&app, &first).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let second = body_json(&rotated)["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);

    // The grace window is zero in this app: replaying the spent token is reuse.
    let replay = refresh_with(&app, &first).await;
    assert_problem(&replay, StatusCode::UNAUTHORIZED, "refresh_token_reused");
    // ...and the whole family is gone, including the newest token.
    let after = refresh_with(&app, &second).await;
    assert_problem(&after, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

async fn concurrent_refreshes_within_grace_share_one_successor(app: TestApp) {
    let body = support::register_user(&app, "tabs@example.com", "correct horse battery").await;
    let token = body["refreshToken"].as_str().unwrap().to_owned();

    let responses = join_all((0..10).map(|_| refresh_with(&app, &token))).await;
    let successors: Vec<String> = responses
        .iter()
        .map(|response| {
            assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
            body_json(response)["refreshToken"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        successors.iter().all(|s| s == &successors[0]),
        "more than one family head"
    );
    assert_ne!(successors[0], token);

    // No revocation: the one successor keeps working.
    let next = refresh_with(&app, &successors[0]).await;
    assert_eq!(next.status(), StatusCode::OK, "{:?}", next.body());
    let head = body_json(&next)["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // Its successor is spent now: replaying the first token, even within the grace window, is
    // reuse, not a walk down the chain to the live head; the whole family ends.
    let replay = refresh_with(&app, &token).await;
    assert_problem(&replay, StatusCode::UNAUTHORIZED, "refresh_token_reused");
    let after = refresh_with(&app, &head).await;
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "{:?}",
        after.body()
    );
}

async fn logout_revokes_the_family(app: TestApp) {
    let ada = user("logout@example.com");
    app.stores
        .users
        .create_user(&ada, &Effects::none())
        .await
        .unwrap();
    let tokens = app
        .sessions()
        .start(&ada, Authentication::password(), SessionOrigin::default())
        .await
        .unwrap();
    app.sessions().end(&tokens.refresh_token).await.unwrap();
    let response = refresh_with(&app, &tokens.refresh_token).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

/// An admin demoted after reading a user cannot still change them: the write requires the
/// admin's role at commit time.
async fn a_demoted_admin_cannot_finish_an_edit(app: TestApp) {
    let admin = user("demoted@example.com");
    let target = user("target@example.com");
    for u in [&admin, &target] {
        app.stores
            .users
            .create_user(u, &Effects::none())
            .await
            .unwrap();
    }
    app.stores
        .users
        .set_role(&admin.id, Role::Admin, now_ms())
        .await
        .unwrap();
    let read = app
        .stores
        .users
        .get_user(&target.id)
        .await
        .unwrap()
        .unwrap();
    let promoted = read.with_profile(
        ProfileChanges {
            role: Some(Role::Admin),
            ..Default::default()
        },
        now_ms(),
    );
    // Demoted between the read and the write.
    app.stores
        .users
        .set_role(&admin.id, Role::User, now_ms())
        .await
        .unwrap();
    let result = app
        .stores
        .users
        .update_profile(
            &read,
            &promoted,
            Some(&held_by(&admin.id)),
            &Effects::none(),
        )
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    let stored = app
        .stores
        .users
        .get_user(&target.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.role, Role::User);
    // Still an admin: the same edit goes through.
    app.stores
        .users
        .set_role(&admin.id, Role::Admin, now_ms())
        .await
        .unwrap();
    app.stores
        .users
        .update_profile(
            &read,
            &promoted,
            Some(&held_by(&admin.id)),
            &Effects::none(),
        )
        .await
        .unwrap();
}

fn config() -> Config {
    Config::for_tests()
}

/// Runs a deleted author's whole clean-up, as the sweeper does; true once it is done.
async fn hide_all_posts_of(app: &TestApp, author: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    shared::jobs::run_account_cleanup(&app.stores, author, deadline)
        .await
        .unwrap()
}

fn held_by(admin: &str) -> shared::store::RoleHeld {
    shared::store::RoleHeld {
        actor_id: admin.to_owned(),
        roles: &[Role::Admin],
    }
}

fn no_grace() -> Config {
    Config {
        refresh_grace: Duration::ZERO,
        ..Config::for_tests()
    }
}

on_both_stores! {
    a_demoted_admin_cannot_finish_an_edit => config(),
    creates_and_finds_users => config(),
    rejects_a_second_user_with_the_same_email => config(),
    lets_exactly_one_of_twenty_concurrent_registrations_win => config(),
    changes_roles_and_bumps_the_version => config(),
    records_logout_everywhere => config(),
    stores_sessions_and_rotates_tokens_once => config(),
    revoked_sessions_cannot_rotate => config(),
    ignores_expired_items_before_ttl_deletion => config(),
    refresh_rotates_and_detects_reuse => no_grace(),
    concurrent_refreshes_within_grace_share_one_successor => config(),
    logout_revokes_the_family => config(),
    a_stale_profile_edit_cannot_undo_logout_everywhere => config(),
    a_password_change_wins_against_profile_edits => config(),
    deletes_users_only_at_the_expected_version => config(),
    hidden_posts_stay_hidden_and_deleted_authors_cannot_post => config(),
    deletes_posts_only_at_the_version_read => config(),
}
