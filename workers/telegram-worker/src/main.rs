//! Sends the admins' Telegram notices jobs describe, through the Bot API. SQS-triggered.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use shared::jobs::Needs;
use shared::{BoxError, telemetry};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    telemetry::init();
    let needs = Needs {
        mail: false,
        telegram: true,
        files_fallback: false,
    };
    let worker = Arc::new(shared::app::worker_from_env(needs).await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = worker.clone();
        async move { Ok::<_, BoxError>(worker.handle(event.payload).await) }
    }))
    .await
}
