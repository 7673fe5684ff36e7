//! Key rotation across instances: while instances disagree on the active key, a retried refresh
//! still gets the successor handed out first (no false "reuse", no revoked family), and an
//! instance that has not seen the new key yet refetches the key set once for a token naming it.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::Value;
use shared::App;
use shared::auth::KeySet;
use shared::config::Config;
use shared::secrets::KeyProvider;
use support::{Call, TestApp, account, body_json};

const K1: &str = "0123456789abcdef0123456789abcdef-one";
const K2: &str = "fedcba9876543210fedcba9876543210-two";

fn key_set(active: &str, keys: &[(&str, &str)]) -> KeySet {
    let keys: BTreeMap<String, Vec<u8>> = keys
        .iter()
        .map(|(kid, secret)| (kid.to_string(), secret.as_bytes().to_vec()))
        .collect();
    KeySet::new(active.to_owned(), keys).unwrap()
}

/// Another instance on the same store, with its own view of the key set.
fn instance(app: &TestApp, keys: KeyProvider) -> TestApp {
    TestApp::new(App::new(app.config.clone(), app.stores.clone(), keys), None)
}

fn refresh_token(body: &Value) -> String {
    body["refreshToken"].as_str().unwrap().to_owned()
}

async fn a_retried_refresh_survives_a_rollout(app: TestApp) {
    // Phase 1 of a rotation is rolling out: `old` still signs with k1, `new` with k2, both
    // know both keys.
    let old = instance(
        &app,
        KeyProvider::fixed(key_set("k1", &[("k1", K1), ("k2", K2)])),
    );
    let new = instance(
        &app,
        KeyProvider::fixed(key_set("k2", &[("k1", K1), ("k2", K2)])),
    );
    let ada = account(&old, "ada@example.com", "Ada").await;
    let first = support::refresh_with(&old, &ada.refresh).await;
    assert_eq!(first.status(), StatusCode::OK);
    let successor = refresh_token(&body_json(&first));
    // The client's retry reaches the other instance, within the grace window.
    let retry = support::refresh_with(&new, &ada.refresh).await;
    assert_eq!(retry.status(), StatusCode::OK, "{:?}", retry.body());
    assert_eq!(
        refresh_token(&body_json(&retry)),
        successor,
        "the same successor"
    );
    // The family lives on.
    let next = support::refresh_with(&new, &successor).await;
    assert_eq!(next.status(), StatusCode::OK, "{:?}", next.body());
}

async fn reuse_is_still_reuse_across_instances(app: TestApp) {
    let old = instance(
        &app,
        KeyProvider::fixed(key_set("k1", &[("k1", K1), ("k2", K2)])),
    );
    let new = instance(
        &app,
        KeyProvider::fixed(key_set("k2", &[("k1", K1), ("k2", K2)])),
    );
    let ada = account(&old, "reuse@example.com", "Ada").await;
    let first = support::refresh_with(&old, &ada.refresh).await;
    let successor = refresh_token(&body_json(&first));
    assert_eq!(
        support::refresh_with(&new, &successor).await.status(),
        StatusCode::OK
    );
    // The first token again, after its successor was itself spent: theft.
    let replay = support::refresh_with(&new, &ada.refresh).await;
    support::assert_problem(&replay, StatusCode::UNAUTHORIZED, "refresh_token_reused");
}

on_both_stores! {
    a_retried_refresh_survives_a_rollout => Config::for_tests(),
    reuse_is_still_reuse_across_instances => Config::for_tests(),
}

/// An instance whose cached key set predates the new key refetches it (from Secrets Manager, on
/// moto) when a token names that key, instead of answering 401 until its cache expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unseen_key_id_refetches_the_key_set() {
    support::emulator_endpoint();
    let aws = aws_config::load_from_env().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let secret_id = format!("rotation-{}", uuid::Uuid::new_v4().simple());
    secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(key_set("k1", &[("k1", K1)]).to_json())
        .send()
        .await
        .unwrap();
    let cached =
        KeyProvider::secrets_manager(secrets.clone(), secret_id.clone(), Duration::from_secs(300))
            .await
            .unwrap();
    let app = support::dynamo_app_with(Config::for_tests()).await;
    let stale = instance(&app, cached);
    let rotated = instance(
        &app,
        KeyProvider::fixed(key_set("k2", &[("k1", K1), ("k2", K2)])),
    );
    secrets
        .put_secret_value()
        .secret_id(&secret_id)
        .secret_string(key_set("k2", &[("k1", K1), ("k2", K2)]).to_json())
        .send()
        .await
        .unwrap();
    let ada = account(&rotated, "seen@example.com", "Ada").await;
    let me = Call::new(Method::GET, "/api/users/me")
        .token(&ada.access)
        .send(&stale)
        .await;
    assert_eq!(me.status(), StatusCode::OK, "{:?}", me.body());
    // A made-up key id is still refused, without another fetch storm.
    let forged = Call::new(Method::GET, "/api/users/me")
        .token("eyJhbGciOiJIUzI1NiIsImtpZCI6Im5vcGUifQ.e30.c2ln")
        .send(&stale)
        .await;
    support::assert_problem(&forged, StatusCode::UNAUTHORIZED, "invalid_token");
}
