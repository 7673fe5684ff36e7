//! `GET /api/audit`: the security events, newest first (admin). Filters: `?actor=`, `?target=`
//! (ids), `?action=`, `?since=` (RFC 3339); paged with `?limit=` and `?cursor=`.

use axum::extract::State;
use axum::http::StatusCode;
use shared::auth::Principal;
use shared::clock::parse_rfc3339;
use shared::domain::AuditAction;
use shared::http::{
    self, ApiError, AppState, AuditEventView, Params, Response, page_body, page_request, parse_id,
    require_assurance,
};
use shared::permissions::{Sensitivity, may_read_audit};
use shared::secrets::KeyProvider;
use shared::store::{AuditQuery, Stores};

fn id_filter(params: &Params, name: &'static str) -> Result<Option<String>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            parse_id(raw).ok_or_else(|| {
                ApiError::bad_request("invalid_filter", format!("{name} must be an id"))
            })
        })
        .transpose()
}

fn parse_query(params: &Params) -> Result<AuditQuery, ApiError> {
    let action = params
        .get("action")
        .map(|raw| {
            AuditAction::parse(raw).ok_or_else(|| {
                let names: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                ApiError::bad_request(
                    "invalid_filter",
                    format!("action must be one of {}", names.join(", ")),
                )
            })
        })
        .transpose()?;
    let since = params
        .get("since")
        .map(|raw| {
            parse_rfc3339(raw).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_filter",
                    "since must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z",
                )
            })
        })
        .transpose()?;
    Ok(AuditQuery {
        actor: id_filter(params, "actor")?,
        target: id_filter(params, "target")?,
        action,
        since,
    })
}

pub async fn list(
    State(app): State<AppState>,
    State(stores): State<Stores>,
    State(keys): State<KeyProvider>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    if !may_read_audit(&principal) {
        return Err(ApiError::Forbidden);
    }
    require_assurance(&app, &principal, Sensitivity::AdminRead).await?;
    let query = parse_query(&params)?;
    let listing = format!(
        "audit|{}|{}|{}|{}",
        query.actor.as_deref().unwrap_or(""),
        query.target.as_deref().unwrap_or(""),
        query.action.map_or("", AuditAction::as_str),
        query.since.map(|s| s.to_string()).unwrap_or_default(),
    );
    let keys = keys.current().await;
    let page_request = page_request(&params, &keys, &listing)?;
    let page = stores
        .audit
        .list_events(&query, page_request.after.as_ref(), page_request.limit)
        .await?;
    http::json(
        StatusCode::OK,
        &page_body(page, &keys, &listing, |event| AuditEventView::from(event)),
    )
}
