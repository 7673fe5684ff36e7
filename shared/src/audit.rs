//! Where security events are recorded: the audit log, with how long it keeps them.

use std::time::Duration;

use crate::domain::AuditEvent;
use crate::store::AuditLog;

#[derive(Clone, Copy)]
pub struct AuditTrail<'a> {
    pub log: &'a dyn AuditLog,
    /// How long an event is kept (`AUDIT_RETENTION_DAYS`).
    pub retention: Duration,
}

impl AuditTrail<'_> {
    /// Records a security event. Never fails the request: a store error is logged.
    pub async fn record(&self, event: AuditEvent) {
        let keep_until = event.at + self.retention.as_millis() as i64;
        if let Err(error) = self.log.record_event(&event, keep_until).await {
            tracing::warn!(error = ?error, action = event.action.as_str(), "audit event not recorded");
        }
    }
}
