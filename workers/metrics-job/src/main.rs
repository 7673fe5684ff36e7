//! Every five minutes: one snapshot of the dashboard's counters and the queues' depths.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use shared::jobs::sqs_depths::SqsDepths;
use shared::metrics::{ScheduledEvent, run_metrics_job};
use shared::{App, BoxError, telemetry};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    telemetry::init();
    let app = Arc::new(App::from_env_without_keys().await?);
    let aws = app
        .aws
        .as_ref()
        .ok_or("the metrics job runs on DynamoDB (STORE=dynamodb)")?;
    let sqs = aws_sdk_sqs::Client::new(aws);
    let depths = Arc::new(SqsDepths::configured(sqs, &app.config));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| {
        let (app, depths) = (app.clone(), depths.clone());
        async move {
            let at = event.payload.at();
            let (snapshot, written) = run_metrics_job(&*app.stores.metrics, &*depths, at).await?;
            tracing::info!(bucket = snapshot.bucket, written, "metrics snapshot");
            Ok::<_, BoxError>(serde_json::json!({ "bucket": snapshot.bucket, "written": written }))
        }
    }))
    .await
}
