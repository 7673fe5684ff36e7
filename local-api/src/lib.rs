//! Every HTTP function of the set on one router: what `local-api` serves and the tests call.

pub mod account_page;
pub mod page;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use shared::http::{AppState, Routes, service};

/// Every HTTP function's routes. Together they are the API's one route list: template.yaml's
/// events, the `cargo lambda watch` router and this server are tested against it.
pub fn http_functions() -> Vec<Routes> {
    vec![
        register::routes(),
        login::routes(),
        refresh::routes(),
        users::routes(),
        posts::routes(),
        account::routes(),
        leads::routes(),
        dashboard::routes(),
        mfa::routes(),
        oauth::routes(),
        passkeys::routes(),
    ]
}

/// The whole API, with the same middleware each function runs on Lambda, plus `/health`.
pub fn router(app: AppState) -> Router {
    // `/health`, the pages and the spec are local only, so not in the functions' route list.
    let local = Routes::new("local-api")
        .get("/health", health)
        .get("/dashboard", page::index)
        .get("/dashboard/{file}", page::asset)
        .get("/dashboard/vendor/{file}", page::vendor_asset)
        .get("/web-common/{file}", page::common_asset)
        .get("/account", account_page::account)
        .get("/account/", account_page::account)
        .get("/account/{file}", account_page::asset)
        .get("/verify-email", account_page::verify_email)
        .get("/reset-password", account_page::reset_password)
        .get("/openapi.yaml", page::openapi)
        .get("/docs", page::docs)
        .get("/docs/{file}", page::docs_asset)
        .get("/docs/vendor/{file}", page::docs_vendor_asset);
    let api = http_functions().into_iter().fold(local, Routes::merge);
    service(api, app).layer(axum::middleware::map_response(close_after_unread_body))
}

/// A 413 is answered before the body is read, and hyper then drops the connection. Saying so
/// keeps a client from sending its next request on a connection that is about to close.
async fn close_after_unread_body(mut response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Up, and which integrations are configured (`files`: written under `DATA_DIR` instead).
async fn health() -> axum::Json<serde_json::Value> {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let mail = if set("SMTP_HOST") { "smtp" } else { "files" };
    let telegram = match (set("TELEGRAM_BOT_TOKEN"), set("TELEGRAM_ADMIN_CHAT_ID")) {
        (true, true) => "bot",
        (true, false) => "misconfigured: TELEGRAM_ADMIN_CHAT_ID is not set",
        _ => "files",
    };
    axum::Json(serde_json::json!({
        "status": "ok",
        "integrations": { "mail": mail, "telegram": telegram },
    }))
}
