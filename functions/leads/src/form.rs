//! `POST /api/leads` `{phone, source, name?, message?}`: public, no account. Stored, then the
//! admins hear of it on Telegram (and by mail when `ADMIN_EMAIL` is set). Answers 202 with the
//! lead's id.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::App;
use shared::clock::now_ms;
use shared::domain::{
    FieldErrors, Lead, MAX_LEAD_NAME_CHARS, MAX_MESSAGE_CHARS, MAX_SOURCE_CHARS, bounded_line,
    bounded_text,
};
use shared::http::{self, ApiError, AppState, Caller, Json, Response};
use shared::jobs::{Job, LeadNotice, MailMessage, Notice, Work};
use shared::limits::with_quota;
use shared::store::Effects;

use crate::phone::parse_phone;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadForm {
    phone: Option<String>,
    source: Option<String>,
    name: Option<String>,
    message: Option<String>,
}

pub async fn submit(
    State(app): State<AppState>,
    caller: Caller,
    Json(form): Json<LeadForm>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let region = app.config.default_phone_region.as_deref();
    let phone = errors.parse("phone", form.phone, |raw| parse_phone(&raw, region));
    let source = errors
        .parse("source", form.source, |raw| {
            bounded_line(&raw, MAX_SOURCE_CHARS, true)
        })
        .flatten();
    let name = errors
        .parse_optional("name", form.name, |raw| {
            bounded_line(&raw, MAX_LEAD_NAME_CHARS, false)
        })
        .flatten();
    let message = errors
        .parse_optional("message", form.message, |raw| {
            bounded_text(&raw, MAX_MESSAGE_CHARS, false)
        })
        .flatten();
    let (Some(phone), Some(source)) = (phone, source) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    ApiError::check(errors)?;

    let now = now_ms();
    let limits = &app.config.rate_limits;
    let rules = (limits.lead_ip, limits.lead_phone);
    let quota = app
        .limits()
        .count_request("lead", rules, caller.ip, &phone, now)
        .await?;
    let lead = Lead::new(phone, source, name, message, now);
    Ok(with_quota(quota, store_and_announce(&app, lead, now).await))
}

/// Stores the lead with its notices to the admins, while the shared notice budget lasts.
async fn store_and_announce(app: &App, lead: Lead, now: i64) -> Result<Response, ApiError> {
    let budget = app.config.rate_limits.lead_notices;
    let announce = app
        .limits()
        .take_shared_budget("lead-notices", budget, now)
        .await;
    let jobs = if announce {
        notices(app, &lead, now)
    } else {
        Vec::new()
    };
    let effects = Effects::jobs(jobs);
    app.stores.leads.create_lead(&lead, &effects).await?;
    http::json(StatusCode::ACCEPTED, &json!({ "id": lead.id }))
}

/// The admins' notices of a lead: Telegram, and a mail with `ADMIN_EMAIL`.
fn notices(app: &App, lead: &Lead, now: i64) -> Vec<Job> {
    let notice = LeadNotice {
        phone: lead.phone.clone(),
        source: lead.source.clone(),
        name: lead.name.clone(),
        message: lead.message.clone(),
    };
    let mut jobs = vec![Job::new(
        Work::Telegram(Notice::NewLead(notice.clone())),
        now,
    )];
    if let Some(admins) = &app.config.admin_email {
        jobs.push(Job::email(
            admins,
            "team",
            MailMessage::NewLead(notice),
            now,
        ));
    }
    jobs
}
