//! The outbox relay. On the table's stream: sends each job a change wrote to its queue and
//! removes it (failed sends are delivered again by the event source mapping). Daily, and when
//! invoked with `{"reconcile": true}`: relays every row older than an hour, shard by shard.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::{Value, json};
use shared::clock::now_ms;
use shared::jobs::{reconcile_outbox, relay_changes};
use shared::store::table::dynamodb::{batch_response, changes_of_event};
use shared::{App, BoxError, telemetry};

/// Rows younger than this are left to the stream's delivery (and its retries).
const RECONCILE_MIN_AGE: Duration = Duration::from_secs(3600);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    telemetry::init();
    let app = Arc::new(App::from_env_without_keys().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move { handle(&app, event.payload).await }
    }))
    .await
}

async fn handle(app: &App, event: Value) -> Result<Value, BoxError> {
    if event.get("Records").is_none() {
        let summary =
            reconcile_outbox(&app.stores, &*app.queue, now_ms(), RECONCILE_MIN_AGE).await?;
        let answer = json!({ "sent": summary.sent, "failed": summary.failed,
            "deadLettered": summary.dead_lettered, "resumed": summary.resumed });
        // A failed or dead-lettered row fails the invocation, so the errors alarm reports it.
        if !summary.is_clean() {
            return Err(format!("outbox reconciliation with failures: {answer}").into());
        }
        return Ok(answer);
    }
    let changes = changes_of_event(event)?;
    let failed = match relay_changes(&app.stores, &*app.queue, &changes, now_ms()).await {
        Ok(_) => None,
        Err(unhandled) => {
            tracing::warn!(error = ?unhandled.error, from = unhandled.from, "jobs to relay again");
            changes.get(unhandled.from)
        }
    };
    Ok(batch_response(failed))
}
