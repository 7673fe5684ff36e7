//! Logging out: the refresh token ends its session whatever the `Authorization` header says (an
//! expired access token is the usual reason to log out); "log out everywhere" needs a valid
//! bearer, and a body it is sent must be well formed like any other. Both stores.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use shared::auth::{issue_access_token, verify_access_token};
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::Authentication;
use support::{Account, Call, TestApp, account, assert_problem, refresh_with};

/// An access token for `account`'s session, signed with the app's key, that expired an hour ago.
async fn expired_access_token(app: &TestApp, account: &Account) -> String {
    let keys = app.keys.current().await;
    let claims = verify_access_token(&keys, &app.config, &account.access).unwrap();
    let two_hours_ago = now_ms() / 1000 - 2 * 3600;
    let token = issue_access_token(
        &keys,
        &app.config,
        &claims.sub,
        claims.role,
        &claims.sid,
        &Authentication::password(),
        two_hours_ago,
    )
    .unwrap();
    let refused = Call::new(Method::GET, "/api/users/me")
        .token(&token)
        .send(app)
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "really expired");
    token
}

async fn logout_with_bearer(app: &TestApp, bearer: &str, refresh: &str) {
    let response = Call::new(Method::POST, "/api/auth/logout")
        .token(bearer)
        .json(json!({ "refreshToken": refresh }))
        .send(app)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        response.body()
    );
    assert_problem(
        &refresh_with(app, refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
}

async fn logout_with_an_expired_bearer_ends_the_session(app: TestApp) {
    let ada = account(&app, "ada@example.com", "Ada").await;
    let expired = expired_access_token(&app, &ada).await;
    logout_with_bearer(&app, &expired, &ada.refresh).await;
}

async fn logout_with_a_garbage_bearer_ends_the_session(app: TestApp) {
    let ada = account(&app, "ada@example.com", "Ada").await;
    logout_with_bearer(&app, "not.a.jwt", &ada.refresh).await;
}

async fn logout_everywhere_still_needs_a_valid_bearer(app: TestApp) {
    let ada = account(&app, "ada@example.com", "Ada").await;
    let expired = expired_access_token(&app, &ada).await;
    for bearer in [None, Some(expired.as_str()), Some("not.a.jwt")] {
        let mut call = Call::new(Method::POST, "/api/auth/logout?scope=all")
            .json(json!({ "refreshToken": ada.refresh }));
        call.token = bearer;
        let response = call.send(&app).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bearer:?}");
    }
    let refreshed = refresh_with(&app, &ada.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK, "nothing was ended");
}

