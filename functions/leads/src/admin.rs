//! The admins' side: `GET /api/leads` (newest first, cursor-paginated) and
//! `PATCH /api/leads/{id}` `{status}` (optimistic locking with `If-Match`).

use axum::extract::State;
use axum::http::header::ETAG;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use shared::auth::Principal;
use shared::clock::now_ms;
use shared::domain::{FieldErrors, Lead, LeadStatus};
use shared::http::{
    self, ApiError, AppState, Json, Params, PathId, Response, etag, if_match, page_body,
    page_request, with_header,
};
use shared::permissions::{may_manage_leads, role_for_lead_write};
use shared::store::StoreError;

/// Conflicting writes a request without `If-Match` absorbs by re-reading, before giving up.
const ATTEMPTS: usize = 3;

pub async fn list(
    State(app): State<AppState>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    if !may_manage_leads(&principal) {
        return Err(ApiError::Forbidden);
    }
    let keys = app.keys.current().await;
    let page_request = page_request(&params, &keys, "leads")?;
    let page = app
        .stores
        .leads
        .list_leads(page_request.after.as_ref(), page_request.limit)
        .await?;
    http::json(StatusCode::OK, &page_body(page, &keys, "leads", Lead::view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    status: Option<String>,
}

pub async fn patch(
    State(app): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<LeadPatch>,
) -> Result<Response, ApiError> {
    if !may_manage_leads(&principal) {
        return Err(ApiError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let status = errors.parse("status", body.status, LeadStatus::parse);
    let Some(status) = status else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let mut principal = principal;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            // The lost race may have been the caller's own demotion: check again.
            principal = principal.reloaded(&app).await?;
            if !may_manage_leads(&principal) {
                return Err(ApiError::Forbidden);
            }
        }
        let current = app
            .stores
            .leads
            .get_lead(&id)
            .await?
            .ok_or(ApiError::NotFound)?;
        // After a lost race: 412 if the lead moved past the version asked for.
        if_match(&headers, current.version)?;
        let next = current.with_status(status, now_ms());
        let held = role_for_lead_write(&principal);
        match app.stores.leads.update_lead(&current, &next, &held).await {
            Ok(()) => {
                return Ok(with_header(
                    http::json(StatusCode::OK, &next.view())?,
                    ETAG,
                    &etag(next.version),
                ));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
