//! A password is the same password however it was typed: new passwords are stored in Unicode
//! NFKC and every password typed to sign in or confirm is compared in NFKC (register, login,
//! change, self-deletion). New passwords refuse control characters. Hashes made before passwords
//! were normalised still sign in with the password typed as it was then.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::clock::now_ms;
use shared::config::Config;
use shared::store::Effects;
use support::{Call, TestApp, TestResponse, assert_problem, body_json};

/// `päss wörd 9x` with each umlaut as a letter and a combining diaeresis (NFD, as some
/// systems' input methods send it), and precomposed (NFC, as most keyboards type it).
const DECOMPOSED: &str = "pa\u{308}ss wo\u{308}rd 9x";
const COMPOSED: &str = "päss wörd 9x";
/// Full-width forms (an East Asian input method in full-width mode), and what NFKC makes of them.
const FULL_WIDTH: &str = "ｆｕｌｌ ｗｉｄｔｈ ｗｏｒｄｓ";
const HALF_WIDTH: &str = "full width words";

/// argon2id (m=19456, t=2, p=1) of `DECOMPOSED` exactly as typed, with no `data=`: a hash made
/// before passwords were normalised.
const OLDER_HASH_OF_DECOMPOSED: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNsdA$Aee/L902glxHRSDc8KhLExCsWnMXah057IuaGwm9V4g";
/// The same for the ASCII `correct horse battery`.
const OLDER_HASH_OF_ASCII: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNsdA$lXK37CikBCKU8CFfdBQXCZmUIwoeIZ+ijs+ixUN8jyY";

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> TestResponse {
    let mut call = Call::new(Method::POST, path).json(body);
    if let Some(token) = token {
        call = call.token(token);
    }
    call.send(app).await
}

async fn register(app: &TestApp, email: &str, password: &str) -> TestResponse {
    let body = json!({ "email": email, "password": password, "name": "Ada" });
    post(app, "/api/auth/register", None, body).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    let body = json!({ "email": email, "password": password });
    post(app, "/api/auth/login", None, body).await
}

/// Signs in as `email` with `typed`, then changes the password from `current` to `new`.
async fn change_password(
    app: &TestApp,
    email: &str,
    typed: &str,
    current: &str,
    new: &str,
) -> TestResponse {
    let signed_in = login(app, email, typed).await;
    assert_status(&signed_in, StatusCode::OK);
    let access = body_json(&signed_in)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "currentPassword": current, "newPassword": new });
    post(app, "/api/auth/password", Some(&access), body).await
}

fn assert_status(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status(), status, "{:?}", response.body());
}

fn field_error(response: &TestResponse, field: &str, code: &str) {
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let errors = problem["errors"].as_array().expect("field errors");
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["code"] == code),
        "{problem}"
    );
}

async fn stored_hash(app: &TestApp, email: &str) -> String {
    let email = shared::domain::Email::parse(email).unwrap();
    let user = app.stores.users.find_user_by_email(&email).await.unwrap();
    user.expect("the account").password_hash
}

async fn one_password_however_it_is_typed(app: TestApp) {
    let registered = register(&app, "ada@example.com", DECOMPOSED).await;
    assert_status(&registered, StatusCode::CREATED);
    let stored = stored_hash(&app, "ada@example.com").await;
    assert!(stored.contains(",data="), "marked as normalised: {stored}");
    for typed in [COMPOSED, DECOMPOSED] {
        assert_status(&login(&app, "ada@example.com", typed).await, StatusCode::OK);
    }
    assert_problem(
        &login(&app, "ada@example.com", "pass word 9x").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );

    // A change confirms the current password in the other spelling and sets a full-width one.
    let changed = change_password(&app, "ada@example.com", COMPOSED, DECOMPOSED, FULL_WIDTH).await;
    assert_status(&changed, StatusCode::OK);
    let signed_in = login(&app, "ada@example.com", HALF_WIDTH).await;
    assert_status(&signed_in, StatusCode::OK);

    // Deleting one's own account confirms the password the same way.
    let body = body_json(&signed_in);
    let (id, access) = (
        body["user"]["id"].as_str().unwrap(),
        body["accessToken"].as_str().unwrap(),
    );
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{id}?self=true"))
        .token(access)
        .json(json!({ "password": FULL_WIDTH }))
        .send(&app)
        .await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
}

async fn control_characters_are_refused_in_new_passwords(app: TestApp) {
    for bad in [
        "\0".repeat(8),
        "password\0\0\0\0".to_owned(),
        "tab\tseparated words".to_owned(),
        "two\nlines of password".to_owned(),
        "delete\u{7f} this password".to_owned(),
    ] {
        let refused = register(&app, "ada@example.com", &bad).await;
        field_error(&refused, "password", "password_control_characters");
    }
    // Nothing was stored: the address is still free.
    let ada = register(&app, "ada@example.com", "correct horse battery").await;
    assert_status(&ada, StatusCode::CREATED);
    let access = body_json(&ada)["accessToken"].as_str().unwrap().to_owned();
    let refused = post(
        &app,
        "/api/auth/password",
        Some(&access),
        json!({ "currentPassword": "correct horse battery", "newPassword": "new\u{1}password here" }),
    )
    .await;
    field_error(&refused, "newPassword", "password_control_characters");
    assert_status(
        &login(&app, "ada@example.com", "correct horse battery").await,
        StatusCode::OK,
    );
}

/// An account whose hash was made before passwords were normalised signs in with its password
/// typed as it was then (one hash per attempt, no second try with another spelling); its next
/// password is stored normalised. An ASCII password is its own normal form either way.
async fn passwords_hashed_before_normalisation_still_sign_in(app: TestApp) {
    for (email, older_hash) in [
        ("nfd@example.com", OLDER_HASH_OF_DECOMPOSED),
        ("ascii@example.com", OLDER_HASH_OF_ASCII),
    ] {
        let registered = register(&app, email, "a password to replace").await;
        assert_status(&registered, StatusCode::CREATED);
        let id = body_json(&registered)["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let user = app.stores.users.get_user(&id).await.unwrap().unwrap();
        app.stores
            .users
            .change_password(&user, older_hash, now_ms(), &Effects::none())
            .await
            .unwrap();
    }
    let hashes = app.hasher.runs();
    assert_status(
        &login(&app, "nfd@example.com", DECOMPOSED).await,
        StatusCode::OK,
    );
    // Typed otherwise, it is not what that older hash was made from.
    assert_problem(
        &login(&app, "nfd@example.com", COMPOSED).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    assert_status(
        &login(&app, "ascii@example.com", "correct horse battery").await,
        StatusCode::OK,
    );
    assert_eq!(app.hasher.runs() - hashes, 3, "one hash per attempt");

    let changed =
        change_password(&app, "nfd@example.com", DECOMPOSED, DECOMPOSED, DECOMPOSED).await;
    assert_status(&changed, StatusCode::OK);
    assert!(
        stored_hash(&app, "nfd@example.com")
            .await
            .contains(",data=")
    );
    assert_status(
        &login(&app, "nfd@example.com", COMPOSED).await,
        StatusCode::OK,
    );
}

on_both_stores! {
    one_password_however_it_is_typed => Config::for_tests(),
    control_characters_are_refused_in_new_passwords => Config::for_tests(),
    passwords_hashed_before_normalisation_still_sign_in => Config::for_tests(),
}
