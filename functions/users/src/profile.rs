//! One user: read (self or admin), update (self: name, e-mail; admin: also role), delete.

use lambda_http::http::StatusCode;
use lambda_http::http::header::ETAG;
use serde::Deserialize;
use shared::App;
use shared::auth::{Principal, authenticate};
use shared::clock::now_ms;
use shared::domain::{DisplayName, Email, FieldErrors, Role, User};
use shared::http::{
    self, ApiError, Request, Response, etag, no_content, query_param, read_json, required_version,
    with_header,
};
use shared::store::StoreError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
}

fn profile_response(user: &User) -> Result<Response, ApiError> {
    Ok(with_header(
        http::json(StatusCode::OK, &user.view())?,
        ETAG,
        &etag(user.version),
    ))
}

/// The target user, if the caller may see it: themselves or an admin. Others get 403 (the
/// listing is admin-only, so ids are not enumerable this way).
async fn visible_user(app: &App, principal: &Principal, id: &str) -> Result<User, ApiError> {
    if principal.id() != id && !principal.is_admin() {
        return Err(ApiError::Forbidden);
    }
    match app.stores.users.get_user(id).await? {
        Some(user) if user.is_active() => Ok(user),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn me(app: &App, req: Request) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    profile_response(&principal.user)
}

pub async fn get(app: &App, req: Request, id: &str) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    profile_response(&visible_user(app, &principal, id).await?)
}

pub async fn patch(app: &App, req: Request, id: &str) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    let body: UserPatch = read_json(&req)?;
    let current = visible_user(app, &principal, id).await?;
    if body.role.is_some() && !principal.is_admin() {
        return Err(ApiError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let name = errors.parse_optional("name", body.name, DisplayName::parse);
    let email = errors.parse_optional("email", body.email, Email::parse);
    let role = errors.parse_optional("role", body.role, Role::parse);
    ApiError::check(errors)?;
    let expected = required_version(&req)?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(ApiError::PreconditionFailed);
    }

    let next = User {
        name: name.unwrap_or_else(|| current.name.clone()),
        email: email.unwrap_or_else(|| current.email.clone()),
        role: role.unwrap_or(current.role),
        updated_at: now_ms(),
        version: current.version + 1,
        ..current.clone()
    };
    match app.stores.users.update_user(&current, &next).await {
        Ok(()) => profile_response(&next),
        Err(StoreError::Conflict) if expected.is_some() => Err(ApiError::PreconditionFailed),
        Err(e) => Err(e.into()),
    }
}

/// Soft delete by an admin, or by the user themselves with `?self=true`.
pub async fn delete(app: &App, req: Request, id: &str) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    let confirmed_self = principal.id() == id && query_param(&req, "self") == Some("true");
    if !principal.is_admin() && !confirmed_self {
        return Err(ApiError::Forbidden);
    }
    let user = visible_user(app, &principal, id).await?;
    if required_version(&req)?.is_some_and(|v| v != user.version) {
        return Err(ApiError::PreconditionFailed);
    }
    app.stores.users.delete_user(&user, now_ms()).await?;
    app.stores.posts.hide_author_posts(&user.id).await?;
    Ok(no_content())
}
