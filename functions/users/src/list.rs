//! `GET /api/users` (admins): by e-mail, filtered by `?role=` and `?q=` (e-mail or name prefix).

use lambda_http::http::StatusCode;
use shared::App;
use shared::auth::authenticate;
use shared::domain::{Role, User};
use shared::http::{self, ApiError, Request, Response, page_body, page_request, query_param};
use shared::store::UserQuery;

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    if !principal.is_admin() {
        return Err(ApiError::Forbidden);
    }
    let role = query_param(&req, "role")
        .map(Role::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_role", e.message))?;
    let prefix = query_param(&req, "q")
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    if prefix.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "q must be at most 100 characters",
        ));
    }
    let listing = format!(
        "users|{}|{}",
        role.map(Role::as_str).unwrap_or(""),
        prefix.as_deref().unwrap_or("")
    );
    let keys = app.keys.current().await;
    let page_request = page_request(&req, &keys, &listing)?;
    let page = app
        .stores
        .users
        .list_users(
            &UserQuery { role, prefix },
            page_request.after.as_ref(),
            page_request.limit,
        )
        .await?;
    http::json(
        StatusCode::OK,
        &page_body(page, &keys, &listing, User::view),
    )
}
