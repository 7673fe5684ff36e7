//! The event that starts the scheduled metrics job. EventBridge Scheduler sends
//! `{"scheduledTime": "<RFC 3339>"}` (template.yaml), so a retried invocation lands in the same
//! bucket as the first.

use serde::Deserialize;

use crate::clock::{now_ms, parse_rfc3339};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledEvent {
    pub scheduled_time: Option<String>,
}

impl ScheduledEvent {
    /// When the run was scheduled for (now, for an event without a readable time).
    pub fn at(&self) -> i64 {
        self.scheduled_time
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or_else(now_ms)
    }
}
