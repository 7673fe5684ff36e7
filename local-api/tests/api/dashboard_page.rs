//! The admin dashboard page in a real browser (`support::browser`) against `local-api` seeded
//! with known data.

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::json;
use shared::auth::mfa::{TotpSecret, step_at};
use shared::clock::now_ms;
use support::{Server, browser};

const PASSWORD: &str = "correct horse battery";

async fn seed(data: &Path) {
    let server = Server::start(data, &[("LOCAL_METRICS", "off")]);
    for email in [
        "admin@example.com",
        "u1@example.com",
        "u2@example.com",
        "u3@example.com",
        "u4@example.com",
    ] {
        server.register(email, PASSWORD).await;
    }
    for email in ["u1@example.com", "u2@example.com", "u3@example.com"] {
        let response = server
            .post(
                "/api/auth/login",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    for i in 0..4 {
        let response = server
            .post(
                "/api/auth/login",
                json!({ "email": format!("nobody{i}@example.com"), "password": "wrong password" }),
            )
            .await;
        assert_eq!(response.status(), 401);
    }
    let author = server.register("author@example.com", PASSWORD).await;
    let token = author["accessToken"].as_str().unwrap();
    for status in ["published", "published", "draft"] {
        let response = server
            .post_authed(
                "/api/posts",
                token,
                json!({ "title": "Seeded", "content": "text", "status": status }),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    server.terminate();
}

fn local_api(data: &Path, args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_local-api"))
        .args(args)
        .env("DATA_DIR", data)
        .env_remove("STORE")
        .output()
        .expect("local-api runs");
    assert!(output.status.success(), "{output:?}");
}

#[tokio::test]
async fn the_dashboard_draws_the_seeded_numbers_in_a_browser() {
    if !browser::available("the_dashboard_draws_the_seeded_numbers_in_a_browser") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    seed(data).await;
    local_api(data, &["promote", "admin@example.com", "admin"]);
    // The snapshot of the seeded data; the server's own run at start keeps it (same bucket).
    local_api(data, &["metrics"]);
    let server = Server::start(data, &[]);

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let screenshot_arg = screenshot.to_string_lossy();
    let page = browser::run(
        "dashboard.mjs",
        [
            server.base.as_str(),
            "admin@example.com",
            PASSWORD,
            &screenshot_arg,
        ],
    );

    assert!(
        page["loginError"]
            .as_str()
            .unwrap()
            .contains("the e-mail or password is wrong"),
        "{page}"
    );
    assert!(
        page["loginError"]
            .as_str()
            .unwrap()
            .contains("invalid_credentials"),
        "{page}"
    );
    let numbers: Vec<&str> = [
        "totalUsers",
        "signupsToday",
        "activeToday",
        "failedToday",
        "totalPosts",
        "totalPublished",
    ]
    .iter()
    .map(|k| page[*k].as_str().unwrap())
    .collect();
    assert_eq!(numbers, ["6", "6", "3", "4", "3", "2"], "{page}");
    assert_eq!(page["charts"], 4);
    let insights: Vec<&str> = page["insights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(
        insights.contains(&"signups: 6 this week, none the week before"),
        "{insights:?}"
    );
    assert!(page["auditRows"].as_u64().unwrap() >= 5, "{page}");
    assert_eq!(page["queues"].as_array().unwrap().len(), 2, "{page}");
    // Your devices: the admin's registration and this browser's sign-in, this one marked.
    let devices = page["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{page}");
    assert_eq!(devices[0]["current"], true, "{page}");
    assert!(
        devices[0]["name"].as_str().unwrap().starts_with("Chrome "),
        "{page}"
    );
    assert_eq!(devices[1]["current"], false, "{page}");
    assert_eq!(page["errorHidden"], true);
    assert_eq!(page["loginFormShown"], false, "{page}");
    assert_eq!(page["storedItems"], 0, "tokens stay in memory");
    assert_eq!(page["cookies"], "");
    assert_eq!(
        page["problems"],
        json!([]),
        "console errors or CSP violations"
    );
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
    // The reference page at /docs shows every operation of the spec, without CSP violations.
    assert_eq!(
        page["docsOperations"],
        operations_in_the_contract(),
        "{page}"
    );
    assert_eq!(page["docsProblems"], json!([]), "{page}");
}

/// The operations `openapi.yaml` declares: each method key under a path, at four spaces.
fn operations_in_the_contract() -> usize {
    const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];
    include_str!("../../../openapi.yaml")
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|rest| !rest.starts_with(' '))
        .filter(|rest| METHODS.iter().any(|m| rest.strip_prefix(m) == Some(":")))
        .count()
}

/// An admin with a second factor, under `REQUIRE_ADMIN_MFA=on`: the dashboard asks for the
/// app's code after the password (a wrong one refused next to its field), and the board loads
/// on the aal2 session that follows.
#[tokio::test]
async fn an_admin_with_a_second_factor_gives_its_code_in_the_dashboard() {
    if !browser::available("an_admin_with_a_second_factor_gives_its_code_in_the_dashboard") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = Server::start(data, &[("LOCAL_METRICS", "off")]);
    let admin = server.register("admin@example.com", PASSWORD).await;
    let token = admin["accessToken"].as_str().unwrap();
    let enrolment = server
        .post_authed("/api/auth/mfa/totp", token, json!({ "password": PASSWORD }))
        .await;
    assert_eq!(enrolment.status(), 201);
    let enrolment: serde_json::Value = enrolment.json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap();
    let step = step_at(now_ms());
    let code = TotpSecret::from_base32(secret).unwrap().code_at(step);
    let verified = server
        .post_authed("/api/auth/mfa/totp/verify", token, json!({ "code": code }))
        .await;
    assert_eq!(verified.status(), 200);
    server.terminate();
    local_api(data, &["promote", "admin@example.com", "admin"]);
    local_api(data, &["metrics"]);
    let server = Server::start(data, &[("REQUIRE_ADMIN_MFA", "on")]);

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-two-step.png");
    let factor = json!({ "secret": secret, "lastStep": step }).to_string();
    let page = browser::run(
        "dashboard.mjs",
        [
            server.base.as_str(),
            "admin@example.com",
            PASSWORD,
            &screenshot.to_string_lossy(),
            &factor,
        ],
    );
    assert_eq!(
        page["twoStep"],
        json!({ "passwordLeft": "", "wrongCode": "incorrect" }),
        "{page}"
    );
    assert_eq!(page["totalUsers"], "1", "{page}");
    assert_eq!(page["charts"], 4, "{page}");
    assert_eq!(page["errorHidden"], true, "{page}");
    assert_eq!(page["loginFormShown"], false, "{page}");
    assert_eq!(page["twoStepShown"], false, "{page}");
    assert_eq!(page["storedItems"], 0, "tokens stay in memory");
    assert_eq!(page["problems"], json!([]), "{page}");
}

/// An admin whose account is linked to a provider signs in to the dashboard with its button
/// (the link made over the API, as the account page makes it), and gets the board. On a
/// multi-threaded runtime: the stand-in provider answers while the browser runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_to_the_dashboard_with_a_provider() {
    use support::oidc_provider::{OidcProvider, ProviderAccount};
    use support::stores::{Store, serve_on};
    if !browser::available("an_admin_signs_in_to_the_dashboard_with_a_provider") {
        return;
    }
    let provider = OidcProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    seed(data).await;
    local_api(data, &["promote", "admin@example.com", "admin"]);
    let providers = provider.config_json("stand-in");
    let server = serve_on(Store::Sqlite, data, &[("OAUTH_PROVIDERS", &providers)]).await;
    let base = server.base.replace("127.0.0.1", "localhost");

    // Linked over the API (the address verified first, from the welcome mail): the admin's
    // password, the start URL in the browser the answer's cookie binds, the provider, the
    // callback.
    server.verify_from_welcome(data, "admin@example.com").await;
    let signed_in = server
        .post(
            "/api/auth/login",
            json!({ "email": "admin@example.com", "password": PASSWORD }),
        )
        .await;
    let token: serde_json::Value = signed_in.json().await.unwrap();
    let token = token["accessToken"].as_str().unwrap();
    let asked = server
        .post_authed(
            "/api/auth/identities/stand-in",
            token,
            json!({ "password": PASSWORD, "returnTo": format!("{base}/dashboard") }),
        )
        .await;
    assert_eq!(asked.status(), 201);
    let link_cookie = asked.headers()["set-cookie"].to_str().unwrap();
    let link_cookie = link_cookie.split(';').next().unwrap().to_owned();
    let url: serde_json::Value = asked.json().await.unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let hop = |url: String, cookie: Option<String>| {
        let request = no_redirects.get(url);
        let request = match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    provider.next_sign_in(ProviderAccount::verified("sub-admin", "admin@example.com"));
    let start = url["url"]
        .as_str()
        .unwrap()
        .replace("127.0.0.1", "localhost");
    let started = hop(start, Some(link_cookie)).await;
    let cookie = started.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let approved = hop(
        started.headers()["location"].to_str().unwrap().to_owned(),
        None,
    )
    .await;
    let callback = approved.headers()["location"].to_str().unwrap().to_owned();
    let linked = hop(callback, Some(cookie)).await;
    let location = linked.headers()["location"].to_str().unwrap();
    assert!(
        location.ends_with("/dashboard#oauth_linked=stand-in"),
        "{location}"
    );

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-provider.png");
    let page = browser::run(
        "dashboard.mjs",
        [
            base.as_str(),
            "admin@example.com",
            "provider:stand-in",
            &screenshot.to_string_lossy(),
        ],
    );
    assert_eq!(page["problems"], json!([]), "{page}");
    assert_eq!(page["charts"], 4, "{page}");
    assert_eq!(page["errorHidden"], true, "{page}");
    assert_eq!(page["storedItems"], 0, "{page}");
    let current: Vec<&serde_json::Value> = page["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["current"] == true)
        .collect();
    assert_eq!(current.len(), 1, "{page}");
}

/// The admin adds a passkey on the board (the browser's virtual authenticator), logs out and
/// signs in with it, without typing the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_passkey_and_signs_in_with_it_in_the_dashboard() {
    use support::stores::{Store, serve_on};
    if !browser::available("an_admin_adds_a_passkey_and_signs_in_with_it_in_the_dashboard") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    seed(data).await;
    local_api(data, &["promote", "admin@example.com", "admin"]);
    let server = serve_on(Store::Sqlite, data, &[]).await;
    let base = server.base.replace("127.0.0.1", "localhost");
    // A passkey is added only to an address proven: from the welcome mail.
    server.verify_from_welcome(data, "admin@example.com").await;

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-passkey.png");
    let passkey = format!("passkey:{PASSWORD}");
    let page = browser::run(
        "dashboard.mjs",
        [
            base.as_str(),
            "admin@example.com",
            passkey.as_str(),
            &screenshot.to_string_lossy(),
        ],
    );
    assert_eq!(page["problems"], json!([]), "{page}");
    assert!(
        page["passkeyAdded"]
            .as_str()
            .is_some_and(|notice| notice.contains("is added")),
        "{page}"
    );
    assert_eq!(page["held"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["charts"], 4, "{page}");
    assert_eq!(page["errorHidden"], true, "{page}");
    assert_eq!(page["storedItems"], 0, "{page}");
    let current: Vec<&serde_json::Value> = page["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["current"] == true)
        .collect();
    assert_eq!(current.len(), 1, "{page}");
}
