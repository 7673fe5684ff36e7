//! Start-up shared by the Lambda binaries: each builds the app once, then serves invocations.

use std::sync::Arc;

use super::App;
use crate::auth::PasswordHasher;
use crate::http::Routes;
use crate::{BoxError, telemetry};

/// What every HTTP function's `main` runs: the app from the environment, then invocations
/// served with the function's routes.
pub async fn serve_lambda(routes: Routes) -> Result<(), BoxError> {
    telemetry::init();
    let mut app = App::from_env().await?;
    // A sandbox serves one request at a time: one hashing thread, so one argon2 block in memory.
    app.hasher = PasswordHasher::new(1, app.config.password_hash_queue);
    lambda_http::run(crate::lambda::service(routes, Arc::new(app))).await
}

/// An SQS worker (`email-worker`, `telegram-worker`) from the environment: the store's job
/// records, the deliveries `needs` names, and `DEAD_LETTER_QUEUE_URL`.
#[cfg(all(feature = "sqs", feature = "dynamodb", feature = "delivery"))]
pub async fn worker_from_env(
    needs: crate::jobs::Needs,
) -> Result<crate::jobs::worker::Worker, BoxError> {
    let app = App::from_env_without_keys().await?;
    let aws = app
        .aws
        .clone()
        .ok_or("workers run on DynamoDB (STORE=dynamodb)")?;
    let deliveries =
        crate::jobs::Deliveries::from_env(Some(&aws), &app.config.data_dir, needs).await?;
    let dead_letter_url =
        std::env::var("DEAD_LETTER_QUEUE_URL").map_err(|_| "DEAD_LETTER_QUEUE_URL is not set")?;
    Ok(crate::jobs::worker::Worker {
        job_records: app.stores.job_records.clone(),
        deliveries,
        sqs: aws_sdk_sqs::Client::new(&aws),
        dead_letter_url,
    })
}
