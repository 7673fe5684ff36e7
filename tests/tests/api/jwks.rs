//! The public keys: `/.well-known/jwks.json` publishes every signing key of the set (active, new
//! and retiring) and nothing secret, cacheably; the discovery document points at it. Tokens are
//! verified only with those keys, each with its own algorithm: another key under one of our key
//! ids is a 401, and HS256 tokens pass only inside the migration window.

use crate::support;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::App;
use shared::auth::{KeySet, KeySetDocument, SigningAlg};
use shared::config::Config;
use shared::secrets::KeyProvider;
use support::{Call, TestApp, account, body_json, get_me, header};

const HMAC: &str = "0123456789abcdef0123456789abcdef-hmac";

/// The key set of a deployment mid-rotation: the HMAC key `k1`, an active EdDSA key, a new
/// ES256 key not active yet, and an old EdDSA key whose tokens may still be live.
fn rotating() -> KeySetDocument {
    let mut document = KeySetDocument::generate(SigningAlg::EdDSA);
    document.add_signing_key(SigningAlg::ES256);
    document.add_signing_key(SigningAlg::EdDSA);
    with_hmac_k1(document)
}

fn with_hmac_k1(mut document: KeySetDocument) -> KeySetDocument {
    document.active_kid = "k1".into();
    document.hmac_keys = [("k1".to_owned(), HMAC.to_owned())].into();
    document
}

/// Another instance on the same store, with its own keys and configuration.
fn instance(app: &TestApp, config: Config, keys: KeySet) -> TestApp {
    TestApp::new(
        App::new(config, app.stores.clone(), KeyProvider::fixed(keys)),
        None,
    )
}

fn signing(app: &TestApp, document: &KeySetDocument, alg: SigningAlg) -> TestApp {
    let keys = KeySet::from_document(document, alg).unwrap();
    instance(app, app.config.clone(), keys)
}

async fn get(app: &TestApp, path: &str) -> support::TestResponse {
    Call::new(Method::GET, path)
        .header("host", "api.example.com")
        .send(app)
        .await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn publishes_every_signing_key_and_nothing_secret(app: TestApp) {
    let document = rotating();
    let app = signing(&app, &document, SigningAlg::EdDSA);
    let response = get(&app, "/.well-known/jwks.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=300")
    );
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let body = body_json(&response);
    let keys = body["keys"].as_array().unwrap();
    let published: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    let kids: Vec<&str> = document
        .signing_keys
        .iter()
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(published, kids);
    for (key, private) in keys.iter().zip(&document.signing_keys) {
        let mut members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        let expected: &[&str] = match private.alg.as_str() {
            "EdDSA" => &["alg", "crv", "kid", "kty", "use", "x"],
            _ => &["alg", "crv", "kid", "kty", "use", "x", "y"],
        };
        assert_eq!(members, expected, "{key}");
        assert_eq!(key["x"], private.x.as_str());
        assert_eq!(key["use"], "sig");
    }
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    for secret in document
        .signing_keys
        .iter()
        .map(|k| k.d.as_str())
        .chain([HMAC])
    {
        assert!(!text.contains(secret), "a secret in the JWKS: {text}");
    }

    // Revalidation: the same tag gets a 304 without a body, as cacheable.
    let tag = header(&response, "etag").unwrap().to_owned();
    let again = Call::new(Method::GET, "/.well-known/jwks.json")
        .header("if-none-match", tag.clone())
        .send(&app)
        .await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.body().is_empty());
    assert_eq!(header(&again, "etag"), Some(tag.as_str()));
    assert_eq!(header(&again, "cache-control"), Some("public, max-age=300"));

    // Once the old key is removed, it is gone from the JWKS and the tag changes.
    let mut retired = document.clone();
    let old = retired.signing_keys[2].kid.clone();
    retired.remove(&old).unwrap();
    let app = signing(&app, &retired, SigningAlg::EdDSA);
    let after = Call::new(Method::GET, "/.well-known/jwks.json")
        .header("if-none-match", tag.clone())
        .send(&app)
        .await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_ne!(header(&after, "etag"), Some(tag.as_str()));
    assert_eq!(body_json(&after)["keys"].as_array().unwrap().len(), 2);
}

