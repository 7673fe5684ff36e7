//! An event that ends sessions (password reset, password change, "log out everywhere", "log out
//! other sessions") also ends every outstanding account token: a stolen session cannot finish an address change after the
//! owner took the account back, and a reset link dies with a password change. Both stores.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use futures_util::StreamExt;
use serde_json::json;
use shared::config::Config;
use shared::domain::{EnteredPassword, Role};
use shared::jobs::{MailMessage, Work};
use support::links;
use support::{Account, Call, Captured, TestApp, account, account_with_role, assert_problem};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a whole new passphrase";

fn config() -> Config {
    Config {
        reset_mail_gap: std::time::Duration::ZERO,
        ..Config::for_tests()
    }
}

async fn ask_address_change(app: &TestApp, who: &Account, email: &str) {
    let response = Call::new(Method::POST, "/api/users/me/email")
        .token(&who.access)
        .json(json!({ "email": email, "password": PASSWORD }))
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{response:?}");
}

async fn forgot_password(app: &TestApp, email: &str) {
    let response = Call::new(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": email }))
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

async fn reset_password(app: &TestApp, token: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": token, "password": NEW_PASSWORD }))
        .send(app)
        .await
}

async fn follow_link(app: &TestApp, token: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": token }))
        .send(app)
        .await
}

async fn stored_email(app: &TestApp, id: &str) -> String {
    let user = app.stores.users.get_user(id).await.unwrap().unwrap();
    user.email.as_str().to_owned()
}

/// The ways an owner ends every session (but, with the last, the one they are using).
#[derive(Clone, Copy, Debug)]
enum TakeBack {
    Reset,
    PasswordChange,
    LogOutEverywhere,
    LogOutOthers,
}

async fn take_back(app: &TestApp, mails: &Captured, owner: &Account, how: TakeBack) {
    let status = match how {
        TakeBack::Reset => {
            forgot_password(app, &owner.email).await;
            let token = mails.token_mailed_to(&owner.email, links::reset).await;
            reset_password(app, &token).await.status()
        }
        TakeBack::PasswordChange => Call::new(Method::POST, "/api/auth/password")
            .token(&owner.access)
            .json(json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }))
            .send(app)
            .await
            .status(),
        TakeBack::LogOutEverywhere => Call::new(Method::POST, "/api/auth/logout?scope=all")
            .token(&owner.access)
            .send(app)
            .await
            .status(),
        TakeBack::LogOutOthers => Call::new(Method::POST, "/api/auth/logout?scope=others")
            .token(&owner.access)
            .send(app)
            .await
            .status(),
    };
    assert!(status.is_success(), "{how:?}: {status}");
}

/// An attacker with the victim's session and password asks to move the account to their own
/// address; the victim takes the account back; the attacker's link no longer works.
async fn taking_the_account_back_cancels_a_pending_address_change(app: TestApp) {
    let (app, mails) = support::capturing(app);
    for (n, how) in [
        TakeBack::Reset,
        TakeBack::PasswordChange,
        TakeBack::LogOutEverywhere,
        TakeBack::LogOutOthers,
    ]
    .into_iter()
    .enumerate()
    {
        let victim = account(&app, &format!("victim{n}@example.com"), "Victim").await;
        let attacker = format!("attacker{n}@example.net");
        ask_address_change(&app, &victim, &attacker).await;
        let told_at_once = mails.jobs().await.into_iter().any(|job| {
            matches!(&job.work, Work::Email(mail) if mail.to == victim.email
                && matches!(&mail.message, MailMessage::EmailChangeRequested { new_email } if *new_email == attacker))
        });
        assert!(told_at_once, "the current address is told at request time");
        let link = mails.token_mailed_to(&attacker, links::change).await;

        take_back(&app, &mails, &victim, how).await;

        assert_problem(
            &follow_link(&app, &link).await,
            StatusCode::BAD_REQUEST,
            "invalid_token",
        );
        assert_eq!(
            stored_email(&app, &victim.id).await,
            victim.email,
            "{how:?}"
        );
    }
}

/// A reset link mailed before a password change (or "log out everywhere") no longer resets.
async fn a_reset_link_dies_with_a_password_change(app: TestApp) {
    let (app, mails) = support::capturing(app);
    for (n, how) in [
        TakeBack::PasswordChange,
        TakeBack::LogOutEverywhere,
        TakeBack::LogOutOthers,
    ]
    .into_iter()
    .enumerate()
    {
        let ada = account(&app, &format!("ada{n}@example.com"), "Ada").await;
        forgot_password(&app, &ada.email).await;
        let token = mails.token_mailed_to(&ada.email, links::reset).await;
        take_back(&app, &mails, &ada, how).await;
        assert_problem(
            &reset_password(&app, &token).await,
            StatusCode::BAD_REQUEST,
            "invalid_token",
        );
    }
}

/// A verification link mailed before a password change no longer verifies.
async fn a_verification_link_dies_with_a_password_change(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let ada = account(&app, "verify-later@example.com", "Ada").await;
    let token = mails.token_mailed_to(&ada.email, links::verify).await;
    take_back(&app, &mails, &ada, TakeBack::PasswordChange).await;
    assert_problem(
        &follow_link(&app, &token).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    );
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert!(!user.email_verified);
}

/// A reset link is only good while the account has the address it was mailed to.
async fn a_reset_link_dies_with_an_address_change(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let ada = account(&app, "before@example.com", "Ada").await;
    forgot_password(&app, &ada.email).await;
    let reset = mails.token_mailed_to(&ada.email, links::reset).await;
    ask_address_change(&app, &ada, "after@example.com").await;
    let change = mails
        .token_mailed_to("after@example.com", links::change)
        .await;
    assert_eq!(
        follow_link(&app, &change).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &reset_password(&app, &reset).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    );
}

