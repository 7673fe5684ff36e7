//! New passwords found in known breaches are refused at registration, password change and
//! reset: by the built-in list, an offline set built by `breached-filter`, and the Pwned
//! Passwords range API (a stand-in on loopback here). Only the hash's 5-character prefix is
//! sent; padding is not a breach; a failing API gets the configured policy; login never checks.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::BreachedPasswords;
use shared::auth::breached::COMMON_PASSWORDS;
use shared::config::{BreachSources, BreachedPasswordsConfig, Config, OnCheckError};
use shared::domain::Password;

use crate::support::range_api::{Answer, RangeStandIn, sha1_hex};
use crate::support::{
    self, Call, TestApp, TestResponse, account, assert_problem, body_json, links,
    with_breached_passwords,
};

/// In no built-in list; the stand-in lists it.
const BREACHED: &str = "monkey-business-1987";
const CLEAN: &str = "correct horse battery";
/// In the built-in list (lower-cased): refused with no network.
const COMMON: &str = "Sunshine";

fn online(range: &RangeStandIn, on_error: OnCheckError) -> BreachedPasswordsConfig {
    BreachedPasswordsConfig {
        check: BreachSources::Online,
        on_error,
        // Generous: loopback under a loaded test run; the failure cases use `failing`.
        timeout: Duration::from_secs(5),
        url: range.url.clone(),
        ..BreachedPasswordsConfig::default()
    }
}

/// For a stand-in that hangs: the budget runs out quickly.
fn failing(range: &RangeStandIn, on_error: OnCheckError) -> BreachedPasswordsConfig {
    BreachedPasswordsConfig {
        timeout: Duration::from_millis(300),
        ..online(range, on_error)
    }
}

async fn post(app: &TestApp, path: &str, body: Value) -> TestResponse {
    Call::new(Method::POST, path).json(body).send(app).await
}

async fn register(app: &TestApp, email: &str, password: &str) -> TestResponse {
    let body = json!({ "email": email, "password": password, "name": "Ada" });
    post(app, "/api/auth/register", body).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    post(
        app,
        "/api/auth/login",
        json!({ "email": email, "password": password }),
    )
    .await
}

async fn change_password(app: &TestApp, access: &str, current: &str, new: &str) -> TestResponse {
    Call::new(Method::POST, "/api/auth/password")
        .token(access)
        .json(json!({ "currentPassword": current, "newPassword": new }))
        .send(app)
        .await
}

async fn reset_password(app: &TestApp, token: &str, password: &str) -> TestResponse {
    post(
        app,
        "/api/auth/reset-password",
        json!({ "token": token, "password": password }),
    )
    .await
}

fn assert_status(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status(), status, "{:?}", response.body());
}

/// A 422 naming `field` with `password_breached`, and only that.
fn assert_breached(response: &TestResponse, field: &str) {
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let errors = problem["errors"].as_array().expect("field errors");
    assert_eq!(errors.len(), 1, "{problem}");
    assert_eq!(errors[0]["field"], field, "{problem}");
    assert_eq!(errors[0]["code"], "password_breached", "{problem}");
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("breach"), "{message}");
}

/// The one request the stand-in got since it was last read asked for `password`'s prefix, and
/// nothing else of the password's hash went out.
fn assert_asked_only_the_prefix_of(range: &RangeStandIn, password: &str) {
    let received = range.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    let hash = sha1_hex(password);
    assert_eq!(request.path, format!("/range/{}", &hash[..5]));
    assert_eq!(request.query, None);
    assert_eq!(request.add_padding.as_deref(), Some("true"));
    for header in &request.headers {
        let header = header.to_uppercase();
        assert!(!header.contains(&hash[5..12]), "{header}");
        assert!(!header.contains(&password.to_uppercase()), "{header}");
    }
}

async fn registration_refuses_a_breached_password_and_sends_only_a_prefix(app: TestApp) {
    let range = RangeStandIn::start().await;
    range.list(BREACHED, 42);
    let app = with_breached_passwords(app, online(&range, OnCheckError::Allow));

    assert_breached(
        &register(&app, "ada@example.com", BREACHED).await,
        "password",
    );
    assert_asked_only_the_prefix_of(&range, BREACHED);

    // Nothing was stored: the address is still free.
    let accepted = register(&app, "ada@example.com", CLEAN).await;
    assert_status(&accepted, StatusCode::CREATED);
    assert_asked_only_the_prefix_of(&range, CLEAN);
}