fn raw_logout(query: &str, bearer: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::post(format!("/api/auth/logout{query}"))
        .header("authorization", format!("Bearer {bearer}"));
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

async fn a_malformed_logout_body_is_refused_with_or_without_scope(app: TestApp) {
    let ada = account(&app, "ada@example.com", "Ada").await;
    for query in ["", "?scope=all", "?scope=others"] {
        let refused = [
            (
                Some("text/plain"),
                "random bytes",
                415,
                "unsupported_media_type",
            ),
            (None, "\u{1}\u{2}garbage", 415, "unsupported_media_type"),
            (Some("application/json"), "{not json", 400, "malformed_json"),
            (Some("application/json"), "", 400, "malformed_json"),
            (
                Some("application/json"),
                "[\"token\"]",
                422,
                "validation_failed",
            ),
            (Some("application/json"), "42", 422, "validation_failed"),
            (
                Some("application/json"),
                "{\"other\":1}",
                422,
                "validation_failed",
            ),
            (
                Some("application/json"),
                "{\"refreshToken\":5}",
                422,
                "validation_failed",
            ),
        ];
        for (content_type, body, status, code) in refused {
            // A scope needs no body: an empty one, whatever its content type, is none.
            if !query.is_empty() && body.is_empty() {
                continue;
            }
            let request = raw_logout(query, &ada.access, content_type, body);
            let response = support::send(&app, request).await;
            let status = StatusCode::from_u16(status).unwrap();
            let problem = assert_problem(&response, status, code);
            assert_eq!(problem["status"], status.as_u16(), "{query} {body:?}");
        }
    }
    let refreshed = refresh_with(&app, &ada.refresh).await;
    assert_eq!(
        refreshed.status(),
        StatusCode::OK,
        "no refused call ended it"
    );
    let ada_refresh = support::body_json(&refreshed)["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // With ?scope=all no body at all is fine: every session ends, the refreshed one too.
    let me = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "ada@example.com", "password": "correct horse battery" }))
        .send(&app)
        .await;
    let access = support::body_json(&me)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = support::send(&app, raw_logout("?scope=all", &access, None, "")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(
        &refresh_with(&app, &ada_refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
}

/// A token signed with the app's key (only its holder can make one) whose ids are not ids, some
/// too long to be a key at all: a clean 401, never a store error.
async fn signed_tokens_with_ids_that_are_not_ids_are_refused(app: TestApp) {
    let ada = account(&app, "ada@example.com", "Ada").await;
    let keys = app.keys.current().await;
    let claims = verify_access_token(&keys, &app.config, &ada.access).unwrap();
    let now = now_ms() / 1000;
    let long = "a".repeat(5000);
    let upper = claims.sub.to_uppercase();
    for (sub, sid) in [
        (long.as_str(), claims.sid.as_str()),
        (claims.sub.as_str(), long.as_str()),
        (upper.as_str(), claims.sid.as_str()),
        ("u1", "s1"),
    ] {
        let token = issue_access_token(
            &keys,
            &app.config,
            sub,
            claims.role,
            sid,
            &Authentication::password(),
            now,
        )
        .unwrap();
        let refused = Call::new(Method::GET, "/api/users/me")
            .token(&token)
            .send(&app)
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "{sub:.20} {sid:.20}"
        );
    }
}

/// A query parameter a route reads, sent twice, is a 400 before anything happens: which of the
/// two a proxy, cache or firewall in front read is anyone's guess. One no route reads is ignored.
async fn a_parameter_sent_twice_is_refused(app: TestApp) {
    let ada = account(&app, "ada@example.com", "Ada").await;
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "ada@example.com", "password": "correct horse battery" }))
        .send(&app)
        .await;
    let other = support::body_json(&login)["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for query in [
        "?scope=all&scope=others",
        "?scope=others&scope=all",
        "?scope=all&scope=all",
        "?scope=others&scope=",
    ] {
        let response = Call::new(Method::POST, &format!("/api/auth/logout{query}"))
            .token(&ada.access)
            .send(&app)
            .await;
        let problem = assert_problem(&response, StatusCode::BAD_REQUEST, "duplicate_parameter");
        assert!(
            problem["detail"].as_str().unwrap().contains("`scope`"),
            "{problem}"
        );
    }
    // Nothing was ended: both sessions carry on.
    for signed_in in [&ada.refresh, &other] {
        assert_eq!(refresh_with(&app, signed_in).await.status(), StatusCode::OK);
    }
    for path in [
        "/api/posts?limit=1&limit=100",
        "/api/posts?tag=a&tag=b",
        "/api/posts?limit=5&cursor=x&cursor=y",
    ] {
        let response = Call::new(Method::GET, path).send(&app).await;
        assert_problem(&response, StatusCode::BAD_REQUEST, "duplicate_parameter");
    }
    let ignored = Call::new(Method::GET, "/api/posts?utm=1&utm=2&limit=5")
        .send(&app)
        .await;
    assert_eq!(ignored.status(), StatusCode::OK);
}

on_both_stores! {
    signed_tokens_with_ids_that_are_not_ids_are_refused => Config::for_tests(),
    logout_with_an_expired_bearer_ends_the_session => Config::for_tests(),
    logout_with_a_garbage_bearer_ends_the_session => Config::for_tests(),
    logout_everywhere_still_needs_a_valid_bearer => Config::for_tests(),
    a_malformed_logout_body_is_refused_with_or_without_scope => Config::for_tests(),
    a_parameter_sent_twice_is_refused => Config::for_tests(),
}
