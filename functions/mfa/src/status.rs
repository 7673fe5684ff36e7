//! `GET /api/auth/mfa`: the caller's factor (never its secret) and how their session signed in.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use shared::auth::Principal;
use shared::http::{ApiError, AppState, Response, TotpFactorView, json};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    totp: Option<TotpFactorView>,
    aal: &'static str,
    amr: Vec<&'static str>,
}

pub async fn get(State(app): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let factor = app
        .stores
        .mfa
        .get_totp(principal.id(), app.clock.now_ms())
        .await?;
    json(
        StatusCode::OK,
        &Status {
            totp: factor.as_ref().map(TotpFactorView::from),
            aal: principal.authentication.aal.as_str(),
            amr: principal.authentication.amr_names(),
        },
    )
}
