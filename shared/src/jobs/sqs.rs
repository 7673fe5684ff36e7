//! The SQS queue port: one queue per kind of job, by URL from the environment.

use async_trait::async_trait;

use super::{Job, JobQueue, Queue};
use crate::BoxError;

pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    email_url: Option<String>,
    telegram_url: Option<String>,
}

impl SqsQueue {
    pub fn new(
        client: aws_sdk_sqs::Client,
        email_url: Option<String>,
        telegram_url: Option<String>,
    ) -> Self {
        Self {
            client,
            email_url,
            telegram_url,
        }
    }

    fn url(&self, queue: Queue) -> Result<&str, BoxError> {
        let (url, variable) = match queue {
            Queue::Email => (&self.email_url, "EMAIL_QUEUE_URL"),
            Queue::Telegram => (&self.telegram_url, "TELEGRAM_QUEUE_URL"),
        };
        url.as_deref()
            .ok_or_else(|| format!("{variable} is not set").into())
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, job: &Job) -> Result<(), BoxError> {
        self.client
            .send_message()
            .queue_url(self.url(job.queue().ok_or("this job is not queued")?)?)
            .message_body(job.to_json())
            .send()
            .await?;
        Ok(())
    }
}
