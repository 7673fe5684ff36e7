//! Key rotation across instances: while instances disagree on the active keys (the HMAC key that
//! derives refresh successors, the signing key of access tokens), a retried refresh still gets
//! the successor handed out first (no false "reuse", no revoked family), each instance accepts
//! the other's access tokens, and an instance that has not seen the new signing key yet refetches
//! the key set once for a token naming it.

use crate::support;

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::Value;
use shared::App;
use shared::auth::{KeySet, KeySetDocument, SigningAlg};
use shared::config::Config;
use shared::secrets::KeyProvider;
use support::{Call, TestApp, account, body_json};

const K1: &str = "0123456789abcdef0123456789abcdef-one";
const K2: &str = "fedcba9876543210fedcba9876543210-two";

/// HMAC keys k1 and k2 and two EdDSA keys, made once: every instance of a test holds the same
/// keys, each with its own view of which are active.
fn all_keys() -> &'static KeySetDocument {
    static KEYS: OnceLock<KeySetDocument> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut document = KeySetDocument::generate(SigningAlg::EdDSA);
        document.add_signing_key(SigningAlg::EdDSA);
        document.active_kid = "k1".into();
        document.hmac_keys = [("k1", K1), ("k2", K2)]
            .map(|(kid, secret)| (kid.to_owned(), secret.to_owned()))
            .into();
        document
    })
}

/// The key set of phase 1 (`old`: k1 and the first signing key active) or 2 (`new`: k2 and the
/// second), with `signing` signing keys of the two (1: only the first; 2: both).
fn document(new: bool, signing: usize) -> KeySetDocument {
    let mut document = all_keys().clone();
    document.signing_keys.truncate(signing);
    document.active_kid = if new { "k2" } else { "k1" }.into();
    let kid = document.signing_keys[usize::from(new)].kid.clone();
    document.activate(&kid).unwrap();
    document
}

fn key_set(new: bool) -> KeyProvider {
    KeyProvider::fixed(KeySet::from_document(&document(new, 2), SigningAlg::EdDSA).unwrap())
}

/// Another instance on the same store, with its own view of the key set.
fn instance(app: &TestApp, keys: KeyProvider) -> TestApp {
    TestApp::new(App::new(app.config.clone(), app.stores.clone(), keys), None)
}

fn refresh_token(body: &Value) -> String {
    body["refreshToken"].as_str().unwrap().to_owned()
}

async fn me(app: &TestApp, access: &str) -> StatusCode {
    support::get_me(app, access).await.status()
}

async fn a_retried_refresh_survives_a_rollout(app: TestApp) {
    // Phase 2 of a rotation is rolling out: `old` still uses k1 and the first signing key, `new`
    // k2 and the second; both know every key.
    let old = instance(&app, key_set(false));
    let new = instance(&app, key_set(true));
    let ada = account(&old, "ada@example.com", "Ada").await;
    assert_eq!(me(&new, &ada.access).await, StatusCode::OK);
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
    let access = body_json(&retry)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&old, &access).await, StatusCode::OK);
    // The family lives on.
    let next = support::refresh_with(&new, &successor).await;
    assert_eq!(next.status(), StatusCode::OK, "{:?}", next.body());
}

async fn reuse_is_still_reuse_across_instances(app: TestApp) {
    let old = instance(&app, key_set(false));
    let new = instance(&app, key_set(true));
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

/// Phase 3: the old signing key is gone; a token it signed is refused, not an error.
async fn a_removed_signing_key_logs_its_tokens_out(app: TestApp) {
    let old = instance(&app, key_set(false));
    let mut retired = document(true, 2);
    retired.signing_keys.remove(0);
    let retired = instance(
        &app,
        KeyProvider::fixed(KeySet::from_document(&retired, SigningAlg::EdDSA).unwrap()),
    );
    let ada = account(&old, "retired@example.com", "Ada").await;
    let me = support::get_me(&retired, &ada.access).await;
    support::assert_problem(&me, StatusCode::UNAUTHORIZED, "invalid_token");
    // The refresh token is not signed: the session goes on with a token of the new key.
    let next = support::refresh_with(&retired, &ada.refresh).await;
    assert_eq!(next.status(), StatusCode::OK, "{:?}", next.body());
}

on_both_stores! {
    a_retried_refresh_survives_a_rollout => Config::for_tests(),
    reuse_is_still_reuse_across_instances => Config::for_tests(),
    a_removed_signing_key_logs_its_tokens_out => Config::for_tests(),
}

/// An instance whose cached key set predates the new signing key refetches it (from Secrets
/// Manager, on moto) when a token names that key, instead of answering 401 until its cache
/// expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unseen_key_id_refetches_the_key_set() {
    support::emulator_endpoint();
    let aws = aws_config::load_from_env().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let secret_id = format!("rotation-{}", uuid::Uuid::new_v4().simple());
    secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(document(false, 1).to_json())
        .send()
        .await
        .unwrap();
    let cached = KeyProvider::secrets_manager(
        secrets.clone(),
        secret_id.clone(),
        Duration::from_secs(300),
        SigningAlg::EdDSA,
    )
    .await
    .unwrap();
    let app = support::dynamo_app_with(Config::for_tests()).await;
    let stale = instance(&app, cached);
    let rotated = instance(&app, key_set(true));
    secrets
        .put_secret_value()
        .secret_id(&secret_id)
        .secret_string(document(true, 2).to_json())
        .send()
        .await
        .unwrap();
    let ada = account(&rotated, "seen@example.com", "Ada").await;
    assert_eq!(me(&stale, &ada.access).await, StatusCode::OK);
    // A made-up key id is still refused, without another fetch storm.
    let forged = Call::new(Method::GET, "/api/users/me")
        .token("eyJhbGciOiJIUzI1NiIsImtpZCI6Im5vcGUifQ.e30.c2ln")
        .send(&stale)
        .await;
    support::assert_problem(&forged, StatusCode::UNAUTHORIZED, "invalid_token");
}
