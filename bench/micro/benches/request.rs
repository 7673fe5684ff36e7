//! A request body from JSON bytes to validated domain values, as the handlers do it: the
//! `shared::http::Json` extractor (content type, body, serde), then each field through its
//! domain parser (`Email::parse`, `DisplayName::parse`, `Password::parse`, `PostTitle::parse`...)
//! into `FieldErrors`.
//!
//! The body structs and the field-by-field checks are the handlers' own
//! (`register::parse_body`, `posts::parse_new_post`).

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use criterion::{Criterion, criterion_group, criterion_main};
use http::header::CONTENT_TYPE;
use shared::domain::{DisplayName, Email, NewPost, Password};
use shared::http::{ApiError, Json};

/// The extractor's future: the body is already in memory, so it is ready at the first poll.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the extractor waited on an in-memory body"),
    }
}

/// `POST` with a JSON body, as the Lambda adapter hands it to the router.
fn json_request(body: &'static [u8]) -> Request {
    http::Request::post("/")
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(Bytes::from_static(body)))
        .expect("a valid request")
}

fn extract<T: serde::de::DeserializeOwned>(body: &'static [u8]) -> Result<T, ApiError> {
    ready(Json::<T>::from_request(json_request(body), &())).map(|Json(body)| body)
}

/// functions/register: `register`, up to the rate limit.
fn register(body: &'static [u8]) -> Result<(Email, DisplayName, Password), ApiError> {
    register::parse_body(extract(body)?)
}

/// functions/posts: `create`, up to `Post::new`.
fn create_post(body: &'static [u8]) -> Result<NewPost, ApiError> {
    posts::parse_new_post(extract(body)?)
}

const REGISTER: &[u8] =
    br#"{"email":"Ada.Lovelace@Example.com","password":"correct horse battery staple","name":"Ada Lovelace"}"#;
/// A non-ASCII address (NFC, IDNA to punycode) and name.
const REGISTER_IDN: &[u8] = "{\"email\":\"Jos\u{e9}.N\u{fa}\u{f1}ez@ex\u{e4}mple.com\",\"password\":\"contrase\u{f1}a segura 2024\",\"name\":\"Jos\u{e9} N\u{fa}\u{f1}ez\"}".as_bytes();
/// Every field wrong: a 422 with three field errors.
const REGISTER_INVALID: &[u8] = br#"{"email":"not-an-address","password":"short","name":"   "}"#;

/// A post of about 2 KB, published, with three tags.
fn post_body() -> &'static [u8] {
    let paragraph = "Cold starts of a Rust function stay under a hundred milliseconds: the binary \
        is small, nothing is interpreted, and the runtime starts in a few milliseconds. ";
    let body = serde_json::json!({
        "title": "What a Rust Lambda costs per request",
        "content": paragraph.repeat(12),
        "status": "published",
        "tags": ["rust", "aws-lambda", "serverless"],
    });
    Vec::leak(serde_json::to_vec(&body).expect("JSON"))
}

fn request(c: &mut Criterion) {
    assert!(register(REGISTER).is_ok());
    assert_eq!(
        register(REGISTER_IDN)
            .map(|(email, ..)| email.as_str().to_owned())
            .ok()
            .as_deref(),
        Some("jos\u{e9}.n\u{fa}\u{f1}ez@xn--exmple-cua.com")
    );
    match register(REGISTER_INVALID) {
        Err(ApiError::Validation(errors)) => assert_eq!(errors.len(), 3),
        other => panic!("expected three field errors, got {:?}", other.err()),
    }
    let post = post_body();
    assert!(create_post(post).is_ok());

    let mut group = c.benchmark_group("request");
    group.bench_function("register/valid", |b| {
        b.iter(|| register(black_box(REGISTER)))
    });
    group.bench_function("register/valid_idn", |b| {
        b.iter(|| register(black_box(REGISTER_IDN)))
    });
    group.bench_function("register/invalid_3_fields", |b| {
        b.iter(|| register(black_box(REGISTER_INVALID)))
    });
    group.bench_function("post_create/valid_2kb", |b| {
        b.iter(|| create_post(black_box(post)))
    });
    group.finish();
}

criterion_group!(benches, request);
criterion_main!(benches);
