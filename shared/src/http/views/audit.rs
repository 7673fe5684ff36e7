use serde::Serialize;

use crate::clock::rfc3339;
use crate::domain::AuditEvent;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    pub id: String,
    pub at: String,
    pub action: &'static str,
    pub outcome: &'static str,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
}

impl From<&AuditEvent> for AuditEventView {
    fn from(event: &AuditEvent) -> Self {
        Self {
            id: event.id.clone(),
            at: rfc3339(event.at),
            action: event.action.as_str(),
            outcome: event.outcome.as_str(),
            actor: event.actor.clone(),
            target: event.target.clone(),
            source_ip: event.source_ip.clone(),
            user_agent: event.user_agent.clone(),
            request_id: event.request_id.clone(),
            detail: event.detail.clone(),
        }
    }
}