async fn a_set_without_signing_keys_publishes_none(app: TestApp) {
    let legacy = KeySet::new(
        "k1".into(),
        [("k1".to_owned(), HMAC.as_bytes().to_vec())].into(),
    );
    let app = instance(&app, app.config.clone(), legacy.unwrap());
    let jwks = get(&app, "/.well-known/jwks.json").await;
    assert_eq!(body_json(&jwks), json!({"keys": []}));
    let discovery = get(&app, "/.well-known/openid-configuration").await;
    assert_eq!(
        body_json(&discovery)["id_token_signing_alg_values_supported"],
        json!([])
    );
}

async fn discovery_names_the_issuer_the_jwks_and_the_algorithms(app: TestApp) {
    let app = signing(&app, &rotating(), SigningAlg::EdDSA);
    let response = get(&app, "/.well-known/openid-configuration").await;
    assert_eq!(response.status(), StatusCode::OK);
    // Its URL was read off the request (no API_BASE_URL): only the client's own cache may keep
    // it, and it says what it was read from.
    assert_eq!(
        header(&response, "cache-control"),
        Some("private, max-age=300")
    );
    assert_eq!(
        header(&response, "vary"),
        Some("Authorization, Host, X-Forwarded-Proto")
    );
    let tag = header(&response, "etag").unwrap().to_owned();
    let revalidated = Call::new(Method::GET, "/.well-known/openid-configuration")
        .header("host", "api.example.com")
        .header("if-none-match", tag)
        .send(&app)
        .await;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        header(&revalidated, "cache-control"),
        Some("private, max-age=300")
    );
    let other_scheme = Call::new(Method::GET, "/.well-known/openid-configuration")
        .header("host", "api.example.com")
        .header("x-forwarded-proto", "https")
        .send(&app)
        .await;
    assert_eq!(
        body_json(&other_scheme)["jwks_uri"],
        "https://api.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        body_json(&response),
        json!({
            "issuer": app.config.issuer,
            "jwks_uri": "http://api.example.com/.well-known/jwks.json",
            "id_token_signing_alg_values_supported": ["ES256", "EdDSA"],
        })
    );
    // Behind a custom domain, the configured URL wins over the Host a client sends.
    let config = Config {
        api_base_url: Some("https://auth.example.com".into()),
        ..app.config.clone()
    };
    let configured = instance(
        &app,
        config,
        KeySet::from_document(&rotating(), SigningAlg::EdDSA).unwrap(),
    );
    let response = Call::new(Method::GET, "/.well-known/openid-configuration")
        .header("host", "attacker.example")
        .send(&configured)
        .await;
    assert_eq!(
        body_json(&response)["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );
    // Then it is the same for everyone: any cache may keep it.
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=300")
    );
    assert_eq!(header(&response, "vary"), Some("Authorization"));
}

/// Public keys hold no secret and need no credential: a verifier running in a page on any
/// origin may fetch both documents (`Access-Control-Allow-Origin: *`, which no credentialed
/// request can use), while every other route keeps to `CORS_ALLOWED_ORIGINS`.
async fn any_origin_may_read_the_public_keys(app: TestApp) {
    let stranger = "https://verifier.example";
    assert!(
        !app.config
            .cors_origins
            .iter()
            .any(|o| o == stranger || o == "*")
    );
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        for method in [Method::GET, Method::HEAD] {
            let response = Call::new(method.clone(), path)
                .header("origin", stranger)
                .send(&app)
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
            assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
            assert_eq!(header(&response, "access-control-allow-credentials"), None);
            let exposed = header(&response, "access-control-expose-headers").unwrap();
            assert!(exposed.to_lowercase().contains("etag"), "{exposed}");
        }
        let preflight = Call::new(Method::OPTIONS, path)
            .header("origin", stranger)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "if-none-match")
            .send(&app)
            .await;
        assert!(preflight.status().is_success(), "{}", preflight.status());
        assert_eq!(header(&preflight, "access-control-allow-origin"), Some("*"));
        let allowed = header(&preflight, "access-control-allow-headers").unwrap();
        assert!(
            allowed.to_lowercase().contains("if-none-match"),
            "{allowed}"
        );
        let methods = header(&preflight, "access-control-allow-methods").unwrap();
        assert!(!methods.contains("POST"), "{methods}");
    }
    // Any other route: no CORS answer for an origin not on the list.
    for (method, path) in [
        (Method::GET, "/api/users/me"),
        (Method::OPTIONS, "/api/auth/login"),
    ] {
        let response = Call::new(method, path)
            .header("origin", stranger)
            .header("access-control-request-method", "POST")
            .send(&app)
            .await;
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "{path}"
        );
    }
    // A listed origin is still answered as before.
    let listed = &app.config.cors_origins[0];
    let response = Call::new(Method::OPTIONS, "/api/auth/login")
        .header("origin", listed.clone())
        .header("access-control-request-method", "POST")
        .send(&app)
        .await;
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(listed.as_str())
    );
}

