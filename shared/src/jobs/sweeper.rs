//! What the scheduled outbox sweeper Lambda (`outbox-sweeper`) answers.

use std::time::Duration;

pub use super::dispatch::{SweepSummary, sweep_outbox};
use crate::BoxError;

/// Outbox jobs younger than this are left to the request that wrote them.
pub const SWEEP_MIN_AGE: Duration = Duration::from_secs(60);

/// The invocation's result: the counts, or an error naming them when the sweep was not clean.
/// An invocation in which any job failed or any row was dead-lettered fails (after sweeping
/// everything else), so the function's `Errors` metric, and `OutboxSweeperErrorsAlarm`, report
/// it.
pub fn sweep_result(summary: SweepSummary) -> Result<serde_json::Value, BoxError> {
    let SweepSummary {
        sent,
        failed,
        dead_lettered,
    } = summary;
    if !summary.is_clean() {
        return Err(format!(
            "outbox sweep: {failed} failed (left for the next sweep), {dead_lettered} \
             dead-lettered, {sent} sent"
        )
        .into());
    }
    Ok(serde_json::json!({ "sent": sent, "failed": failed, "deadLettered": dead_lettered }))
}
