//! Two write paths on one item, run concurrently over the shipped router, on both stores:
//! every pair that an attacker or a busy client can line up.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::json;
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::Role;
use shared::jobs::reconcile_outbox;
use shared::store::Effects;
use support::{Account, Call, TestApp, account, account_with_role, assert_problem, body_json};

async fn me(app: &TestApp, token: &str) -> StatusCode {
    Call::new(Method::GET, "/api/users/me")
        .token(token)
        .send(app)
        .await
        .status()
}

/// Defect 6: a stolen session used to flood profile edits cannot survive "log out everywhere".
async fn logout_everywhere_beats_a_flood_of_profile_edits(app: TestApp) {
    let app = Arc::new(app);
    for trial in 0..4 {
        let owner = account(&app, &format!("owner{trial}@example.com"), "Owner").await;
        // The attacker holds a second session of the same account.
        let stolen = Call::new(Method::POST, "/api/auth/login")
            .json(json!({ "email": owner.email, "password": "correct horse battery" }))
            .send(&app)
            .await;
        let stolen = body_json(&stolen);
        let stolen_access = stolen["accessToken"].as_str().unwrap().to_owned();
        let stolen_refresh = stolen["refreshToken"].as_str().unwrap().to_owned();
        let path = format!("/api/users/{}", owner.id);

        let flood = (0..4).map(|_| {
            let (app, path, token) = (app.clone(), path.clone(), stolen_access.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..5 {
                    let response = Call::new(Method::PATCH, &path)
                        .token(&token)
                        .json(json!({ "name": "x" }))
                        .send(&app)
                        .await;
                    statuses.push(response.status());
                }
                statuses
            })
        });
        let flood: Vec<_> = flood.collect();
        tokio::task::yield_now().await;
        // The logout is not conditioned on the user's version: edits cannot make it lose.
        let logout = Call::new(Method::POST, "/api/auth/logout?scope=all")
            .token(&owner.access)
            .send(&app)
            .await;
        assert_eq!(logout.status(), StatusCode::NO_CONTENT);
        let statuses: Vec<StatusCode> = join_all(flood)
            .await
            .into_iter()
            .flat_map(Result::unwrap)
            .collect();
        // Each edit went in before the logout, found its session ended, or lost to the writes
        // around it; whichever, the session is over now.
        assert!(
            statuses.iter().all(|s| [
                StatusCode::OK,
                StatusCode::UNAUTHORIZED,
                StatusCode::CONFLICT
            ]
            .contains(s)),
            "trial {trial}: {statuses:?}"
        );

        assert_eq!(
            me(&app, &stolen_access).await,
            StatusCode::UNAUTHORIZED,
            "trial {trial}"
        );
        let refreshed = support::refresh_with(&app, &stolen_refresh).await;
        assert_problem(
            &refreshed,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        );
    }
}

/// Defect 7: the owner's password change goes through while the attacker floods edits.
async fn a_password_change_goes_through_a_flood_of_profile_edits(app: TestApp) {
    let app = Arc::new(app);
    let owner = account(&app, "pw-owner@example.com", "Owner").await;
    let stolen = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": owner.email, "password": "correct horse battery" }))
        .send(&app)
        .await;
    let stolen_access = body_json(&stolen)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/users/{}", owner.id);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood: Vec<_> = (0..4)
        .map(|_| {
            let (app, path, token, stop) = (
                app.clone(),
                path.clone(),
                stolen_access.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let response = Call::new(Method::PATCH, &path)
                        .token(&token)
                        .json(json!({ "name": "x" }))
                        .send(&app)
                        .await;
                    statuses.push(response.status());
                    if response.status() == StatusCode::UNAUTHORIZED {
                        break;
                    }
                }
                statuses
            })
        })
        .collect();
    tokio::task::yield_now().await;
    // The change is conditioned on the password hash and the session generation, which
    // profile edits leave alone: however many edits go in meanwhile, it goes through.
    let changed = Call::new(Method::POST, "/api/auth/password")
        .token(&owner.access)
        .json(json!({ "currentPassword": "correct horse battery", "newPassword": "battery staple horse" }))
        .send(&app)
        .await;
    assert_eq!(changed.status(), StatusCode::OK, "{:?}", changed.body());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses: Vec<StatusCode> = join_all(flood)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    assert!(
        statuses.iter().all(|s| [
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::CONFLICT
        ]
        .contains(s)),
        "{statuses:?}"
    );
    assert_eq!(me(&app, &stolen_access).await, StatusCode::UNAUTHORIZED);
    // The new password is the one that holds.
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": owner.email, "password": "battery staple horse" }))
        .send(&app)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

