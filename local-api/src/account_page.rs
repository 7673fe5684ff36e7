//! The account pages a mailed link opens, at the paths the mails use (`/verify-email`,
//! `/reset-password`), and the account page (`/account`: sign-in, your devices, password and
//! address), files from `account/`; deployable as static files like the dashboard (README).

use axum::extract::Path;
use axum::response::Response;

use crate::page::{CSS, File, HTML, JS, PAGE_CSP, from};

const FILES: &[File] = &[
    (
        "index.html",
        HTML,
        include_bytes!("../../account/index.html"),
    ),
    (
        "verify-email.html",
        HTML,
        include_bytes!("../../account/verify-email.html"),
    ),
    (
        "reset-password.html",
        HTML,
        include_bytes!("../../account/reset-password.html"),
    ),
    ("account.js", JS, include_bytes!("../../account/account.js")),
    (
        "verify-email.js",
        JS,
        include_bytes!("../../account/verify-email.js"),
    ),
    (
        "reset-password.js",
        JS,
        include_bytes!("../../account/reset-password.js"),
    ),
    (
        "two-factor.js",
        JS,
        include_bytes!("../../account/two-factor.js"),
    ),
    (
        "identities.js",
        JS,
        include_bytes!("../../account/identities.js"),
    ),
    (
        "mailed-link.js",
        JS,
        include_bytes!("../../account/mailed-link.js"),
    ),
    (
        "account.css",
        CSS,
        include_bytes!("../../account/account.css"),
    ),
];

pub async fn account() -> Response {
    from(FILES, "index.html", PAGE_CSP)
}

pub async fn verify_email() -> Response {
    from(FILES, "verify-email.html", PAGE_CSP)
}

pub async fn reset_password() -> Response {
    from(FILES, "reset-password.html", PAGE_CSP)
}

pub async fn asset(Path(name): Path<String>) -> Response {
    from(FILES, &name, PAGE_CSP)
}
