//! With `REQUIRE_EMAIL_VERIFICATION`, an unverified address holds no working account: register
//! answers without a session, sign-in, refresh and every authenticated request refuse it, and a
//! link can be asked for by address without signing in. Both stores.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use shared::config::Config;
use support::links;
use support::{Call, Captured, TestApp, assert_problem, body_json};

const PASSWORD: &str = "correct horse battery";

fn required() -> Config {
    Config {
        require_email_verification: true,
        ..Config::for_tests()
    }
}

async fn verify_mails(mails: &Captured, to: &str) -> usize {
    mails
        .jobs()
        .await
        .iter()
        .filter(|job| {
            matches!(&job.work, shared::jobs::Work::Email(mail)
                if mail.to == to && links::verify(&mail.message).is_some())
        })
        .count()
}

async fn login(app: &TestApp, email: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send(app)
        .await
}

async fn resend_by_address(app: &TestApp, email: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/verify-email/resend")
        .json(json!({ "email": email }))
        .send(app)
        .await
}

async fn an_unverified_address_holds_no_session(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let registered = Call::new(Method::POST, "/api/auth/register")
        .json(json!({ "email": "new@example.com", "password": PASSWORD, "name": "New" }))
        .send(&app)
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let body = body_json(&registered);
    assert_eq!(body["verificationRequired"], true, "{body}");
    assert_eq!(body["user"]["email"], "new@example.com");
    assert!(body.get("accessToken").is_none() && body.get("refreshToken").is_none());
    assert_problem(
        &login(&app, "new@example.com").await,
        StatusCode::FORBIDDEN,
        "email_not_verified",
    );

    // A session that exists anyway (made before the setting was on) is refused everywhere.
    let id = body["user"]["id"].as_str().unwrap();
    let user = app.stores.users.get_user(id).await.unwrap().unwrap();
    let tokens = app
        .sessions()
        .start(
            &user,
            shared::domain::Authentication::password(),
            shared::store::SessionOrigin::default(),
        )
        .await
        .unwrap();
    let me = Call::new(Method::GET, "/api/users/me")
        .token(&tokens.access_token)
        .send(&app)
        .await;
    assert_problem(&me, StatusCode::FORBIDDEN, "email_not_verified");
    let refreshed = support::refresh_with(&app, &tokens.refresh_token).await;
    assert_problem(&refreshed, StatusCode::FORBIDDEN, "email_not_verified");

    // Verified: everything works.
    let token = mails
        .token_mailed_to("new@example.com", links::verify)
        .await;
    let verified = Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": token }))
        .send(&app)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        login(&app, "new@example.com").await.status(),
        StatusCode::OK
    );
    let me = Call::new(Method::GET, "/api/users/me")
        .token(&tokens.access_token)
        .send(&app)
        .await;
    assert_eq!(me.status(), StatusCode::OK);
}

async fn a_link_can_be_asked_for_by_address(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let registered = Call::new(Method::POST, "/api/auth/register")
        .json(json!({ "email": "lost@example.com", "password": PASSWORD, "name": "Lost" }))
        .send(&app)
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    assert_eq!(verify_mails(&mails, "lost@example.com").await, 1);

    let known = resend_by_address(&app, "lost@example.com").await;
    let unknown = resend_by_address(&app, "nobody@example.com").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(known.body(), unknown.body(), "the same answer either way");
    // At most one a minute: the welcome mail was just sent, so nothing more yet, and the
    // answer does not tell.
    assert_eq!(verify_mails(&mails, "lost@example.com").await, 1);
    assert_eq!(verify_mails(&mails, "nobody@example.com").await, 0);

    let invalid = resend_by_address(&app, "not an address").await;
    assert_problem(
        &invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let neither = Call::new(Method::POST, "/api/auth/verify-email/resend")
        .send(&app)
        .await;
    assert_problem(&neither, StatusCode::UNAUTHORIZED, "missing_token");
}

async fn a_resend_by_address_mails_an_unverified_account(app: TestApp) {
    let (app, mails) = support::capturing(app);
    // An account whose welcome mail is older than the minute between links.
    let user = shared::domain::User::new(
        shared::domain::Email::parse("old@example.com").unwrap(),
        shared::domain::DisplayName::parse("Old").unwrap(),
        "unused hash".into(),
        shared::clock::now_ms() - 3_600_000,
    );
    app.stores
        .users
        .create_user(&user, &shared::store::Effects::none())
        .await
        .unwrap();
    let asked = resend_by_address(&app, "old@example.com").await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    assert_eq!(verify_mails(&mails, "old@example.com").await, 1);
    let token = mails
        .token_mailed_to("old@example.com", links::verify)
        .await;
    let verified = Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": token }))
        .send(&app)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    // Verified accounts are mailed nothing more, with the same answer.
    let again = resend_by_address(&app, "old@example.com").await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(verify_mails(&mails, "old@example.com").await, 1);
}

on_both_stores! {
    an_unverified_address_holds_no_session => required(),
    a_link_can_be_asked_for_by_address => required(),
    a_resend_by_address_mails_an_unverified_account => required(),
}
