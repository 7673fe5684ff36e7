//! A write that only the actor's role allows commits only while the actor still holds it (an
//! admin demoted between reading and writing cannot still delete a user; a moderator demoted
//! cannot still edit or an admin delete someone else's post), and deleting your own account
//! takes your password. Both stores.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::Role;
use shared::store::{Effects, RoleHeld, StoreError};
use support::{Call, TestApp, account, account_with_role, assert_problem, body_json};

const PASSWORD: &str = "correct horse battery";

fn held(actor: &str, roles: &'static [Role]) -> RoleHeld {
    RoleHeld {
        actor_id: actor.to_owned(),
        roles,
    }
}

async fn demote(app: &TestApp, id: &str) {
    app.stores
        .users
        .set_role(id, Role::User, now_ms())
        .await
        .unwrap();
}

async fn a_demoted_admin_cannot_finish_deleting_a_user(app: TestApp) {
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let target = account(&app, "target@example.com", "Target").await;
    let read = app
        .stores
        .users
        .get_user(&target.id)
        .await
        .unwrap()
        .unwrap();
    demote(&app, &admin.id).await;
    let result = app
        .stores
        .users
        .delete_user(
            &read,
            None,
            now_ms(),
            &Effects::none(),
            Some(&held(&admin.id, &[Role::Admin])),
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
    assert!(stored.is_active());
    // Over HTTP the demoted admin is refused, and the user is still there.
    let refused = Call::new(Method::DELETE, &format!("/api/users/{}", target.id))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
}

async fn create_post(app: &TestApp, token: &str) -> Value {
    let created = Call::new(Method::POST, "/api/posts")
        .token(token)
        .json(json!({ "title": "Hello", "content": "Body", "status": "published" }))
        .send(app)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    body_json(&created)
}

async fn demoted_staff_cannot_finish_editing_or_deleting_a_post(app: TestApp) {
    let moderator = account_with_role(&app, "mod@example.com", Role::Moderator).await;
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let author = account(&app, "author@example.com", "Author").await;
    let id = create_post(&app, &author.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = app.stores.posts.get_post(&id).await.unwrap().unwrap();
    let mut archived = read.clone();
    archived.status = shared::domain::PostStatus::Archived;
    archived.version += 1;

    demote(&app, &moderator.id).await;
    let edit = app
        .stores
        .posts
        .update_post(
            &read,
            &archived,
            Some(&held(&moderator.id, &[Role::Moderator, Role::Admin])),
        )
        .await;
    assert!(matches!(edit, Err(StoreError::Conflict)), "{edit:?}");

    demote(&app, &admin.id).await;
    let delete = app
        .stores
        .posts
        .delete_post(&read, Some(&held(&admin.id, &[Role::Admin])))
        .await;
    assert!(matches!(delete, Err(StoreError::Conflict)), "{delete:?}");

    let stored = app.stores.posts.get_post(&id).await.unwrap().unwrap();
    assert_eq!(stored, read, "neither write landed");
    // The author's own edit needs no role.
    app.stores
        .posts
        .update_post(&read, &archived, None)
        .await
        .unwrap();
}

async fn deleting_your_own_account_takes_your_password(app: TestApp) {
    let ada = account(&app, "ada@example.com", "Ada").await;
    let path = format!("/api/users/{}?self=true", ada.id);
    let without = Call::new(Method::DELETE, &path)
        .token(&ada.access)
        .send(&app)
        .await;
    let body = assert_problem(
        &without,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["errors"][0]["field"], "password", "{body}");
    let wrong = Call::new(Method::DELETE, &path)
        .token(&ada.access)
        .json(json!({ "password": "not the password" }))
        .send(&app)
        .await;
    let body = assert_problem(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["errors"][0]["code"], "incorrect", "{body}");
    let mut garbage = Call::new(Method::DELETE, &path)
        .token(&ada.access)
        .header("content-type", "text/plain")
        .request();
    *garbage.body_mut() = axum::body::Body::from(format!("password={PASSWORD}"));
    let garbage = support::send(&app, garbage).await;
    assert_eq!(garbage.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert!(user.is_active(), "still there after refused attempts");

    let deleted = Call::new(Method::DELETE, &path)
        .token(&ada.access)
        .json(json!({ "password": PASSWORD }))
        .send(&app)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert!(!user.is_active());
}

/// Wrong passwords on deletion count against the account's lock like logins.
async fn deletion_guesses_count_against_the_lock(app: TestApp) {
    let ada = account(&app, "guess@example.com", "Ada").await;
    let path = format!("/api/users/{}?self=true", ada.id);
    let mut last = None;
    for _ in 0..30 {
        let response = Call::new(Method::DELETE, &path)
            .token(&ada.access)
            .json(json!({ "password": "a wrong guess" }))
            .send(&app)
            .await;
        let status = response.status();
        last = Some(response);
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    let last = last.unwrap();
    assert_problem(&last, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let right = Call::new(Method::DELETE, &path)
        .token(&ada.access)
        .json(json!({ "password": PASSWORD }))
        .send(&app)
        .await;
    assert_eq!(
        right.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked: refused even when right"
    );
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert!(user.is_active());
}

async fn a_demoted_admin_cannot_finish_a_lead_edit(app: TestApp) {
    let admin = account_with_role(&app, "leads-admin@example.com", Role::Admin).await;
    let submitted = Call::new(Method::POST, "/api/leads")
        .json(json!({ "phone": "+12025550123", "source": "landing" }))
        .send(&app)
        .await;
    assert_eq!(submitted.status(), StatusCode::ACCEPTED);
    let id = body_json(&submitted)["id"].as_str().unwrap().to_owned();
    let read = app.stores.leads.get_lead(&id).await.unwrap().unwrap();
    let closed = read.with_status(shared::domain::LeadStatus::Closed, now_ms());
    demote(&app, &admin.id).await;
    let result = app
        .stores
        .leads
        .update_lead(&read, &closed, &held(&admin.id, &[Role::Admin]))
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(app.stores.leads.get_lead(&id).await.unwrap().unwrap(), read);
    let refused = Call::new(Method::PATCH, &format!("/api/leads/{id}"))
        .token(&admin.access)
        .json(json!({ "status": "closed" }))
        .send(&app)
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
}

on_both_stores! {
    a_demoted_admin_cannot_finish_a_lead_edit => Config::for_tests(),
    a_demoted_admin_cannot_finish_deleting_a_user => Config::for_tests(),
    demoted_staff_cannot_finish_editing_or_deleting_a_post => Config::for_tests(),
    deleting_your_own_account_takes_your_password => Config::for_tests(),
    deletion_guesses_count_against_the_lock => Config {
        rate_limits: shared::limits::RateLimits::default(),
        ..Config::for_tests()
    },
}