/// Defect 8: posts created while their author is being deleted never stay listed.
async fn posts_created_during_the_authors_deletion_stay_hidden(app: TestApp) {
    let app = Arc::new(app);
    let admin = account_with_role(&app, "race-admin@example.com", Role::Admin).await;
    for trial in 0..3 {
        let author = account(&app, &format!("doomed{trial}@example.com"), "Doomed").await;
        let creates: Vec<_> = (0..15)
            .map(|i| {
                let (app, token) = (app.clone(), author.access.clone());
                tokio::spawn(async move {
                    let response = Call::new(Method::POST, "/api/posts")
                        .token(&token)
                        .json(json!({ "title": format!("p{i}"), "content": "c", "status": "published", "tags": ["race"] }))
                        .send(&app)
                        .await;
                    (response.status(), body_json(&response))
                })
            })
            .collect();
        let deleted = Call::new(Method::DELETE, &format!("/api/users/{}", author.id))
            .token(&admin.access)
            .send(&app)
            .await;
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let mut created = Vec::new();
        for outcome in join_all(creates).await {
            let (status, body) = outcome.unwrap();
            assert!(
                status == StatusCode::CREATED || status == StatusCode::UNAUTHORIZED,
                "trial {trial}: {status} {body}"
            );
            if status == StatusCode::CREATED {
                created.push(body["id"].as_str().unwrap().to_owned());
            }
        }
        // A post committed just before the deletion can reach the author index after the
        // request's own pass (index lag on AWS): the relay's or the reconciliation's later pass
        // of the clean-up job hides it. Run that pass now.
        reconcile_outbox(&app.stores, &*app.queue, now_ms() + 1, Duration::ZERO)
            .await
            .unwrap();
        for path in ["/api/posts?limit=100", "/api/posts?tag=race&limit=100"] {
            let listed = Call::new(Method::GET, path).send(&app).await;
            let listed = body_json(&listed);
            let leaked: Vec<_> = listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["authorId"] == author.id.as_str())
                .collect();
            assert!(leaked.is_empty(), "trial {trial}, {path}: {leaked:?}");
        }
        // Each post that was answered 201 exists, and is hidden with its author.
        for id in &created {
            let stored = app.stores.posts.get_post(id).await.unwrap();
            assert!(
                stored.as_ref().is_some_and(|p| p.author_deleted),
                "trial {trial}: {stored:?}"
            );
            let read = Call::new(Method::GET, &format!("/api/posts/{id}"))
                .token(&admin.access)
                .send(&app)
                .await;
            assert_eq!(read.status(), StatusCode::NOT_FOUND, "trial {trial}, {id}");
        }
    }
}

/// Defect 2: a deletion that stopped after the user was marked deleted is finished by an
/// admin repeating it.
async fn a_repeated_deletion_finishes_hiding_the_posts(app: TestApp) {
    let admin = account_with_role(&app, "finisher@example.com", Role::Admin).await;
    let author = account(&app, "half-deleted@example.com", "Half").await;
    let post = Call::new(Method::POST, "/api/posts")
        .token(&author.access)
        .json(json!({ "title": "Still here?", "content": "c", "status": "published" }))
        .send(&app)
        .await;
    let post_path = format!("/api/posts/{}", body_json(&post)["id"].as_str().unwrap());
    // The request died right after the user was marked deleted.
    let user = app
        .stores
        .users
        .get_user(&author.id)
        .await
        .unwrap()
        .unwrap();
    app.stores
        .users
        .delete_user(&user, None, now_ms(), &Effects::none(), None)
        .await
        .unwrap();
    // The posts are still stored unhidden, but reads check their author (defect 12).
    assert_eq!(
        Call::new(Method::GET, &post_path).send(&app).await.status(),
        StatusCode::NOT_FOUND,
        "reads leave a deleted author's posts out"
    );
    let again = Call::new(Method::DELETE, &format!("/api/users/{}", author.id))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        Call::new(Method::GET, &post_path).send(&app).await.status(),
        StatusCode::NOT_FOUND
    );
    let listed = body_json(&Call::new(Method::GET, "/api/posts").send(&app).await);
    assert_eq!(listed["data"].as_array().unwrap().len(), 0);
}

