//! The admin dashboard page in a real browser: headless Chromium (Debian's, driven by
//! playwright-core from npm) against `local-api` seeded with known data. `scripts/test`
//! installs both and sets `REQUIRE_BROWSER`; without them this test says loudly that it was
//! skipped.

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::Server;

const PASSWORD: &str = "correct horse battery";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from)
}

/// Why the browser cannot run here, if it cannot.
fn missing() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        return Some("playwright-core is not installed (npm ci in local-api/tests/browser)".into());
    }
    if !chromium().exists() {
        return Some(format!(
            "no Chromium at {} (apt-get install chromium)",
            chromium().display()
        ));
    }
    None
}

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
    if let Some(reason) = missing() {
        if std::env::var_os("REQUIRE_BROWSER").is_some() {
            panic!("REQUIRE_BROWSER is set but {reason}");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\nWARNING: SKIPPED the dashboard browser test: {reason}. Run scripts/test, which installs it."
        );
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
    let output = Command::new("node")
        .arg(browser_dir().join("dashboard.mjs"))
        .args([&server.base, "admin@example.com", PASSWORD])
        .arg(&screenshot)
        .env("CHROMIUM", chromium())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let page: Value = serde_json::from_slice(&output.stdout).expect("the page's numbers as JSON");

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
