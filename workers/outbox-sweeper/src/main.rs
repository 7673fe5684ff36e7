//! Every minute: sends outbox jobs whose own request could not reach the queue.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use shared::clock::now_ms;
use shared::jobs::sweeper::{SWEEP_MIN_AGE, sweep_outbox, sweep_result};
use shared::{App, BoxError, telemetry};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    telemetry::init();
    let app = Arc::new(App::from_env().await?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move {
            let summary = sweep_outbox(&*app.queue, &app.stores, now_ms(), SWEEP_MIN_AGE).await?;
            sweep_result(summary)
        }
    }))
    .await
}
