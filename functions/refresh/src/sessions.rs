//! `GET /api/auth/sessions`: the caller's live sessions ("your devices"), newest first, the one
//! in use marked `current`. `DELETE /api/auth/sessions/{id}`: ends one of them (the current one
//! too: that is a logout).

use axum::extract::State;
use shared::auth::Principal;
use shared::http::{self, ApiError, AppState, Caller, Params, PathId, Response};

pub async fn list(
    State(app): State<AppState>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    http::sessions_page(&app, &principal, &principal.user, &params).await
}

pub async fn end(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    PathId(session_id): PathId,
) -> Result<Response, ApiError> {
    let user_id = principal.id().to_owned();
    http::end_session(&app, &caller, principal, &user_id, &session_id).await
}
