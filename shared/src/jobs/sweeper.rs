//! The scheduled outbox sweeper Lambda.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::{LambdaEvent, service_fn};

pub use super::dispatch::{SweepSummary, sweep_outbox};
use crate::clock::now_ms;
use crate::{App, BoxError, telemetry};

/// Outbox jobs younger than this are left to the request that wrote them.
pub const SWEEP_MIN_AGE: Duration = Duration::from_secs(60);

/// The scheduled sweeper Lambda: sends outbox jobs whose request did not. An invocation in
/// which any job failed or any row was dead-lettered fails (after sweeping everything else),
/// so the function's `Errors` metric, and `OutboxSweeperErrorsAlarm`, report it.
pub async fn run_sweeper() -> Result<(), BoxError> {
    telemetry::init();
    let app = Arc::new(App::from_env().await?);
    lambda_http::lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let summary = sweep_outbox(&*app.queue, &app.stores, now_ms(), SWEEP_MIN_AGE).await?;
            sweep_result(summary)
        }
    }))
    .await
}

/// The invocation's result: the counts, or an error naming them when the sweep was not clean.
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
