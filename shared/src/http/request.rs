use http::header::{AUTHORIZATION, CONTENT_TYPE};
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use super::ApiError;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The request path without any API Gateway stage prefix.
pub fn path_of(req: &Request) -> String {
    match req.raw_http_path() {
        "" => req.uri().path().to_owned(),
        raw => raw.to_owned(),
    }
}

pub fn header(req: &Request, name: impl http::header::AsHeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
}

pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = header(req, AUTHORIZATION)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The id that ties a response and its log line together: Lambda's request id, or a
/// caller-supplied `x-request-id` of a sane shape, or a fresh one.
pub fn request_id(req: &Request) -> String {
    if let Some(context) = req.lambda_context_ref() {
        return context.request_id.clone();
    }
    header(req, "x-request-id")
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Reads a JSON body: 415 for another content type, 413 over 64 KiB, 400 for broken JSON,
/// 422 for JSON of the wrong shape.
pub fn read_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let is_json = header(req, CONTENT_TYPE)
        .and_then(|value| value.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::Validation(vec![crate::domain::FieldError {
                field: "body".into(),
                code: "invalid_shape",
                message: e.to_string(),
            }])
        }
        _ => ApiError::MalformedJson(e.to_string()),
    })
}
