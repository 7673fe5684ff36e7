//! `GET /api/dashboard/metrics?days=7|30|90` and `GET /api/dashboard/insights` (admins): the
//! newest snapshot the metrics job wrote, and the findings read from it.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, ETAG, VARY};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use shared::App;
use shared::auth::Principal;
use shared::http::{
    self, ApiError, AppState, Params, Response, Routes, etag, not_modified, require_assurance,
};
use shared::metrics::{Snapshot, insights};
use shared::permissions::{Sensitivity, may_read_dashboard};

pub fn routes() -> Routes {
    Routes::new("dashboard")
        .get("/api/dashboard/metrics", metrics)
        .get("/api/dashboard/insights", findings)
}

const DAYS: [usize; 3] = [7, 30, 90];

/// The newest snapshot and its version for the `ETag`: when it was taken, which changes when
/// a later run replaces the snapshot of the same bucket (its bucket, for a snapshot whose time
/// does not read).
async fn latest(app: &App, principal: &Principal) -> Result<(i64, Snapshot), ApiError> {
    if !may_read_dashboard(principal) {
        return Err(ApiError::Forbidden);
    }
    require_assurance(app, principal, Sensitivity::AdminRead).await?;
    let (bucket, body) =
        app.stores
            .metrics
            .latest_snapshot()
            .await?
            .ok_or(ApiError::Unavailable {
                detail: "no metrics yet: the metrics job has not run",
                retry_after_secs: 60,
                cause: None,
            })?;
    let snapshot: Snapshot =
        serde_json::from_str(&body).map_err(|e| ApiError::Internal(e.into()))?;
    let version = shared::clock::parse_rfc3339(&snapshot.generated_at).unwrap_or(bucket);
    Ok((version, snapshot))
}

/// A snapshot changes every five minutes: clients may keep it a minute, and revalidate by tag.
fn cached(headers: &HeaderMap, tag: u64, body: serde_json::Value) -> Result<Response, ApiError> {
    let response = if not_modified(headers, tag) {
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        http::json(StatusCode::OK, &body)?
    };
    let response = http::with_header(response, ETAG, &etag(tag));
    let response = http::with_header(response, CACHE_CONTROL, "private, max-age=60");
    // The answer depends on who asks: a browser must not reuse an admin's for another token.
    Ok(http::with_header(response, VARY, "Authorization"))
}

async fn metrics(
    State(app): State<AppState>,
    principal: Principal,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let days = match params.get("days") {
        None => 30,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|d| DAYS.contains(d))
            .ok_or_else(|| ApiError::bad_request("invalid_days", "days must be 7, 30 or 90"))?,
    };
    let (version, snapshot) = latest(&app, &principal).await?;
    let tag = version as u64 * 100 + days as u64;
    let body =
        serde_json::to_value(snapshot.last_days(days)).map_err(|e| ApiError::Internal(e.into()))?;
    cached(&headers, tag, body)
}

async fn findings(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (version, snapshot) = latest(&app, &principal).await?;
    let body = json!({
        "bucket": snapshot.bucket,
        "generatedAt": snapshot.generated_at,
        "insights": insights(&snapshot),
    });
    cached(&headers, version as u64 * 100, body)
}
