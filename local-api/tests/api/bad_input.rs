//! Bad requests over real HTTP: always a clean problem+json 4xx, never a 500.

use crate::support;

use serde_json::json;
use support::{Server, problem};

#[tokio::test]
async fn malformed_or_oversized_bodies_are_rejected_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let post_raw = |path: &'static str, content_type: &'static str, body: Vec<u8>| {
        server
            .http
            .post(server.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let broken = post_raw(
        "/api/auth/register",
        "application/json",
        b"{\"email\": ".to_vec(),
    )
    .await
    .unwrap();
    problem(broken, 400, "malformed_json").await;

    let form = post_raw(
        "/api/auth/login",
        "application/x-www-form-urlencoded",
        b"email=a".to_vec(),
    )
    .await
    .unwrap();
    problem(form, 415, "unsupported_media_type").await;

    let huge = format!(
        r#"{{"email":"a@example.com","password":"{}","name":"x"}}"#,
        "x".repeat(300 * 1024)
    );
    let huge = post_raw("/api/auth/register", "application/json", huge.into_bytes())
        .await
        .unwrap();
    // The body was never read, so the connection is not reused for the next request.
    assert_eq!(huge.headers()["connection"], "close");
    problem(huge, 413, "payload_too_large").await;

    let wrong_shape = post_raw("/api/auth/login", "application/json", b"[1, 2]".to_vec())
        .await
        .unwrap();
    problem(wrong_shape, 422, "validation_failed").await;

    let mass_assignment = server
        .post(
            "/api/auth/register",
            json!({ "email": "x@example.com", "password": "correct horse", "name": "X", "role": "admin" }),
        )
        .await;
    problem(mass_assignment, 422, "validation_failed").await;

    let every_field = server
        .post(
            "/api/auth/register",
            json!({ "email": "nope", "password": "short" }),
        )
        .await;
    let body = problem(every_field, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "name", "password"]);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let missing = server
        .http
        .get(server.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    problem(missing, 404, "route_not_found").await;
    let wrong_method = server
        .http
        .get(server.url("/api/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.headers().get("allow").unwrap(), "POST,OPTIONS");
    problem(wrong_method, 405, "method_not_allowed").await;
    let wrong_method = server
        .http
        .delete(server.url("/api/users/me"))
        .send()
        .await
        .unwrap();
    problem(wrong_method, 405, "method_not_allowed").await;

    // HEAD works wherever GET does, without a body.
    let head = server
        .http
        .head(server.url("/api/posts"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["x-content-type-options"], "nosniff");
    assert!(head.bytes().await.unwrap().is_empty());

    // OPTIONS is part of a known route only.
    let options = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/api/nothing-here"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    problem(options, 404, "route_not_found").await;

    // A request target longer than 8 KiB.
    let long = format!("/api/posts?tag={}", "a".repeat(9 * 1024));
    let long = server.http.get(server.url(&long)).send().await.unwrap();
    assert_eq!(long.headers()["x-frame-options"], "DENY");
    problem(long, 414, "uri_too_long").await;
}

#[tokio::test]
async fn forged_tampered_and_missing_tokens_are_401() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let body = server
        .register("turing@example.com", "correct horse battery")
        .await;
    let access = body["accessToken"].as_str().unwrap();

    let none = server
        .http
        .get(server.url("/api/users/me"))
        .send()
        .await
        .unwrap();
    problem(none, 401, "missing_token").await;

    let parts: Vec<&str> = access.split('.').collect();
    // {"alg":"none","typ":"JWT"}
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    problem(
        server.get_authed("/api/users/me", &alg_none).await,
        401,
        "invalid_token",
    )
    .await;
    let bad_signature = format!("{}.{}.{}", parts[0], parts[1], "A".repeat(parts[2].len()));
    problem(
        server.get_authed("/api/users/me", &bad_signature).await,
        401,
        "invalid_token",
    )
    .await;
    problem(
        server.get_authed("/api/users/me", "garbage").await,
        401,
        "invalid_token",
    )
    .await;

    let refresh = body["refreshToken"].as_str().unwrap();
    let mut tampered: Vec<char> = refresh.chars().collect();
    tampered[5] = if tampered[5] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    for bad in [tampered.as_str(), "short", ""] {
        let response = server
            .post("/api/auth/refresh", json!({ "refreshToken": bad }))
            .await;
        problem(response, 401, "invalid_refresh_token").await;
    }
    let missing = server.post("/api/auth/refresh", json!({})).await;
    problem(missing, 422, "validation_failed").await;
}

#[tokio::test]
async fn security_headers_and_cors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let health = server
        .http
        .get(server.url("/health"))
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    let headers = health.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );

    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/api/auth/login"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    let stranger = server
        .http
        .get(server.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// Sends raw bytes and reads the whole answer (the server closes the connection after it).
fn raw_exchange(base: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn requests_the_http_server_rejects_still_get_problem_documents() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let many_headers: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases = [
        (b"GARBAGE\r\n\r\n".to_vec(), "400", "bad_request"),
        (
            format!("GET /api/posts HTTP/1.1\r\nhost: x\r\n{many_headers}\r\n").into_bytes(),
            "431",
            "request_headers_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let answer = raw_exchange(&server.base, &request);
        let lower = answer.to_ascii_lowercase();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(
            lower.contains("content-type: application/problem+json"),
            "{answer}"
        );
        assert!(lower.contains("x-request-id: "), "{answer}");
        assert!(lower.contains("x-frame-options: deny"), "{answer}");
        assert!(answer.contains(&format!("\"code\":\"{code}\"")), "{answer}");
    }
}
