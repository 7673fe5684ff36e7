//! The scheduled outbox sweeper Lambda.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::{LambdaEvent, service_fn};

use crate::clock::now_ms;
use crate::{App, BoxError, telemetry};

/// Outbox jobs younger than this are left to the request that wrote them.
pub const SWEEP_MIN_AGE: Duration = Duration::from_secs(60);

/// The scheduled sweeper Lambda: sends outbox jobs whose request did not.
pub async fn run_sweeper() -> Result<(), BoxError> {
    telemetry::init();
    let app = Arc::new(App::from_env().await?);
    lambda_http::lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let sent = super::sweep(&*app.queue, &app.stores, now_ms(), SWEEP_MIN_AGE).await?;
            tracing::info!(sent, "outbox swept");
            Ok::<_, BoxError>(serde_json::json!({ "sent": sent }))
        }
    }))
    .await
}
