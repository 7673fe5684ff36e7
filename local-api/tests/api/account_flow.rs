//! Account flows through the running server, reading each link from the mail it wrote: e-mail
//! verification, password reset, the admins' Telegram notice, required verification, and
//! queued jobs surviving a restart.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::mail::{mail_to, read_mails, token_in};
use support::{Server, problem};

const PASSWORD: &str = "correct horse battery";

fn notices(dir: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(dir.join("telegram")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect()
}

/// Waits for the Telegram worker to write a notice mentioning `text` (its queue is polled on its
/// own, so it may come after the mail of the same change).
async fn notice_about(dir: &Path, text: &str) -> Value {
    for _ in 0..100 {
        if let Some(notice) = notices(dir)
            .into_iter()
            .find(|n| n["text"].as_str().is_some_and(|t| t.contains(text)))
        {
            return notice;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no notice about {text}: {:?}", notices(dir));
}

async fn me(server: &Server, token: &str) -> Value {
    let response = server.get_authed("/api/users/me", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn login(server: &Server, email: &str, password: &str) -> reqwest::Response {
    server
        .post(
            "/api/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await
}

#[tokio::test]
async fn verification_and_password_reset_by_mailed_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = Server::start(data, &[("APP_BASE_URL", "https://app.example")]);
    let registered = server
        .post(
            "/api/auth/register",
            json!({ "email": "alice@example.com", "password": PASSWORD, "name": "Al_ice *[<&>]" }),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let registered: Value = registered.json().await.unwrap();
    let access = registered["accessToken"].as_str().unwrap().to_owned();
    let refresh = registered["refreshToken"].as_str().unwrap().to_owned();
    assert_eq!(me(&server, &access).await["emailVerified"], false);

    let welcome = mail_to(data, "alice@example.com", "verify your e-mail").await;
    assert!(
        welcome
            .text
            .contains("https://app.example/verify-email#token=")
    );
    let token = token_in(&welcome, "verify-email");

    // The admins hear of the signup, every value escaped for Telegram's HTML.
    let notice = notice_about(data, "alice@example.com").await;
    assert_eq!(notice["parse_mode"], "HTML");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("Al_ice *[&lt;&amp;&gt;]")
    );

    let verified = server
        .post("/api/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), 204);
    assert_eq!(me(&server, &access).await["emailVerified"], true);
    let again = server
        .post("/api/auth/verify-email", json!({ "token": token }))
        .await;
    problem(again, 400, "invalid_token").await;
    let resend = server
        .post_authed("/api/auth/verify-email/resend", &access, json!({}))
        .await;
    problem(resend, 409, "already_verified").await;

    // Forgot-password answers alike whether or not the account exists.
    let known = server
        .post(
            "/api/auth/forgot-password",
            json!({ "email": "alice@example.com" }),
        )
        .await;
    let unknown = server
        .post(
            "/api/auth/forgot-password",
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());

    let reset_mail = mail_to(data, "alice@example.com", "Reset your password").await;
    let reset_token = token_in(&reset_mail, "reset-password");
    let weak = server
        .post(
            "/api/auth/reset-password",
            json!({ "token": reset_token, "password": "short" }),
        )
        .await;
    problem(weak, 422, "validation_failed").await;
    let reset = server
        .post(
            "/api/auth/reset-password",
            json!({ "token": reset_token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(reset.status(), 204);
    let reused = server
        .post(
            "/api/auth/reset-password",
            json!({ "token": reset_token, "password": "yet another passphrase" }),
        )
        .await;
    problem(reused, 400, "invalid_token").await;

    problem(
        login(&server, "alice@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        login(&server, "alice@example.com", "a brand new passphrase")
            .await
            .status(),
        200
    );
    // Every session of before the reset has ended.
    let old_session = server
        .post("/api/auth/refresh", json!({ "refreshToken": refresh }))
        .await;
    assert_eq!(old_session.status(), 401);
    mail_to(data, "alice@example.com", "password was changed").await;
}

#[tokio::test]
async fn a_newer_reset_link_spends_the_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = Server::start(data, &[("RESET_MAIL_GAP_SECS", "0")]);
    server.register("bob@example.com", PASSWORD).await;
    for _ in 0..2 {
        let response = server
            .post(
                "/api/auth/forgot-password",
                json!({ "email": "bob@example.com" }),
            )
            .await;
        assert_eq!(response.status(), 202);
    }
    let mut tokens = Vec::new();
    for _ in 0..100 {
        tokens = read_mails(data)
            .iter()
            .filter(|m| m.subject.contains("Reset your password"))
            .map(|m| token_in(m, "reset-password"))
            .collect();
        if tokens.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tokens.len(), 2);
    let outcomes = [
        server
            .post(
                "/api/auth/reset-password",
                json!({ "token": tokens[0], "password": "a brand new passphrase" }),
            )
            .await
            .status(),
        server
            .post(
                "/api/auth/reset-password",
                json!({ "token": tokens[1], "password": "a brand new passphrase" }),
            )
            .await
            .status(),
    ];
    // Exactly one link works: the newer one.
    let mut sorted = outcomes.map(|s| s.as_u16());
    sorted.sort();
    assert_eq!(sorted, [204, 400]);
}

#[tokio::test]
async fn required_verification_blocks_login_until_verified() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = Server::start(data, &[("REQUIRE_EMAIL_VERIFICATION", "true")]);
    server.register("carol@example.com", PASSWORD).await;
    let blocked = login(&server, "carol@example.com", PASSWORD).await;
    problem(blocked, 403, "email_not_verified").await;
    // A wrong password is still just wrong: the 403 is only for the right one.
    problem(
        login(&server, "carol@example.com", "wrong password!").await,
        401,
        "invalid_credentials",
    )
    .await;
    let token = token_in(
        &mail_to(data, "carol@example.com", "verify your e-mail").await,
        "verify-email",
    );
    let verified = server
        .post("/api/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), 204);
    assert_eq!(
        login(&server, "carol@example.com", PASSWORD).await.status(),
        200
    );
}

/// Mail jobs failing against an unreachable relay stay queued across a restart, and are sent
/// once the relay is there.
#[tokio::test]
async fn queued_jobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().to_owned();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let unreachable = [
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", closed_port.as_str()),
        ("SMTP_SECURITY", "none"),
    ];
    let server = Server::start(&data, &unreachable);
    server.register("dave@example.com", PASSWORD).await;
    // Let the worker try (and fail) at least once.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(read_mails(&data).is_empty());
    assert!(server.terminate().success());

    let server = Server::start(&data, &[]);
    let welcome = mail_to(&data, "dave@example.com", "verify your e-mail").await;
    assert!(welcome.text.contains("/verify-email#token="));
    drop(server);
}

/// A user's own address change: password required, the new address confirms by link, the old
/// address is told, and only then does the address change.
#[tokio::test]
async fn an_address_change_takes_the_password_and_a_confirmed_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = Server::start(data, &[]);
    let erin = server.register("erin@example.com", PASSWORD).await;
    let access = erin["accessToken"].as_str().unwrap().to_owned();
    server.register("taken@example.com", PASSWORD).await;

    let wrong = server
        .post_authed(
            "/api/users/me/email",
            &access,
            json!({ "email": "erin@new.example", "password": "not my password" }),
        )
        .await;
    problem(wrong, 422, "validation_failed").await;
    let taken = server
        .post_authed(
            "/api/users/me/email",
            &access,
            json!({ "email": "taken@example.com", "password": PASSWORD }),
        )
        .await;
    problem(taken, 409, "email_taken").await;
    let asked = server
        .post_authed(
            "/api/users/me/email",
            &access,
            json!({ "email": "erin@new.example", "password": PASSWORD }),
        )
        .await;
    assert_eq!(asked.status(), 202);
    // Nothing changes until the new address confirms.
    assert_eq!(me(&server, &access).await["email"], "erin@example.com");
    let confirm = mail_to(data, "erin@new.example", "Confirm your new e-mail").await;
    let token = token_in(&confirm, "verify-email");
    let confirmed = server
        .post("/api/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), 204);
    let profile = me(&server, &access).await;
    assert_eq!(profile["email"], "erin@new.example");
    assert_eq!(profile["emailVerified"], true);
    let told = mail_to(data, "erin@example.com", "address was changed").await;
    assert!(told.text.contains("erin@new.example"));
    assert_eq!(
        login(&server, "erin@new.example", PASSWORD).await.status(),
        200
    );
    problem(
        login(&server, "erin@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let again = server
        .post("/api/auth/verify-email", json!({ "token": token }))
        .await;
    problem(again, 400, "invalid_token").await;
}
