//! `GET /api/users/{id}/sessions` and `DELETE /api/users/{id}/sessions/{sid}`: a user's live
//! sessions, for that user or an admin (an admin's ending is audited with the admin as actor).

use axum::extract::State;
use shared::auth::Principal;
use shared::http::{self, ApiError, AppState, Caller, Params, PathId, PathIds, Response};
use shared::permissions::Sensitivity;

pub async fn list(
    State(app): State<AppState>,
    principal: Principal,
    PathId(user_id): PathId,
    params: Params,
) -> Result<Response, ApiError> {
    let user = http::sessions_owner(&app, &principal, &user_id, Sensitivity::AdminRead).await?;
    http::sessions_page(&app, &principal, &user, &params).await
}

pub async fn end(
    State(app): State<AppState>,
    principal: Principal,
    caller: Caller,
    PathIds(user_id, session_id): PathIds,
) -> Result<Response, ApiError> {
    http::end_session(&app, &caller, principal, &user_id, &session_id).await
}
