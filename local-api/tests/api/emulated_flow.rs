//! `local-api` with `STORE=dynamodb` against the emulators: it plays the event source mappings
//! (DynamoDB Local's stream into the relay and the counts, the emulator's SQS queues into the
//! workers), so a registration's mail arrives as a `.eml`, as on the embedded store, and the
//! dashboard counts the new user.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::{Server, stores};

const PASSWORD: &str = "correct horse battery";

/// The `.eml` files under `dir/mail` that mention `text`.
fn mails_with(dir: &std::path::Path, text: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir.join("mail")) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|body| body.contains(text))
        .count()
}

#[tokio::test]
async fn on_dynamodb_a_registration_is_mailed_and_counted() {
    let env = stores::emulated_env().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &env);
    let registered = server
        .post(
            "/api/auth/register",
            json!({ "email": "grace@example.com", "password": PASSWORD, "name": "Grace" }),
        )
        .await;
    assert_eq!(registered.status(), 201);

    // Relayed from the stream to the emulator's queues, run by the e-mail and Telegram workers
    // (each queue polled on its own: either may come first).
    let notices = || {
        std::fs::read_dir(dir.path().join("telegram"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    for _ in 0..150 {
        if mails_with(dir.path(), "grace@example.com") > 0 && notices() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        mails_with(dir.path(), "grace@example.com"),
        1,
        "the welcome mail, once"
    );
    assert_eq!(notices(), 1, "the admins' new-signup notice, once");

    // Counted from the stream: a metrics run (by hand, on the same table) sees the user.
    let mut users = 0;
    for _ in 0..50 {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_local-api"))
            .arg("metrics")
            .envs(env.iter().copied())
            .env("DATA_DIR", dir.path())
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stdout).to_string();
        users = printed
            .split(": ")
            .nth(1)
            .and_then(|counts| counts.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if users == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(users, 1, "the dashboard counts the new user");
}
