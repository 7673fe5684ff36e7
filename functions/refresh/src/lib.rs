//! `POST /api/auth/refresh` (rotate) and `POST /api/auth/logout` (revoke); the public keys that
//! verify access tokens (`/.well-known/jwks.json`, `/.well-known/openid-configuration`).

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
        .get("/.well-known/jwks.json", well_known::jwks)
        .get(
            "/.well-known/openid-configuration",
            well_known::openid_configuration,
        )
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

/// Ends this session (the refresh token's family), whatever the `Authorization` header says:
/// the refresh token is the credential here, and an expired access token is the usual reason
/// to log out. With `?scope=all`, every session of the bearer's user: only then is a valid
/// access token needed. A body is optional with `?scope=all`, but one that is sent must be the
/// same JSON object (its `refreshToken` is ignored).
async fn logout(
    State(app): State<AppState>,
    params: Params,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    match params.get("scope") {
        Some("all") => {
            let (mut parts, body) = req.into_parts();
            let principal = Principal::from_request_parts(&mut parts, &app).await?;
            Option::<Json<RefreshBody>>::from_request(Request::from_parts(parts, body), &app)
                .await?;
            app.stores
                .users
                .end_all_sessions(principal.id(), now_ms())
                .await?;
            let event = caller.event(AuditAction::LogoutAll, AuditOutcome::Success);
            app.audit(event.by_self(principal.id())).await;
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_scope",
                "scope must be `all` or absent",
            ));
        }
        None => {
            let Json(body) = Json::<RefreshBody>::from_request(req, &app).await?;
            if let Some(user_id) = app.sessions().end(&refresh_token(body)?).await? {
                let event = caller.event(AuditAction::Logout, AuditOutcome::Success);
                app.audit(event.by_self(&user_id)).await;
            }
        }
    }
    Ok(no_content())
}
