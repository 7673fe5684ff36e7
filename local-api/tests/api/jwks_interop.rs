//! Our access tokens verify in an independent JWT library (Python's PyJWT with `cryptography`)
//! from nothing but what the running local-api publishes over HTTP: the discovery document and
//! the JWKS it points at. For EdDSA and ES256 each, a token signed with a key that is not in the
//! JWKS (the same kid, another key) is refused by PyJWT and by us (401). An HS256 token from
//! before the switch passes only inside `HS256_ACCEPTED_UNTIL`.

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::{Server, problem};

const AUDIENCE: &str = "serverless-backend-api";

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs jwks_interop.py; its one JSON line.
fn pyjwt(args: &[&str]) -> Value {
    let installed = Command::new(python())
        .args(["-c", "import jwt, cryptography"])
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        installed,
        "PyJWT is not installed: `python3 -m pip install PyJWT cryptography`, or run scripts/test"
    );
    let script = format!("{}/tests/api/jwks_interop.py", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "jwks_interop.py {}: {}",
        args[0],
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

async fn signed_in(server: &Server, email: &str) -> String {
    let body = server.register(email, "correct horse battery").await;
    body["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pyjwt_verifies_our_tokens_from_the_published_jwks_alone() {
    for alg in ["EdDSA", "ES256"] {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), &[("ACCESS_TOKEN_ALG", alg)]);
        let token = signed_in(&server, &format!("{alg}@example.com")).await;

        let seen = pyjwt(&["verify", &server.base, &token, AUDIENCE]);
        assert_eq!(
            (seen["alg"].as_str(), seen["key_alg"].as_str()),
            (Some(alg), Some(alg))
        );
        let me: Value = server
            .get_authed("/api/users/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["claims"]["sub"], me["id"]);
        assert_eq!(seen["claims"]["aud"], AUDIENCE);

        // Another key under our kid: PyJWT refuses it with our JWKS, and so do we, though the
        // claims (and the session they name) are the real ones.
        assert_eq!(seen["forged_refused"], true, "{seen}");
        let forged = seen["forged"].as_str().unwrap();
        problem(
            server.get_authed("/api/users/me", forged).await,
            401,
            "invalid_token",
        )
        .await;
    }
}

/// The key set local-api generated beside its data: the HMAC key HS256 tokens were signed with.
fn hmac_key(data_dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(data_dir.join("auth-keys.json")).unwrap();
    let keys: Value = serde_json::from_str(&text).unwrap();
    let kid = keys["activeKid"].as_str().unwrap().to_owned();
    let secret = keys[&kid].as_str().unwrap().to_owned();
    (kid, secret)
}

#[tokio::test]
async fn an_hs256_token_passes_only_inside_the_migration_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let token = signed_in(&server, "hs256@example.com").await;
    let seen = pyjwt(&["verify", &server.base, &token, AUDIENCE]);
    // What the API signed before the switch: the same claims, HS256 with the HMAC key.
    let (kid, secret) = hmac_key(dir.path());
    let claims = seen["claims"].to_string();
    let hs256 = pyjwt(&["hs256", &secret, &kid, &claims]);
    let hs256 = hs256["token"].as_str().unwrap();
    server.terminate();

    let now = shared::clock::now_ms();
    for (until, status) in [
        (None, 401),
        (Some(now + 3_600_000), 200),
        (Some(now - 60_000), 401),
    ] {
        let until = until.map(shared::clock::rfc3339);
        let env: Vec<(&str, &str)> = until
            .iter()
            .map(|until| ("HS256_ACCEPTED_UNTIL", until.as_str()))
            .collect();
        let server = Server::start(dir.path(), &env);
        let response = server.get_authed("/api/users/me", hs256).await;
        if status == 200 {
            assert_eq!(response.status(), 200, "inside {until:?}");
            let me: Value = response.json().await.unwrap();
            assert_eq!(json!(me["id"]), seen["claims"]["sub"]);
        } else {
            problem(response, 401, "invalid_token").await;
        }
        server.terminate();
    }
}
