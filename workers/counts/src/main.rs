//! The dashboard's counters, from the table's stream (event source mapping with
//! `ReportBatchItemFailures`): each change counted once however often it is delivered.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;
use shared::clock::now_ms;
use shared::metrics::count_changes;
use shared::store::table::dynamodb::{batch_response, changes_of_event};
use shared::{App, BoxError, telemetry};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    telemetry::init();
    let app = Arc::new(App::from_env_without_keys().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move {
            let changes = changes_of_event(event.payload)?;
            let failed = match count_changes(&*app.stores.metrics, &changes, now_ms()).await {
                Ok(()) => None,
                Err(unhandled) => {
                    tracing::warn!(error = ?unhandled.error, from = unhandled.from, "changes to count again");
                    changes.get(unhandled.from)
                }
            };
            Ok::<_, BoxError>(batch_response(failed))
        }
    }))
    .await
}
