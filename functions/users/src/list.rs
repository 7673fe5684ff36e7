//! `GET /api/users`: the admin listing (by e-mail; `?role=`, `?q=` e-mail or name prefix).

use axum::extract::State;
use axum::http::StatusCode;
use shared::auth::Principal;
use shared::domain::Role;
use shared::http::{
    self, ApiError, AppState, Params, Response, UserView, page_body, page_request,
    require_assurance,
};
use shared::permissions::{Sensitivity, may_list_users};
use shared::secrets::KeyProvider;
use shared::store::{Stores, UserQuery};

pub async fn list(
    State(app): State<AppState>,
    State(stores): State<Stores>,
    State(keys): State<KeyProvider>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    if !may_list_users(&principal) {
        return Err(ApiError::Forbidden);
    }
    require_assurance(&app, &principal, Sensitivity::AdminRead).await?;
    let role = params
        .get("role")
        .map(Role::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_role", e.message))?;
    let prefix = params
        .get("q")
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
    let keys = keys.current().await;
    let page_request = page_request(&params, &keys, &listing)?;
    let page = stores
        .users
        .list_users(
            &UserQuery { role, prefix },
            page_request.after.as_ref(),
            page_request.limit,
        )
        .await?;
    http::json(
        StatusCode::OK,
        &page_body(page, &keys, &listing, |user| UserView::from(user)),
    )
}
