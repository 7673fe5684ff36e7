//! Lambda's event source mappings, played against the emulators (a local run with
//! `STORE=dynamodb`, or `local-api events` beside `cargo lambda watch`): DynamoDB Local's
//! table stream feeds the `counts` consumer and the outbox relay, and each SQS queue on the
//! emulator feeds its worker, with the same code the deployed functions run. Mail and Telegram
//! notices go to files under `DATA_DIR` unless SMTP or a bot is configured.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use shared::jobs::sqs::SqsQueue;
use shared::jobs::worker::Worker;
use shared::jobs::{Deliveries, Needs};
use shared::store::table::dynamodb::StreamFeed;
use shared::stream::{Consumer, Runner};
use shared::{App, BoxError};

/// The emulator's queues as `infra --bin setup-emulator` makes them, unless `EMAIL_QUEUE_URL` /
/// `TELEGRAM_QUEUE_URL` name others; each one's dead letters are `<name>-dlq`.
const QUEUES: [&str; 2] = ["email-queue", "telegram-queue"];
/// How long a receive waits for a message (SQS long polling).
const WAIT_SECS: i32 = 1;

/// Starts the stream consumers and one poller per queue; they run until the process ends.
pub async fn start(app: Arc<App>) -> Result<(), BoxError> {
    let aws = app
        .aws
        .as_ref()
        .ok_or("the emulated mode runs on DynamoDB")?;
    let sqs = aws_sdk_sqs::Client::new(aws);
    let configured = [&app.config.email_queue_url, &app.config.telegram_queue_url];
    let mut urls = Vec::new();
    for (name, configured) in QUEUES.into_iter().zip(configured) {
        let url = match configured {
            Some(url) => url.clone(),
            None => url_of(&sqs, name).await?,
        };
        let name = url.rsplit('/').next().unwrap_or(name).to_owned();
        let dead_letters = url_of(&sqs, &format!("{name}-dlq")).await?;
        urls.push((url, dead_letters));
    }
    let queue = Arc::new(SqsQueue::new(
        sqs.clone(),
        Some(urls[0].0.clone()),
        Some(urls[1].0.clone()),
    ));
    for consumer in [Consumer::Counts, Consumer::Relay(queue)] {
        let feed = StreamFeed::of_table(aws, &app.config.table_name).await?;
        Arc::new(Runner {
            feed: Arc::new(feed),
            stores: app.stores.clone(),
            consumer,
        })
        .spawn();
    }
    let needs = Needs {
        mail: false,
        telegram: false,
        files_fallback: true,
    };
    for (url, dead_letter_url) in urls {
        let worker = Worker {
            job_records: app.stores.job_records.clone(),
            deliveries: Deliveries::from_env(Some(aws), &app.config.data_dir, needs).await?,
            sqs: sqs.clone(),
            dead_letter_url,
        };
        tokio::spawn(poll(worker, url));
    }
    tracing::info!(table = %app.config.table_name, "stream consumers and queue workers running against the emulators");
    Ok(())
}

async fn url_of(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, BoxError> {
    let found = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "queue {name} not found ({}): run `cargo run -p infra --bin setup-emulator`",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    found
        .queue_url
        .ok_or_else(|| format!("queue {name} has no URL").into())
}

/// Receives batches and hands them to the worker as the SQS event source mapping does: the
/// messages it handled are deleted, the rest come back after their visibility timeout.
async fn poll(worker: Worker, url: String) {
    loop {
        let received = worker
            .sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(WAIT_SECS)
            .send()
            .await;
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(queue = %url, error = %aws_sdk_sqs::error::DisplayErrorContext(error), "receiving");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| {
                let mut message = SqsMessage::default();
                message.message_id = m.message_id.clone();
                message.receipt_handle = m.receipt_handle.clone();
                message.body = m.body.clone();
                message
            })
            .collect();
        let response = worker.handle(event).await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for message in &messages {
            if failed.contains(&message.message_id.as_deref().unwrap_or_default()) {
                continue;
            }
            if let Some(handle) = &message.receipt_handle {
                let deleted = worker
                    .sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(handle)
                    .send()
                    .await;
                if let Err(error) = deleted {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "a handled message was not deleted; it runs again (once)");
                }
            }
        }
    }
}
