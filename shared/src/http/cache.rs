//! Caching headers for a GET whose answer depends on the caller or not: a shared answer is
//! tagged with a digest of its body and may be kept by any cache; a caller's own is kept by none.

use axum::body::Body;
use axum::response::Response;
use http::header::{CACHE_CONTROL, ETAG, HeaderValue, VARY};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::ApiError;
use super::etag::{body_etag, none_match};
use super::response::{json, json_bytes};

/// What a caller's own answer says: no cache, shared or the browser's, may keep it.
pub const PRIVATE_NO_STORE: &str = "private, no-store";

/// `value` as JSON any cache may keep for `cache_control`, with a strong `ETag` of its bytes.
/// When the request's `If-None-Match` names that tag (or is `*`), the answer is 304 with no
/// body and the same `ETag`, `Cache-Control` and `Vary`. The body is still built: the tag is
/// its digest, so a revalidation costs the reads but not the transfer.
pub fn shared_json<T: Serialize>(
    request: &HeaderMap,
    value: &T,
    cache_control: &'static str,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.into()))?;
    let tag = body_etag(&body);
    let mut response = if none_match(request, &tag) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        json_bytes(StatusCode::OK, body)
    };
    let headers = response.headers_mut();
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        headers.insert(ETAG, tag);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    headers.insert(VARY, HeaderValue::from_static("Authorization"));
    Ok(response)
}

/// `value` as JSON that is the caller's own: `private, no-store`, varying by `Authorization`
/// like the shared answer of the same URL.
pub fn private_json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let mut response = json(StatusCode::OK, value)?;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE_NO_STORE));
    headers.insert(VARY, HeaderValue::from_static("Authorization"));
    Ok(response)
}
