//! The admins' side: `GET /api/leads` (newest first, cursor-paginated) and
//! `PATCH /api/leads/{id}` `{status}` (optimistic locking with `If-Match`).

use axum::extract::State;
use axum::http::header::ETAG;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use shared::auth::Principal;
use shared::clock::now_ms;
use shared::domain::{FieldErrors, LeadStatus};
use shared::http::{
    self, ApiError, AppState, Json, LeadView, Params, PathId, Response, etag, if_match, page_body,
    page_request, require_assurance, retry_as, unless_lost, with_header,
};
use shared::permissions::{Sensitivity, may_manage_leads, role_for_lead_write};
use shared::secrets::KeyProvider;
use shared::store::Stores;

pub async fn list(
    State(app): State<AppState>,
    State(stores): State<Stores>,
    State(keys): State<KeyProvider>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    if !may_manage_leads(&principal) {
        return Err(ApiError::Forbidden);
    }
    require_assurance(&app, &principal, Sensitivity::AdminRead).await?;
    let keys = keys.current().await;
    let page_request = page_request(&params, &keys, "leads")?;
    let page = stores
        .leads
        .list_leads(page_request.after.as_ref(), page_request.limit)
        .await?;
    http::json(
        StatusCode::OK,
        &page_body(page, &keys, "leads", |lead| LeadView::from(lead)),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    status: Option<String>,
}

pub async fn patch(
    State(app): State<AppState>,
    State(stores): State<Stores>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<LeadPatch>,
) -> Result<Response, ApiError> {
    if !may_manage_leads(&principal) {
        return Err(ApiError::Forbidden);
    }
    require_assurance(&app, &principal, Sensitivity::RoleWrite).await?;
    let mut errors = FieldErrors::default();
    let status = errors.parse("status", body.status, LeadStatus::parse);
    let Some(status) = status else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let (leads, id, headers) = (&*stores.leads, &id, &headers);
    retry_as(&*stores.users, principal, |principal| async move {
        // Checked again on every attempt: a lost race may have been the caller's own demotion.
        if !may_manage_leads(&principal) {
            return Err(ApiError::Forbidden);
        }
        let current = leads.get_lead(id).await?.ok_or(ApiError::NotFound)?;
        // After a lost race: 412 if the lead moved past the version asked for.
        if_match(headers, current.version)?;
        let next = current.with_status(status, now_ms());
        let held = role_for_lead_write(&principal);
        Ok(unless_lost(leads.update_lead(&current, &next, &held).await)?.map(|()| next))
    })
    .await
    .and_then(|next| {
        Ok(with_header(
            http::json(StatusCode::OK, &LeadView::from(&next))?,
            ETAG,
            &etag(next.version),
        ))
    })
}
