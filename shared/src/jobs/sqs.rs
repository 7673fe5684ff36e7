//! The SQS queue port: one queue per kind of job, by URL from the environment.

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

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

    /// `SendMessageBatch`, ten messages a request, per queue; a failed entry (or request)
    /// fails only its own jobs.
    async fn send_batch(&self, jobs: &[Job]) -> Vec<Result<(), BoxError>> {
        let mut results: Vec<Result<(), BoxError>> =
            jobs.iter().map(|_| Err("not sent".into())).collect();
        for queue in [Queue::Email, Queue::Telegram] {
            let indexes: Vec<usize> = (0..jobs.len())
                .filter(|&i| jobs[i].queue() == Some(queue))
                .collect();
            for chunk in indexes.chunks(10) {
                for (index, result) in self.send_chunk(queue, jobs, chunk).await {
                    results[index] = result;
                }
            }
        }
        for (job, result) in jobs.iter().zip(results.iter_mut()) {
            if job.queue().is_none() {
                *result = Err("this job is not queued".into());
            }
        }
        results
    }
}

impl SqsQueue {
    /// One `SendMessageBatch` of the jobs at `indexes` (at most ten), entry ids being those
    /// indexes: each index with its result.
    async fn send_chunk(
        &self,
        queue: Queue,
        jobs: &[Job],
        indexes: &[usize],
    ) -> Vec<(usize, Result<(), BoxError>)> {
        let failed_all = |error: &dyn std::fmt::Display| {
            indexes
                .iter()
                .map(|&i| (i, Err(error.to_string().into())))
                .collect()
        };
        let url = match self.url(queue) {
            Ok(url) => url,
            Err(error) => return failed_all(&error),
        };
        let mut entries = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let entry = SendMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .message_body(jobs[index].to_json())
                .build();
            match entry {
                Ok(entry) => entries.push(entry),
                Err(error) => return failed_all(&error),
            }
        }
        let output = match self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => return failed_all(&aws_sdk_sqs::error::DisplayErrorContext(error)),
        };
        let mut results: Vec<(usize, Result<(), BoxError>)> =
            indexes.iter().map(|&i| (i, Ok(()))).collect();
        for failure in output.failed {
            if let Some(slot) = results
                .iter_mut()
                .find(|(index, _)| index.to_string() == failure.id)
            {
                slot.1 = Err(format!("{}: {:?}", failure.code, failure.message).into());
            }
        }
        results
    }
}
