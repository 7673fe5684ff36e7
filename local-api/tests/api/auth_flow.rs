//! The auth API end to end over real HTTP, through the `local-api` binary.

use crate::support;

use serde_json::{Value, json};
use support::{Server, problem};

fn token(body: &Value, name: &str) -> String {
    body[name].as_str().expect(name).to_owned()
}

#[tokio::test]
async fn register_login_me_refresh_reuse_logout() {
    let dir = tempfile::tempdir().unwrap();
    // No grace window, so replaying a spent token is reuse at once.
    let server = Server::start(dir.path(), &[("REFRESH_GRACE_SECS", "0")]);

    let registered = server
        .register(" Ada@Example.COM ", "correct horse battery")
        .await;
    assert_eq!(registered["user"]["email"], "ada@example.com");
    assert_eq!(registered["user"]["role"], "user");
    assert_eq!(registered["expiresIn"], 900);
    assert!(registered["user"].get("passwordHash").is_none());

    let again = server
        .post(
            "/api/auth/register",
            json!({ "email": "ada@example.com", "password": "another password", "name": "Eve" }),
        )
        .await;
    problem(again, 409, "email_taken").await;

    let login = server
        .post(
            "/api/auth/login",
            json!({ "email": "ADA@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status(), 200);
    assert_eq!(
        login.headers().get("cache-control").unwrap(),
        "no-store",
        "auth responses must not be cached"
    );
    let login: Value = login.json().await.unwrap();
    let access = token(&login, "accessToken");

    let me = server.get_authed("/api/users/me", &access).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], registered["user"]["id"]);

    let first = token(&login, "refreshToken");
    let rotated = server
        .post("/api/auth/refresh", json!({ "refreshToken": first }))
        .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let second = token(&rotated, "refreshToken");
    assert_ne!(first, second);
    assert_ne!(token(&rotated, "accessToken"), access);

    // Reuse of the spent token revokes the family: the newest token and its access token die too.
    let reuse = server
        .post("/api/auth/refresh", json!({ "refreshToken": first }))
        .await;
    problem(reuse, 401, "refresh_token_reused").await;
    let after = server
        .post("/api/auth/refresh", json!({ "refreshToken": second }))
        .await;
    problem(after, 401, "invalid_refresh_token").await;
    let me = server
        .get_authed("/api/users/me", &token(&rotated, "accessToken"))
        .await;
    problem(me, 401, "session_ended").await;

    // The first session is untouched by the revocation of another family.
    let me = server
        .get_authed("/api/users/me", &token(&registered, "accessToken"))
        .await;
    assert_eq!(me.status(), 200);

    // Logout ends the session it names.
    let logout = server
        .post(
            "/api/auth/logout",
            json!({ "refreshToken": token(&registered, "refreshToken") }),
        )
        .await;
    assert_eq!(logout.status(), 204);
    let refresh = server
        .post(
            "/api/auth/refresh",
            json!({ "refreshToken": token(&registered, "refreshToken") }),
        )
        .await;
    problem(refresh, 401, "invalid_refresh_token").await;
    let me = server
        .get_authed("/api/users/me", &token(&registered, "accessToken"))
        .await;
    problem(me, 401, "session_ended").await;
}

#[tokio::test]
async fn logout_everywhere_needs_an_access_token_and_ends_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let phone = server
        .register("grace@example.com", "correct horse battery")
        .await;
    let laptop = server
        .post(
            "/api/auth/login",
            json!({ "email": "grace@example.com", "password": "correct horse battery" }),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();

    let anonymous = server.post("/api/auth/logout?scope=all", json!({})).await;
    problem(anonymous, 401, "missing_token").await;

    let everywhere = server
        .post_authed(
            "/api/auth/logout?scope=all",
            &token(&laptop, "accessToken"),
            json!({}),
        )
        .await;
    assert_eq!(everywhere.status(), 204);
    for session in [&phone, &laptop] {
        let me = server
            .get_authed("/api/users/me", &token(session, "accessToken"))
            .await;
        problem(me, 401, "session_ended").await;
        let refresh = server
            .post(
                "/api/auth/refresh",
                json!({ "refreshToken": token(session, "refreshToken") }),
            )
            .await;
        problem(refresh, 401, "invalid_refresh_token").await;
    }
    // A new login still works.
    let login = server
        .post(
            "/api/auth/login",
            json!({ "email": "grace@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status(), 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    server
        .register("hopper@example.com", "correct horse battery")
        .await;

    let wrong_password = server
        .post(
            "/api/auth/login",
            json!({ "email": "hopper@example.com", "password": "incorrect horse" }),
        )
        .await;
    let wrong = problem(wrong_password, 401, "invalid_credentials").await;
    let unknown_email = server
        .post(
            "/api/auth/login",
            json!({ "email": "nobody@example.com", "password": "incorrect horse" }),
        )
        .await;
    let unknown = problem(unknown_email, 401, "invalid_credentials").await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["type"], unknown["type"]);
}

#[tokio::test]
async fn data_and_sessions_survive_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let registered = server
        .register("lovelace@example.com", "correct horse battery")
        .await;
    let status = server.terminate();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );

    let server = Server::start(dir.path(), &[]);
    let health = server.http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // The account, the signing keys and the session all came back.
    let me = server
        .get_authed("/api/users/me", &token(&registered, "accessToken"))
        .await;
    assert_eq!(me.status(), 200);
    let refresh = server
        .post(
            "/api/auth/refresh",
            json!({ "refreshToken": token(&registered, "refreshToken") }),
        )
        .await;
    assert_eq!(refresh.status(), 200);
    let login = server
        .post(
            "/api/auth/login",
            json!({ "email": "lovelace@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status(), 200);
}
