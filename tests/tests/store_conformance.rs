//! One suite, both adapters: every case runs on the embedded SQLite store and on DynamoDB
//! (the moto server started by `scripts/test`).

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use lambda_http::http::StatusCode;
use shared::auth::{RefreshToken, start_session};
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::{DisplayName, Email, Role, User};
use shared::store::{RefreshRecord, Session, StoreError};
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
        created_at: now,
        expires_at: now + expires_in_ms,
        revoked_at: None,
    };
    let record = RefreshRecord {
        hash: token.hash(),
        user_id: user.id.clone(),
        session_id: session.id.clone(),
        created_at: now,
        expires_at: now + expires_in_ms,
        spent_at: None,
    };
    (session, record, token)
}

async fn creates_and_finds_users(app: TestApp) {
    let ada = user("ada@example.com");
    app.stores.users.create_user(&ada).await.unwrap();
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
        .create_user(&user("dup@example.com"))
        .await
        .unwrap();
    let second = user("dup@example.com");
    let result = app.stores.users.create_user(&second).await;
    assert!(matches!(result, Err(StoreError::EmailTaken)), "{result:?}");
    // The loser left nothing behind.
    assert_eq!(app.stores.users.get_user(&second.id).await.unwrap(), None);
}

async fn lets_exactly_one_of_twenty_concurrent_registrations_win(app: TestApp) {
    let attempts = (0..20).map(|_| {
        let candidate = user("race@example.com");
        let users = app.stores.users.clone();
        async move { users.create_user(&candidate).await }
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
    app.stores.users.create_user(&ada).await.unwrap();
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
    app.stores.users.create_user(&ada).await.unwrap();
    let at = now_ms();
    app.stores
        .users
        .invalidate_sessions(&ada.id, at)
        .await
        .unwrap();
    let stored = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert_eq!(stored.sessions_valid_after, at);
    let missing = app.stores.users.invalidate_sessions("nobody", at).await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

async fn stores_sessions_and_rotates_tokens_once(app: TestApp) {
    let ada = user("session@example.com");
    app.stores.users.create_user(&ada).await.unwrap();
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
        .rotate_refresh_token(&record.hash, spent_at, &next)
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
        .rotate_refresh_token(&record.hash, now_ms(), &other)
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
    app.stores.users.create_user(&ada).await.unwrap();
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
        .rotate_refresh_token(&record.hash, now_ms(), &next)
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
    app.stores.users.create_user(&ada).await.unwrap();
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
}

async fn logout_revokes_the_family(app: TestApp) {
    let ada = user("logout@example.com");
    app.stores.users.create_user(&ada).await.unwrap();
    let tokens = start_session(&app, &ada).await.unwrap();
    shared::auth::logout(&app, &tokens.refresh_token)
        .await
        .unwrap();
    let response = refresh_with(&app, &tokens.refresh_token).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

fn config() -> Config {
    Config::for_tests()
}

fn no_grace() -> Config {
    Config {
        refresh_grace: Duration::ZERO,
        ..Config::for_tests()
    }
}

macro_rules! conformance {
    ($($case:ident => $config:expr),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(support::sqlite_app_with($config)).await;
                }
            )*
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(support::dynamo_app_with($config).await).await;
                }
            )*
        }
    };
}

conformance! {
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
}
