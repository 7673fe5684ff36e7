//! `POST /api/auth/refresh` (rotate) and `POST /api/auth/logout` (revoke).

use axum::extract::{FromRequest, Request, State};
use serde::Deserialize;
use shared::auth::{AuthError, Principal, end_session, refresh};
use shared::clock::now_ms;
use shared::domain::FieldErrors;
use shared::http::{
    ApiError, AppState, Json, Params, Response, Routes, no_content, token_response,
};

pub fn routes() -> Routes {
    Routes::new("refresh")
        .post("/api/auth/refresh", rotate)
        .post("/api/auth/logout", logout)
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
    Json(body): Json<RefreshBody>,
) -> Result<Response, ApiError> {
    let (user, tokens) = refresh(&app, &refresh_token(body)?).await?;
    token_response(axum::http::StatusCode::OK, &user, tokens)
}

/// Ends this session (the refresh token's family), or with `?scope=all` and a valid access
/// token every session of the user.
async fn logout(
    State(app): State<AppState>,
    params: Params,
    principal: Option<Principal>,
    req: Request,
) -> Result<Response, ApiError> {
    match params.get("scope") {
        Some("all") => {
            let principal = principal.ok_or(AuthError::MissingToken)?;
            app.stores
                .users
                .end_all_sessions(principal.id(), now_ms())
                .await?;
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_scope",
                "scope must be `all` or absent",
            ));
        }
        None => {
            let Json(body) = Json::<RefreshBody>::from_request(req, &app).await?;
            end_session(&app, &refresh_token(body)?).await?;
        }
    }
    Ok(no_content())
}