async fn a_password_change_refuses_a_breached_new_password(app: TestApp) {
    let range = RangeStandIn::start().await;
    range.list(BREACHED, 3);
    let app = with_breached_passwords(app, online(&range, OnCheckError::Allow));
    let ada = account(&app, "ada@example.com", "Ada").await;
    range.received();

    let refused = change_password(&app, &ada.access, CLEAN, BREACHED).await;
    assert_breached(&refused, "newPassword");
    assert_asked_only_the_prefix_of(&range, BREACHED);
    // The password is unchanged and the session lives on.
    assert_eq!(
        login(&app, &ada.email, CLEAN).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, &ada.email, BREACHED).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A wrong current password is answered as before, and nothing is asked of the range API.
    let wrong = change_password(&app, &ada.access, "not my password", BREACHED).await;
    let problem = assert_problem(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        problem["errors"][0]["field"], "currentPassword",
        "{problem}"
    );
    assert!(range.received().is_empty());

    let accepted = change_password(&app, &ada.access, CLEAN, "a brand new secret").await;
    assert_status(&accepted, StatusCode::OK);
    assert_asked_only_the_prefix_of(&range, "a brand new secret");
}

async fn a_reset_refuses_a_breached_password_and_keeps_the_link(app: TestApp) {
    let range = RangeStandIn::start().await;
    range.list(BREACHED, 7);
    let app = with_breached_passwords(app, online(&range, OnCheckError::Allow));
    let (app, mails) = support::capturing(app);
    account(&app, "ada@example.com", "Ada").await;
    let forgot = post(
        &app,
        "/api/auth/forgot-password",
        json!({ "email": "ada@example.com" }),
    )
    .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let token = mails.token_mailed_to("ada@example.com", links::reset).await;
    range.received();

    // Without a valid link the password is not even looked at.
    let forged = reset_password(&app, &"A".repeat(43), BREACHED).await;
    assert_problem(&forged, StatusCode::BAD_REQUEST, "invalid_token");
    assert!(range.received().is_empty());

    assert_breached(&reset_password(&app, &token, BREACHED).await, "password");
    assert_asked_only_the_prefix_of(&range, BREACHED);
    assert_eq!(
        login(&app, "ada@example.com", CLEAN).await.status(),
        StatusCode::OK
    );

    // The link was not spent by the refusal.
    let reset = reset_password(&app, &token, "a brand new secret").await;
    assert_status(&reset, StatusCode::NO_CONTENT);
    let signed_in = login(&app, "ada@example.com", "a brand new secret").await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

async fn padding_that_matches_the_suffix_is_not_a_breach(app: TestApp) {
    let range = RangeStandIn::start().await;
    range.list(CLEAN, 0);
    let app = with_breached_passwords(app, online(&range, OnCheckError::Refuse));
    let accepted = register(&app, "ada@example.com", CLEAN).await;
    assert_status(&accepted, StatusCode::CREATED);
    assert_asked_only_the_prefix_of(&range, CLEAN);
}

/// What the stand-in does wrong, each in turn: a 500, a 404, no answer in time, and bodies
/// that are not an answer.
const FAILURES: [Answer; 6] = [
    Answer::Status(StatusCode::INTERNAL_SERVER_ERROR),
    Answer::Status(StatusCode::NOT_FOUND),
    Answer::Hang,
    Answer::Body("<html><body>Access denied by your proxy</body></html>"),
    Answer::Body("1E4C9B93F3F0682250B6CF8331B7EE68FD8:lots\r\n"),
    Answer::Body(""),
];

async fn a_failing_range_api_lets_passwords_through_when_allowed(app: TestApp) {
    let range = RangeStandIn::start().await;
    range.list(BREACHED, 9);
    let app = with_breached_passwords(app, failing(&range, OnCheckError::Allow));
    for (i, failure) in FAILURES.into_iter().enumerate() {
        range.answer_with(failure);
        let accepted = register(&app, &format!("user{i}@example.com"), BREACHED).await;
        assert_status(&accepted, StatusCode::CREATED);
    }
    // The built-in list needs no network: still refused.
    range.received();
    assert_breached(
        &register(&app, "common@example.com", COMMON).await,
        "password",
    );
    assert!(range.received().is_empty());
}

async fn a_failing_range_api_refuses_passwords_when_told(app: TestApp) {
    let range = RangeStandIn::start().await;
    let app = with_breached_passwords(app, failing(&range, OnCheckError::Refuse));
    for (i, failure) in FAILURES.into_iter().enumerate() {
        range.answer_with(failure);
        let refused = register(&app, "ada@example.com", CLEAN).await;
        assert_problem(
            &refused,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        );
        assert!(refused.headers().get("retry-after").is_some(), "{i}");
    }
    // Once it answers, the same registration goes through: nothing was stored before.
    range.answer_with(Answer::Listing);
    let accepted = register(&app, "ada@example.com", CLEAN).await;
    assert_status(&accepted, StatusCode::CREATED);
}

async fn the_offline_set_built_by_the_tool_refuses_what_it_lists(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breached.set");
    let list = format!("{BREACHED}\r\nanother leaked password\n");
    let options = infra::breached_filter::Options {
        input: infra::breached_filter::Input::Passwords,
        ..Default::default()
    };
    let mut file = std::fs::File::create(&path).unwrap();
    infra::breached_filter::build(list.as_bytes(), options, &mut file).unwrap();
    let app = with_breached_passwords(
        app,
        BreachedPasswordsConfig {
            check: BreachSources::Offline,
            filter: Some(path),
            ..BreachedPasswordsConfig::default()
        },
    );
    assert_breached(
        &register(&app, "ada@example.com", BREACHED).await,
        "password",
    );
    assert_breached(
        &register(&app, "ada@example.com", "another leaked password").await,
        "password",
    );
    // Exactly as listed: case matters in a set built without --lowercase.
    let other_case = register(&app, "ada@example.com", &BREACHED.to_uppercase()).await;
    assert_status(&other_case, StatusCode::CREATED);
    let clean = register(&app, "bob@example.com", CLEAN).await;
    assert_status(&clean, StatusCode::CREATED);
}

/// The defaults (`offline`): the built-in list, in any case, with no network.
async fn common_passwords_are_refused_offline_by_default(app: TestApp) {
    assert_eq!(app.config.breached_passwords.check, BreachSources::Offline);
    for common in [COMMON, "password123", "QWERTY123"] {
        assert_breached(&register(&app, "ada@example.com", common).await, "password");
    }
    let accepted = register(&app, "ada@example.com", BREACHED).await;
    assert_status(&accepted, StatusCode::CREATED);
}

/// Another spelling of a listed password is that password: full-width forms (compared in
/// NFKC) and whitespace around it or doubled inside (compared folded), offline and online. The
/// length rule still counts the password as given.
async fn other_spellings_of_a_breached_password_are_refused(app: TestApp) {
    for spelling in [
        "ｐａｓｓｗｏｒｄ１２３",
        "password123 ",
        "  password123",
        "\u{3000}Password123\u{A0}",
    ] {
        assert_breached(
            &register(&app, "ada@example.com", spelling).await,
            "password",
        );
    }
    let range = RangeStandIn::start().await;
    range.list("monkey business 1987", 3);
    let app = with_breached_passwords(app, online(&range, OnCheckError::Refuse));
    let doubled = "monkey  business   1987";
    assert_breached(
        &register(&app, "ada@example.com", doubled).await,
        "password",
    );
    // The password as given, then the folded one: two prefixes, nothing more of either hash.
    let asked: Vec<String> = range.received().into_iter().map(|r| r.path).collect();
    let prefix = |password: &str| format!("/range/{}", &sha1_hex(password)[..5]);
    assert_eq!(asked, [prefix(doubled), prefix("monkey business 1987")]);
    let accepted = register(&app, "ada@example.com", "monkey business 1988").await;
    assert_status(&accepted, StatusCode::CREATED);
}

async fn off_checks_nothing(app: TestApp) {
    let accepted = register(&app, "ada@example.com", COMMON).await;
    assert_status(&accepted, StatusCode::CREATED);
}

async fn login_never_checks_breaches(app: TestApp) {
    let range = RangeStandIn::start().await;
    let app = with_breached_passwords(app, online(&range, OnCheckError::Refuse));
    let ada = account(&app, "ada@example.com", "Ada").await;
    // The password is found in a breach after the account was made; and the API breaks.
    range.list(CLEAN, 12);
    range.answer_with(Answer::Status(StatusCode::INTERNAL_SERVER_ERROR));
    range.received();
    let signed_in = login(&app, &ada.email, CLEAN).await;
    assert_status(&signed_in, StatusCode::OK);
    let wrong = login(&app, &ada.email, BREACHED).await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = login(&app, "nobody@example.com", BREACHED).await;
    assert_problem(&unknown, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert!(range.received().is_empty());
    let body: Value = body_json(&signed_in);
    assert!(body["accessToken"].is_string());
}

on_both_stores! {
    registration_refuses_a_breached_password_and_sends_only_a_prefix => Config::for_tests(),
    a_password_change_refuses_a_breached_new_password => Config::for_tests(),
    a_reset_refuses_a_breached_password_and_keeps_the_link => Config::for_tests(),
    padding_that_matches_the_suffix_is_not_a_breach => Config::for_tests(),
    a_failing_range_api_lets_passwords_through_when_allowed => Config::for_tests(),
    a_failing_range_api_refuses_passwords_when_told => Config::for_tests(),
    the_offline_set_built_by_the_tool_refuses_what_it_lists => Config::for_tests(),
    common_passwords_are_refused_offline_by_default => Config::for_tests(),
    other_spellings_of_a_breached_password_are_refused => Config::for_tests(),
    off_checks_nothing => Config {
        breached_passwords: BreachedPasswordsConfig {
            check: BreachSources::Off,
            ..BreachedPasswordsConfig::default()
        },
        ..Config::for_tests()
    },
    login_never_checks_breaches => Config::for_tests(),
}

#[test]
fn the_built_in_list_is_what_the_tool_builds_from_its_source() {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/common-passwords.txt");
    let list = std::fs::read(source).unwrap();
    let options = infra::breached_filter::Options {
        input: infra::breached_filter::Input::Passwords,
        lowercase: true,
        ..Default::default()
    };
    let mut built = Vec::new();
    infra::breached_filter::build(list.as_slice(), options, &mut built).unwrap();
    assert!(
        built == COMMON_PASSWORDS,
        "rebuild shared/src/auth/breached/common-passwords.bin (README, Breached passwords)"
    );
    // Each line is a password the length rule lets through.
    let text = String::from_utf8(list).unwrap();
    assert!(text.lines().all(|line| line.chars().count() >= 8));
}

#[tokio::test]
async fn an_unreadable_filter_file_follows_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.set");
    std::fs::write(&garbage, b"this is not a set of hashes").unwrap();
    let password = Password::parse(CLEAN.into(), None).unwrap();
    for path in [dir.path().join("missing.set"), garbage] {
        for (on_error, accepted) in [(OnCheckError::Allow, true), (OnCheckError::Refuse, false)] {
            let checker = BreachedPasswords::new(BreachedPasswordsConfig {
                filter: Some(path.clone()),
                on_error,
                ..BreachedPasswordsConfig::default()
            });
            let outcome = checker.check(&password).await;
            assert_eq!(
                outcome.is_ok(),
                accepted,
                "{path:?} {on_error:?}: {outcome:?}"
            );
            if let Err(refusal) = outcome {
                assert!(matches!(refusal, shared::auth::Refusal::Unchecked(_)));
            }
        }
    }
}

/// A range API that reads the first request and closes the connection without an answer (as
/// a server does to a kept connection it had already closed), then answers the next one.
#[tokio::test]
async fn a_connection_dropped_without_an_answer_is_tried_once_more() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = format!("{}:5\r\n", &sha1_hex(BREACHED)[5..]);
    tokio::spawn(async move {
        for attempt in 0.. {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0; 4096];
            let _ = socket.read(&mut request).await;
            if attempt == 0 {
                continue;
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        }
    });
    let checker = BreachedPasswords::new(BreachedPasswordsConfig {
        check: BreachSources::Online,
        on_error: OnCheckError::Refuse,
        timeout: Duration::from_secs(5),
        url,
        ..BreachedPasswordsConfig::default()
    });
    let password = Password::parse(BREACHED.into(), None).unwrap();
    let outcome = checker.check(&password).await;
    assert!(
        matches!(outcome, Err(shared::auth::Refusal::Breached)),
        "{outcome:?}"
    );
}
