//! What ties a sign-in to the browser that started it: a `__Host-` cookie holding a random
//! binding, whose hash the sign-in's state keeps (a callback from another browser, such as one
//! an attacker started and handed a victim, finds no match); and where the browser may be sent
//! back to (an allow-list, exact).

use axum::http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::config::Config;
use shared::http::ApiError;

pub const COOKIE_NAME: &str = "__Host-oauth";
/// How long a sign-in at a provider may take.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// The binding the browser sent, if any.
pub fn binding(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 64)
}

/// Sets the binding cookie on `response` (with `None`, clears it); never cached.
pub fn with_binding(mut response: Response, binding: Option<&str>) -> Response {
    let cookie = match binding {
        Some(value) => format!(
            "{COOKIE_NAME}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
            STATE_TTL_MS / 1000
        ),
        None => format!("{COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"),
    };
    let headers = response.headers_mut();
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        headers.insert(SET_COOKIE, cookie);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A redirect setting (or with `None` clearing) the binding cookie.
pub fn redirect(location: &str, binding: Option<&str>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    with_binding(response, binding)
}

/// The pages a sign-in may return to: `OAUTH_RETURN_URLS`, or `APP_BASE_URL`'s account and
/// dashboard pages.
pub fn return_urls(config: &Config) -> Vec<String> {
    if !config.oauth_return_urls.is_empty() {
        return config.oauth_return_urls.clone();
    }
    let base = config.app_base_url.trim_end_matches('/');
    vec![format!("{base}/account"), format!("{base}/dashboard")]
}

/// `asked` if it is on the list exactly, the list's first when not asked; 400 otherwise.
pub fn return_to(config: &Config, asked: Option<&str>) -> Result<String, ApiError> {
    let allowed = return_urls(config);
    match asked {
        None => Ok(allowed[0].clone()),
        Some(url) if allowed.iter().any(|a| a == url) => Ok(url.to_owned()),
        Some(_) => Err(ApiError::bad_request(
            "return_to_not_allowed",
            "return_to must be one of the pages configured in OAUTH_RETURN_URLS",
        )),
    }
}

/// `return_to` with `key=value` in its fragment (never the query: the fragment reaches no
/// server and no `Referer`).
pub fn with_fragment(return_to: &str, key: &str, value: &str) -> String {
    let value: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("{return_to}#{key}={value}")
}