/// Defect 5: whether a session is live does not depend on clocks agreeing: a session started
/// by an instance whose clock is behind stays live, and a login right after "log out
/// everywhere" works.
async fn sessions_do_not_depend_on_clocks(app: TestApp) {
    let ada = account(&app, "clocks@example.com", "Ada").await;
    let logout = Call::new(Method::POST, "/api/auth/logout?scope=all")
        .token(&ada.access)
        .send(&app)
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": ada.email, "password": "correct horse battery" }))
        .send(&app)
        .await;
    let token = body_json(&login)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&app, &token).await, StatusCode::OK);

    // A session written by an instance whose clock is ten minutes behind.
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    let behind = now_ms() - 600_000;
    let session = shared::store::Session {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: ada.id.clone(),
        generation: user.session_generation,
        created_at: behind,
        expires_at: now_ms() + 600_000,
        revoked_at: None,
        last_used_at: behind,
        authentication: shared::domain::Authentication::password(),
        origin: shared::store::SessionOrigin::default(),
    };
    let record = shared::store::RefreshRecord {
        hash: shared::auth::RefreshToken::generate().hash(),
        user_id: ada.id.clone(),
        session_id: session.id.clone(),
        created_at: behind,
        expires_at: session.expires_at,
        spent_at: None,
        successor: None,
    };
    app.stores
        .sessions
        .create_session(&session, &record)
        .await
        .unwrap();
    let keys = app.keys.current().await;
    let token = shared::auth::issue_access_token(
        &keys,
        &app.config,
        &ada.id,
        Role::User,
        &session.id,
        &session.authentication,
        now_ms() / 1000,
    )
    .unwrap();
    assert_eq!(me(&app, &token).await, StatusCode::OK);
}

/// Defects 4 and 11: `If-Match` is a conditional write with RFC 9110 comparison, for `PATCH`
/// and `DELETE`, on users and posts alike.
async fn if_match_is_a_conditional_write_everywhere(app: TestApp) {
    let admin = account_with_role(&app, "etag-admin@example.com", Role::Admin).await;
    let ada: Account = account(&app, "etag@example.com", "Ada").await;
    let post = Call::new(Method::POST, "/api/posts")
        .token(&ada.access)
        .json(json!({ "title": "Tagged", "content": "c" }))
        .send(&app)
        .await;
    let post_path = format!("/api/posts/{}", body_json(&post)["id"].as_str().unwrap());
    let user_path = format!("/api/users/{}", ada.id);
    for path in [&post_path, &user_path] {
        for stale in ["\"99\"", "W/\"1\"", "\"0\", W/\"1\""] {
            for (method, body) in [
                (Method::PATCH, Some(json!({ "name": "N" }))),
                (Method::DELETE, None),
            ] {
                let body = body.map(|b| {
                    if path == &post_path {
                        json!({ "title": "T" })
                    } else {
                        b
                    }
                });
                let mut call = Call::new(method.clone(), path)
                    .token(&admin.access)
                    .header("if-match", stale);
                if let Some(body) = body {
                    call = call.json(body);
                }
                let response = call.send(&app).await;
                assert_problem(
                    &response,
                    StatusCode::PRECONDITION_FAILED,
                    "precondition_failed",
                );
            }
        }
    }
    // A list naming the current version matches.
    let edited = Call::new(Method::PATCH, &post_path)
        .token(&ada.access)
        .header("if-match", "\"7\", \"1\"")
        .json(json!({ "title": "Edited" }))
        .send(&app)
        .await;
    assert_eq!(edited.status(), StatusCode::OK, "{:?}", edited.body());
    let deleted = Call::new(Method::DELETE, &user_path)
        .token(&admin.access)
        .header("if-match", "\"1\", \"2\", \"3\"")
        .send(&app)
        .await;
    // The user is at version 1: the list matches.
    assert_eq!(
        deleted.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        deleted.body()
    );
}

/// Defect 12: one mailbox, one account, however its address is spelled; names and titles
/// carry no invisible characters.
async fn one_mailbox_one_account(app: TestApp) {
    account(&app, "josé@exämple.com", "José").await;
    for spelling in ["josé@xn--exmple-cua.com", "JOSE\u{301}@EXÄMPLE.COM"] {
        let again = Call::new(Method::POST, "/api/auth/register")
            .json(json!({ "email": spelling, "password": "correct horse battery", "name": "Twin" }))
            .send(&app)
            .await;
        assert_problem(&again, StatusCode::CONFLICT, "email_taken");
    }
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "josé@xn--exmple-cua.com", "password": "correct horse battery" }))
        .send(&app)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let token = body_json(&login)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for name in ["admin\u{200B}", "gpj.exe\u{202E}", "tab\there"] {
        let bad = Call::new(Method::POST, "/api/auth/register")
            .json(json!({ "email": "other@example.com", "password": "correct horse battery", "name": name }))
            .send(&app)
            .await;
        let problem = assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "name");
        let post = Call::new(Method::POST, "/api/posts")
            .token(&token)
            .json(json!({ "title": name, "content": "c" }))
            .send(&app)
            .await;
        assert_problem(&post, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
}