/// An admin sets a user's address (here: to the one the user has a pending change to). Any
/// address change cancels the links mailed for the old one: the pending change (DynamoDB once
/// refused confirming it, two actions on one marker item) and a reset link, which would
/// otherwise come back to life if the address ever returned. The old address is told.
async fn an_admin_address_change_cancels_pending_links(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let ada = account(&app, "ada-old@example.com", "Ada").await;
    ask_address_change(&app, &ada, "ada-new@example.com").await;
    let change = mails
        .token_mailed_to("ada-new@example.com", links::change)
        .await;
    forgot_password(&app, &ada.email).await;
    let reset = mails.token_mailed_to(&ada.email, links::reset).await;
    let path = format!("/api/users/{}", ada.id);
    let set_address = |email: &'static str| {
        Call::new(Method::PATCH, &path)
            .token(&admin.access)
            .json(json!({ "email": email }))
    };
    let patched = set_address("ada-new@example.com").send(&app).await;
    assert_eq!(patched.status(), StatusCode::OK, "{patched:?}");
    let told = mails.jobs().await.into_iter().any(|job| {
        matches!(&job.work, Work::Email(mail) if mail.to == "ada-old@example.com"
            && matches!(&mail.message, MailMessage::EmailChanged { new_email } if new_email == "ada-new@example.com"))
    });
    assert!(told, "the old address is told");
    assert_problem(
        &follow_link(&app, &change).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    );
    // Back to the old address: the reset link mailed there stays dead.
    let back = set_address("ada-old@example.com").send(&app).await;
    assert_eq!(back.status(), StatusCode::OK, "{back:?}");
    assert_problem(
        &reset_password(&app, &reset).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    );
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert_eq!(user.email.as_str(), "ada-old@example.com");
    // The address the pending change named is free again.
    account(&app, "ada-new@example.com", "Someone").await;
}

/// A self-deletion whose body arrives after the owner changed the password (a stolen session
/// holding the request open) is refused: it holds only for the credentials it checked.
async fn a_held_self_deletion_dies_with_a_password_change(app: TestApp) {
    let app = Arc::new(app);
    let ada = account(&app, "held@example.com", "Ada").await;
    let (send_rest, rest) = tokio::sync::oneshot::channel::<()>();
    let body = format!(r#"{{"password": "{PASSWORD}"}}"#);
    let (first, second) = body.split_at(1);
    let (first, second) = (first.to_owned(), second.to_owned());
    let chunks = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
        futures_util::stream::once(async move {
            let _ = rest.await;
            Ok(second)
        }),
    );
    let request = axum::http::Request::builder()
        .method(Method::DELETE)
        .uri(format!("/api/users/{}?self=true", ada.id))
        .header("authorization", format!("Bearer {}", ada.access))
        .header("content-type", "application/json")
        .body(axum::body::Body::from_stream(chunks))
        .unwrap();
    let deleting = tokio::spawn({
        let app = app.clone();
        async move { support::send(&app, request).await }
    });
    // Whether or not the deletion read its caller before this lands, it must not win after it.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let changed = Call::new(Method::POST, "/api/auth/password")
        .token(&ada.access)
        .json(json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }))
        .send(&app)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    send_rest.send(()).unwrap();
    let deleted = deleting.await.unwrap();
    assert_eq!(deleted.status(), StatusCode::UNAUTHORIZED, "{deleted:?}");
    let user = app.stores.users.get_user(&ada.id).await.unwrap().unwrap();
    assert!(user.is_active());
}

/// The link followed while the owner changes the password: whichever commits first wins, and
/// the stored state is what the answers say (never a change that answered 400, never both a
/// 204 link and the old address).
async fn a_link_racing_a_password_change_lands_whole_or_not_at_all(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let app = Arc::new(app);
    for n in 0..6 {
        let victim = account(&app, &format!("race{n}@example.com"), "Victim").await;
        let attacker = format!("race-attacker{n}@example.net");
        ask_address_change(&app, &victim, &attacker).await;
        let link = mails.token_mailed_to(&attacker, links::change).await;
        let (followed, changed) = tokio::join!(
            follow_link(&app, &link),
            Call::new(Method::POST, "/api/auth/password")
                .token(&victim.access)
                .json(json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }))
                .send(&app)
        );
        let stored = stored_email(&app, &victim.id).await;
        match followed.status() {
            StatusCode::NO_CONTENT => assert_eq!(stored, attacker, "the link won"),
            StatusCode::BAD_REQUEST => assert_eq!(stored, victim.email, "the change won"),
            other => panic!("link: {other} {:?}", followed.body()),
        }
        // The password change succeeds either way (it does not depend on the address), or loses
        // a race with the address change and says so.
        assert!(
            [StatusCode::OK, StatusCode::CONFLICT].contains(&changed.status()),
            "{:?}",
            changed.body()
        );
        let user = app
            .stores
            .users
            .get_user(&victim.id)
            .await
            .unwrap()
            .unwrap();
        let changed_password = changed.status() == StatusCode::OK;
        assert_eq!(
            app.hasher
                .verify(
                    &EnteredPassword::new(NEW_PASSWORD),
                    Some(&user.password_hash)
                )
                .await
                .unwrap(),
            changed_password
        );
    }
}

on_both_stores! {
    a_link_racing_a_password_change_lands_whole_or_not_at_all => config(),
    taking_the_account_back_cancels_a_pending_address_change => config(),
    a_reset_link_dies_with_a_password_change => config(),
    a_verification_link_dies_with_a_password_change => config(),
    a_reset_link_dies_with_an_address_change => config(),
    an_admin_address_change_cancels_pending_links => config(),
    a_held_self_deletion_dies_with_a_password_change => config(),
}
