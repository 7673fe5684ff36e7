//! The middleware every handler runs inside.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use http::Method;
use http::header::{CACHE_CONTROL, HeaderName, HeaderValue, ORIGIN};
use lambda_http::Request;

use super::{ApiError, Response, cors, header, no_content, path_of, request_id};
use crate::App;

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
];

/// Runs `route` with the request id, CORS, security headers, panic safety and one log line.
pub async fn serve<F, Fut>(app: &App, req: Request, route: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let path = path_of(&req);
    let origin = header(&req, ORIGIN).map(str::to_owned);
    let origin = cors::allowed_origin(origin.as_deref(), &app.config.cors_origins);

    let preflight = method == Method::OPTIONS;
    let result = if preflight {
        Ok(no_content())
    } else {
        AssertUnwindSafe(route(req))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(ApiError::Internal("handler panicked".into())))
    };
    let mut response = result.unwrap_or_else(|error| {
        if let ApiError::Internal(detail) = &error {
            tracing::error!(request_id = %id, error = %detail, "request failed");
        }
        error.into_response(&id)
    });

    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
    cors::apply(&mut response, origin, preflight);

    tracing::info!(
        request_id = %id,
        method = %method,
        route = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
