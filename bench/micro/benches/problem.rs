//! Errors as `application/problem+json`: an `ApiError` turned into its response
//! (`IntoResponse`, which attaches the `Problem`), then the document the `problems` layer writes
//! for it with the request id (`shared::http::problem_document`): the response body's bytes.

use std::hint::black_box;

use axum::response::IntoResponse;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shared::domain::{DisplayName, Email, FieldError, FieldErrors, Password};
use shared::http::{ApiError, Problem, problem_document};

const REQUEST_ID: &str = "0b6f6c1e-5d2a-4c1e-9a57-3f0e8c2d4b19";

/// The body a client receives for `error`.
fn body(error: ApiError) -> Vec<u8> {
    let response = error.into_response();
    let problem = response
        .extensions()
        .get::<Problem>()
        .cloned()
        .expect("an ApiError response carries its Problem");
    let (_parts, _) = response.into_parts();
    problem_document(&problem, REQUEST_ID).into_bytes()
}

/// The field errors of a register body with every field wrong, from the domain's own parsers.
fn field_errors() -> Vec<FieldError> {
    let mut errors = FieldErrors::default();
    let email = errors.parse("email", Some("not-an-address"), Email::parse);
    errors.parse("name", Some("   "), DisplayName::parse);
    errors.parse("password", Some("short".to_owned()), |raw| {
        Password::parse(raw, email.as_ref())
    });
    errors.into_vec()
}

fn problem(c: &mut Criterion) {
    let errors = field_errors();
    assert_eq!(errors.len(), 3);
    let document: serde_json::Value =
        serde_json::from_slice(&body(ApiError::Validation(errors.clone()))).expect("JSON");
    assert_eq!(document["status"], 422);
    assert_eq!(document["errors"].as_array().map(Vec::len), Some(3));
    let document: serde_json::Value =
        serde_json::from_slice(&body(ApiError::NotFound)).expect("JSON");
    assert_eq!(document["code"], "not_found");

    let mut group = c.benchmark_group("problem");
    group.bench_function("validation_3_fields", |b| {
        b.iter_batched(
            || ApiError::Validation(errors.clone()),
            |error| body(black_box(error)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("not_found", |b| {
        b.iter(|| body(black_box(ApiError::NotFound)))
    });
    group.finish();
}

criterion_group!(benches, problem);
criterion_main!(benches);
