//! The body of register, login, refresh and password-change responses.

use axum::response::Response;
use http::StatusCode;
use serde::Serialize;

use super::{ApiError, UserView, json};
use crate::auth::IssuedTokens;
use crate::domain::User;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenResponse {
    user: UserView,
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
}

pub fn token_response(
    status: StatusCode,
    user: &User,
    tokens: IssuedTokens,
) -> Result<Response, ApiError> {
    json(
        status,
        &TokenResponse {
            user: UserView::from(user),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
        },
    )
}
