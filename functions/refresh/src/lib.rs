//! `POST /api/auth/refresh` (rotate), `POST /api/auth/logout` (revoke), the caller's sessions
//! (`/api/auth/sessions`), and the public keys that verify access tokens
//! (`/.well-known/jwks.json`, `/.well-known/openid-configuration`).

mod sessions;
mod well_known;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use serde::Deserialize;
use shared::auth::{AuthError, Principal};
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditOutcome, FieldErrors};
use shared::http::{
    ApiError, AppState, Caller, Json, Params, Response, Routes, no_content, token_response,
};

pub fn routes() -> Routes {
    Routes::new("refresh")
        .post("/api/auth/refresh", rotate)
        .post("/api/auth/logout", logout)
        .public_get("/.well-known/jwks.json", well_known::jwks)
        .public_get(
            "/.well-known/openid-configuration",
            well_known::openid_configuration,
        )
        .get("/api/auth/sessions", sessions::list)
        .delete("/api/auth/sessions/{id}", sessions::end)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: Option<String>,
}

fn refresh_token(body: RefreshBody) -> Result<String, ApiError> {
    let mut errors = FieldErrors::default();
    errors
        .required("refreshToken", body.refresh_token)
        .ok_or_else(|| ApiError::Validation(errors.into_vec()))
}

async fn rotate(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<RefreshBody>,
) -> Result<Response, ApiError> {
    let presented = refresh_token(body)?;
    match app
        .sessions()
        .refresh(&presented, &*app.stores.outbox)
        .await
    {
        Ok((user, tokens)) => token_response(axum::http::StatusCode::OK, &user, tokens),
        Err(AuthError::RefreshTokenReused { user_id }) => {
            let event = caller.event(AuditAction::RefreshTokenReuse, AuditOutcome::Failure);
            app.audit(event.target(&user_id).detail("session_revoked"))
                .await;
            Err(AuthError::RefreshTokenReused { user_id }.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The bearer of a request whose body, if it has one, must be the logout body (its
/// `refreshToken` is ignored): what `?scope=all` and `?scope=others` take.
async fn bearer_with_optional_body(app: &AppState, req: Request) -> Result<Principal, ApiError> {
    let (mut parts, body) = req.into_parts();
    let principal = Principal::from_request_parts(&mut parts, app).await?;
    Option::<Json<RefreshBody>>::from_request(Request::from_parts(parts, body), app).await?;
    Ok(principal)
}

/// Ends this session (the refresh token's family), whatever the `Authorization` header says:
/// the refresh token is the credential here, and an expired access token is the usual reason
/// to log out. With `?scope=all`, every session of the bearer's user; with `?scope=others`,
/// every one but the bearer's own: only these need a valid access token. A body is optional
/// with a scope, but one that is sent must be the same JSON object (its `refreshToken` is
/// ignored).
async fn logout(
    State(app): State<AppState>,
    params: Params,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    match params.get("scope")? {
        Some("all") => {
            let principal = bearer_with_optional_body(&app, req).await?;
            app.stores
                .users
                .end_all_sessions(principal.id(), now_ms())
                .await?;
            let event = caller.event(AuditAction::LogoutAll, AuditOutcome::Success);
            app.audit(event.by_self(principal.id())).await;
        }
        Some("others") => {
            let principal = bearer_with_optional_body(&app, req).await?;
            app.sessions().end_others(&principal).await?;
            let event = caller.event(AuditAction::LogoutOthers, AuditOutcome::Success);
            let kept = principal.session_id.as_str();
            app.audit(event.by_self(principal.id()).detail(kept)).await;
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_scope",
                "scope must be `all`, `others` or absent",
            ));
        }
        None => {
            let Json(body) = Json::<RefreshBody>::from_request(req, &app).await?;
            if let Some(ended) = app.sessions().end(&refresh_token(body)?).await? {
                let event = caller.event(AuditAction::Logout, AuditOutcome::Success);
                app.audit(event.by_self(&ended.user_id).detail(ended.session_id))
                    .await;
            }
        }
    }
    Ok(no_content())
}
