//! The middleware every route runs inside, in one stack for Lambda and `local-api` alike:
//! request id, one log line, security headers, CORS, problem documents, panic safety,
//! body limit.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{from_fn, map_request, map_response};
use axum::response::Response;
use http::header::{CACHE_CONTROL, HeaderValue};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::problems::{panicked, problems};
use super::request_id::{self, MakeUuid, X_REQUEST_ID};
use super::{ApiError, AppState, Routes};

/// Room for the largest valid request: a post of `MAX_CONTENT_CHARS` characters of up to four
/// UTF-8 bytes each, with its JSON around it.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub const SECURITY_HEADERS: &[(&str, &str)] = &[
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

fn request_span(req: &Request) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("-", MatchedPath::as_str);
    let request_id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", request_id, method = %req.method(), route)
}

fn log_response(response: &Response, latency: Duration, _: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "request"
    );
}

/// Security headers on every response; `no-store` unless the route set its own caching.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        // A page (the local dashboard) sets its own, narrower-than-API policy; the rest never do.
        if *name == "content-security-policy" && headers.contains_key(*name) {
            continue;
        }
        headers.insert(*name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn no_route() -> ApiError {
    ApiError::NoRoute
}

/// `routes` with every layer and the state applied: what Lambda runs and `local-api` serves.
pub fn service(routes: Routes, app: AppState) -> Router {
    let stack = ServiceBuilder::new()
        .layer(map_request(|req: Request| async {
            request_id::normalize(req)
        }))
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(map_response(security_headers))
        .layer(from_fn(problems))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));
    routes
        .into_router(&app.config.cors_origins)
        .fallback(no_route)
        .layer(stack)
        .with_state(app)
}
