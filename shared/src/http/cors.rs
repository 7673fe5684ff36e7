//! CORS from the configured allow-list of origins.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, HeaderValue, VARY,
};

use super::Response;

const ALLOWED_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS: &str = "authorization, content-type, if-match, if-none-match, x-request-id";
const EXPOSED_HEADERS: &str = "etag, location, retry-after, x-request-id";

/// The origin, if the allow-list admits it (`*` in the list admits any).
pub fn allowed_origin<'a>(origin: Option<&'a str>, allow_list: &[String]) -> Option<&'a str> {
    origin.filter(|origin| allow_list.iter().any(|o| o == "*" || o == origin))
}

pub fn apply(response: &mut Response, origin: Option<&str>, preflight: bool) {
    let headers = response.headers_mut();
    headers.append(VARY, HeaderValue::from_static("origin"));
    let Some(origin) = origin.and_then(|o| HeaderValue::from_str(o).ok()) else {
        return;
    };
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    if preflight {
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
}
