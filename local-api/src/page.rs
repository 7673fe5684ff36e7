//! Local pages built into the binary: the admin dashboard (`/dashboard`, files from
//! `dashboard/`; deployable anywhere, see the README), what it shares with the account pages
//! (`/web-common`, from `web-common/`), the API contract (`/openapi.yaml`) and its reference
//! page (`/docs`, Swagger UI from `docs-page/`). The account pages are in `account_page`.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::http::ApiError;

/// Scripts, styles and API calls from this origin only; no inline script, no framing.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The reference page: Swagger UI styles some elements inline, so styles may be inline; scripts
/// still come from this origin only.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

pub const HTML: &str = "text/html; charset=utf-8";
pub const JS: &str = "text/javascript; charset=utf-8";
pub const CSS: &str = "text/css; charset=utf-8";

/// A served file: its name under its folder, content type and bytes.
pub type File = (&'static str, &'static str, &'static [u8]);

const FILES: &[File] = &[
    (
        "index.html",
        HTML,
        include_bytes!("../../dashboard/index.html"),
    ),
    ("app.js", JS, include_bytes!("../../dashboard/app.js")),
    ("app.css", CSS, include_bytes!("../../dashboard/app.css")),
    (
        "vendor/uPlot.iife.min.js",
        JS,
        include_bytes!("../../dashboard/vendor/uPlot.iife.min.js"),
    ),
    (
        "vendor/uPlot.min.css",
        CSS,
        include_bytes!("../../dashboard/vendor/uPlot.min.css"),
    ),
];

const COMMON_FILES: &[File] = &[
    ("api.js", JS, include_bytes!("../../web-common/api.js")),
    (
        "devices.js",
        JS,
        include_bytes!("../../web-common/devices.js"),
    ),
    (
        "second-factor.js",
        JS,
        include_bytes!("../../web-common/second-factor.js"),
    ),
    (
        "providers.js",
        JS,
        include_bytes!("../../web-common/providers.js"),
    ),
    (
        "passkeys.js",
        JS,
        include_bytes!("../../web-common/passkeys.js"),
    ),
    (
        "password-rules.js",
        JS,
        include_bytes!("../../web-common/password-rules.js"),
    ),
    (
        "common.css",
        CSS,
        include_bytes!("../../web-common/common.css"),
    ),
];

const DOCS_FILES: &[File] = &[
    (
        "index.html",
        HTML,
        include_bytes!("../../docs-page/index.html"),
    ),
    ("docs.js", JS, include_bytes!("../../docs-page/docs.js")),
    (
        "vendor/swagger-ui-bundle.js",
        JS,
        include_bytes!("../../docs-page/vendor/swagger-ui-bundle.js"),
    ),
    (
        "vendor/swagger-ui.css",
        CSS,
        include_bytes!("../../docs-page/vendor/swagger-ui.css"),
    ),
];

const OPENAPI: &[u8] = include_bytes!("../../openapi.yaml");

fn served(content_type: &'static str, body: &'static [u8], csp: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("content-security-policy", HeaderValue::from_static(csp));
    response
}

/// `name` of `files`, or the API's 404.
pub fn from(files: &[File], name: &str, csp: &'static str) -> Response {
    match files.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => served(content_type, body, csp),
        None => ApiError::NotFound.into_response(),
    }
}

fn file(name: &str) -> Response {
    from(FILES, name, PAGE_CSP)
}

pub async fn openapi() -> Response {
    served("application/yaml", OPENAPI, PAGE_CSP)
}

pub async fn common_asset(Path(name): Path<String>) -> Response {
    from(COMMON_FILES, &name, PAGE_CSP)
}

pub async fn docs() -> Response {
    from(DOCS_FILES, "index.html", DOCS_CSP)
}

pub async fn docs_asset(Path(name): Path<String>) -> Response {
    from(DOCS_FILES, &name, DOCS_CSP)
}

pub async fn docs_vendor_asset(Path(name): Path<String>) -> Response {
    from(DOCS_FILES, &format!("vendor/{name}"), DOCS_CSP)
}

pub async fn index() -> Response {
    file("index.html")
}

pub async fn asset(Path(name): Path<String>) -> Response {
    file(&name)
}

pub async fn vendor_asset(Path(name): Path<String>) -> Response {
    file(&format!("vendor/{name}"))
}
