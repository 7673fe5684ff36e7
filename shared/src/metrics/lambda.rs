//! The scheduled metrics Lambda. EventBridge Scheduler sends `{"scheduledTime": "<RFC 3339>"}`
//! (template.yaml), so a retried invocation lands in the same bucket as the first.

use std::sync::Arc;

use lambda_http::{LambdaEvent, service_fn};
use serde::Deserialize;

use super::job::{QueueDepths, run_metrics_job};
use crate::clock::{now_ms, parse_rfc3339};
use crate::jobs::sqs_depths::SqsDepths;
use crate::{App, BoxError, telemetry};

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

/// The job queues and dead-letter queues configured, by name.
fn sqs_depths(app: &App, client: aws_sdk_sqs::Client) -> SqsDepths {
    let config = &app.config;
    let queues = [
        (
            "email",
            &config.email_queue_url,
            &config.email_dead_letter_queue_url,
        ),
        (
            "telegram",
            &config.telegram_queue_url,
            &config.telegram_dead_letter_queue_url,
        ),
    ]
    .into_iter()
    .filter_map(|(name, url, dead)| Some((name.to_owned(), url.clone()?, dead.clone()?)))
    .collect();
    SqsDepths { client, queues }
}

pub async fn run_metrics_lambda() -> Result<(), BoxError> {
    telemetry::init();
    let app = Arc::new(App::from_env().await?);
    let sdk = crate::app::aws_sdk_config(&app.config).await;
    let depths: Arc<dyn QueueDepths> = Arc::new(sqs_depths(&app, aws_sdk_sqs::Client::new(&sdk)));
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| {
        let (app, depths) = (app.clone(), depths.clone());
        async move {
            let (snapshot, written) = run_metrics_job(&app, &*depths, event.payload.at()).await?;
            tracing::info!(bucket = snapshot.bucket, written, "metrics snapshot");
            Ok::<_, BoxError>(serde_json::json!({ "bucket": snapshot.bucket, "written": written }))
        }
    }))
    .await
}