/// An admin being demoted while flooding self-promotions must end up demoted: each retry
/// re-checks the caller's stored role, so no self-promotion commits after the demotion.
async fn a_demotion_wins_against_self_promotions(app: TestApp) {
    let app = Arc::new(app);
    let boss = account_with_role(&app, "boss-race@example.com", Role::Admin).await;
    for trial in 0..5 {
        let rogue =
            account_with_role(&app, &format!("rogue{trial}@example.com"), Role::Admin).await;
        let before = app.stores.users.get_user(&rogue.id).await.unwrap().unwrap();
        let path = format!("/api/users/{}", rogue.id);
        let flood: Vec<_> = (0..6)
            .map(|_| {
                let (app, path, token) = (app.clone(), path.clone(), rogue.access.clone());
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    for _ in 0..3 {
                        let response = Call::new(Method::PATCH, &path)
                            .token(&token)
                            .json(json!({ "role": "admin" }))
                            .send(&app)
                            .await;
                        answers.push((response.status(), version_of(&response)));
                    }
                    answers
                })
            })
            .collect();
        tokio::task::yield_now().await;
        // A demotion that loses three times in a row to the flood gives up with 409; each loss
        // needs three flood writes to commit in between, so of the 18 at most six can be lost
        // before the flood runs dry and the demotion goes through.
        let mut lost = 0;
        let demoted = loop {
            let response = Call::new(Method::PATCH, &path)
                .token(&boss.access)
                .json(json!({ "role": "user" }))
                .send(&app)
                .await;
            if response.status() != StatusCode::CONFLICT {
                break response;
            }
            lost += 1;
            assert!(lost <= 6, "trial {trial}: demotion lost {lost} times");
        };
        assert_eq!(
            demoted.status(),
            StatusCode::OK,
            "trial {trial}: {:?}",
            demoted.body()
        );
        let demoted_at = version_of(&demoted).unwrap();
        let answers: Vec<_> = join_all(flood)
            .await
            .into_iter()
            .flat_map(Result::unwrap)
            .collect();
        assert!(
            answers.iter().all(|(status, _)| [
                StatusCode::OK,
                StatusCode::FORBIDDEN,
                StatusCode::CONFLICT
            ]
            .contains(status)),
            "trial {trial}: {answers:?}"
        );
        // Every self-promotion that went through committed before the demotion, and nothing
        // but those and the demotion wrote the user.
        let promoted: Vec<u64> = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .map(|(_, version)| version.unwrap())
            .collect();
        assert!(
            promoted.iter().all(|v| *v < demoted_at),
            "trial {trial}: demoted at {demoted_at}, promoted at {promoted:?}"
        );
        let stored = app.stores.users.get_user(&rogue.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.role, stored.version),
            (Role::User, demoted_at),
            "trial {trial}"
        );
        assert_eq!(
            demoted_at,
            before.version + promoted.len() as u64 + 1,
            "trial {trial}: {answers:?}"
        );
    }
}

/// The version a write answered with, from its `ETag`.
fn version_of(response: &support::TestResponse) -> Option<u64> {
    support::header(response, "etag")?
        .trim_matches('"')
        .parse()
        .ok()
}

/// A password change that came in on a session "log out everywhere" just ended does not hand
/// out a new session.
async fn a_password_change_on_an_ended_session_fails(app: TestApp) {
    let ada = account(&app, "pw-ended@example.com", "Ada").await;
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    app.stores
        .users
        .end_all_sessions(&ada.id, now_ms())
        .await
        .unwrap();
    let result = app
        .stores
        .users
        .change_password(&user, "$argon2id$new", now_ms(), &Effects::none())
        .await;
    assert!(
        matches!(result, Err(shared::store::StoreError::Conflict)),
        "{result:?}"
    );
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    logout_everywhere_beats_a_flood_of_profile_edits => config(),
    a_password_change_goes_through_a_flood_of_profile_edits => config(),
    posts_created_during_the_authors_deletion_stay_hidden => config(),
    a_repeated_deletion_finishes_hiding_the_posts => config(),
    sessions_do_not_depend_on_clocks => config(),
    if_match_is_a_conditional_write_everywhere => config(),
    one_mailbox_one_account => config(),
    a_demotion_wins_against_self_promotions => config(),
    a_password_change_on_an_ended_session_fails => config(),
}