/// A token signed by a key that is not in the JWKS, under the id of one that is, for each
/// algorithm: refused with 401 though its session is live.
async fn a_key_not_in_the_jwks_is_refused_under_any_of_our_key_ids(app: TestApp) {
    for alg in SigningAlg::ALL {
        let mut ours = rotating();
        let kid = ours
            .signing_keys
            .iter()
            .find(|key| key.alg == alg.name())
            .unwrap()
            .kid
            .clone();
        ours.activate(&kid).unwrap();
        let server = signing(&app, &ours, alg);
        let ada = account(&server, &format!("{alg}-forged@example.com"), "Ada").await;
        assert_eq!(get_me(&server, &ada.access).await.status(), StatusCode::OK);

        let mut forged = with_hmac_k1(KeySetDocument::generate(alg));
        forged.signing_keys[0].kid = kid.clone();
        forged.active_signing_keys = [(alg.name().to_owned(), kid)].into();
        let forger = signing(&app, &forged, alg);
        // The forged token names a live session of Ada's: only its signature is wrong.
        let session = claims(&ada.access);
        let forged_token = forger
            .app
            .sessions()
            .start(
                &forger
                    .stores
                    .users
                    .get_user(&ada.id)
                    .await
                    .unwrap()
                    .unwrap(),
                shared::domain::Authentication::password(),
                shared::store::SessionOrigin::default(),
            )
            .await
            .unwrap()
            .access_token;
        assert_eq!(claims(&forged_token)["sub"], session["sub"]);
        let response = get_me(&server, &forged_token).await;
        support::assert_problem(&response, StatusCode::UNAUTHORIZED, "invalid_token");
    }
}

/// An HS256 token from before the switch: refused by default, accepted inside
/// `HS256_ACCEPTED_UNTIL`, refused after it.
async fn hs256_tokens_pass_only_inside_the_migration_window(app: TestApp) {
    let before = KeySet::new(
        "k1".into(),
        [("k1".to_owned(), HMAC.as_bytes().to_vec())].into(),
    );
    let before = instance(&app, app.config.clone(), before.unwrap());
    let ada = account(&before, "hs256@example.com", "Ada").await;
    let header = ada.access.split('.').next().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()["alg"],
        "HS256"
    );

    let upgraded = |until: Option<i64>| {
        let config = Config {
            hs256_accepted_until: until,
            ..app.config.clone()
        };
        let document = with_hmac_k1(KeySetDocument::generate(SigningAlg::EdDSA));
        instance(
            &app,
            config,
            KeySet::from_document(&document, SigningAlg::EdDSA).unwrap(),
        )
    };
    let now = shared::clock::now_ms();
    let response = get_me(&upgraded(None), &ada.access).await;
    support::assert_problem(&response, StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(
        get_me(&upgraded(Some(now + 60_000)), &ada.access)
            .await
            .status(),
        StatusCode::OK
    );
    let response = get_me(&upgraded(Some(now - 1_000)), &ada.access).await;
    support::assert_problem(&response, StatusCode::UNAUTHORIZED, "invalid_token");
    // The session itself goes on: its refresh token gets an EdDSA access token.
    let refreshed = support::refresh_with(&upgraded(None), &ada.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}

on_both_stores! {
    publishes_every_signing_key_and_nothing_secret => Config::for_tests(),
    a_set_without_signing_keys_publishes_none => Config::for_tests(),
    discovery_names_the_issuer_the_jwks_and_the_algorithms => Config::for_tests(),
    any_origin_may_read_the_public_keys => Config::for_tests(),
    a_key_not_in_the_jwks_is_refused_under_any_of_our_key_ids => Config::for_tests(),
    hs256_tokens_pass_only_inside_the_migration_window => Config::for_tests(),
}
