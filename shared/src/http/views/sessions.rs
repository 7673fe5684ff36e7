use serde::Serialize;

use crate::clock::rfc3339;
use crate::domain::{describe_device, source_network};
use crate::store::Session;

/// One session as its owner (or an admin) sees it in "your devices": never its refresh token
/// or that token's hash, only the session's id, which is no credential.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    /// The session the request came in on.
    pub current: bool,
    pub created_at: String,
    /// To the minute (a request notes it when the stored one is a minute old).
    pub last_used_at: String,
    /// Each refresh moves it on.
    pub expires_at: String,
    /// "Firefox 132 on macOS", from the sign-in's user agent; `null` when unrecognised.
    pub device: Option<String>,
    /// The sign-in's user agent as sent (first 256 characters).
    pub user_agent: Option<String>,
    /// The sign-in's source address, and its /24 (IPv4) or /64 (IPv6).
    pub ip: Option<String>,
    pub network: Option<String>,
    pub aal: &'static str,
    pub amr: Vec<&'static str>,
}

impl SessionView {
    pub fn of(session: &Session, current_session_id: &str) -> Self {
        let origin = &session.origin;
        Self {
            id: session.id.clone(),
            current: session.id == current_session_id,
            created_at: rfc3339(session.created_at),
            last_used_at: rfc3339(session.last_used_at),
            expires_at: rfc3339(session.expires_at),
            device: origin.user_agent.as_deref().and_then(describe_device),
            user_agent: origin.user_agent.clone(),
            ip: origin.ip.map(|ip| ip.to_string()),
            network: origin.ip.map(|ip| source_network(ip).to_string()),
            aal: session.authentication.aal.as_str(),
            amr: session.authentication.amr_names(),
        }
    }
}
