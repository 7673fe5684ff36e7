//! What the SQS-triggered worker Lambdas (`email-worker`, `telegram-worker`) do with a batch.
//! A batch answers with the ids of the messages to try again only; a message that can never
//! succeed (a body that is not a job, a delivery refused for good) goes to the dead-letter
//! queue at once.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

use super::{Deliveries, Job, JobFailure, run_job};
use crate::clock::now_ms;
use crate::store::JobRecords;

pub struct Worker {
    /// Where each job id is claimed, so a redelivered message runs once.
    pub job_records: Arc<dyn JobRecords>,
    pub deliveries: Deliveries,
    pub sqs: aws_sdk_sqs::Client,
    /// Where messages that can never succeed go.
    pub dead_letter_url: String,
}

impl Worker {
    /// Runs every message of the batch; the answer lists the ones SQS should deliver again.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in &event.records {
            if !self.handle_one(message).await {
                let id = message.message_id.clone().unwrap_or_default();
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// True when the message is done with (delivered, or dead-lettered for good).
    async fn handle_one(&self, message: &SqsMessage) -> bool {
        let id = message.message_id.as_deref().unwrap_or("?");
        let body = message.body.as_deref().unwrap_or_default();
        let job = match Job::from_json(body) {
            Ok(job) => job,
            Err(reason) => return self.dead_letter(id, body, &reason).await,
        };
        match run_job(&*self.job_records, &self.deliveries, &job, now_ms()).await {
            Ok(()) => true,
            Err(JobFailure::Permanent(reason)) => self.dead_letter(id, body, &reason).await,
            Err(failure @ JobFailure::Retry { .. }) => {
                tracing::warn!(message = id, job = %job.id, error = %failure, "job will be retried");
                if let JobFailure::Retry {
                    after: Some(after), ..
                } = failure
                {
                    self.delay_retry(message, after).await;
                }
                false
            }
        }
    }

    /// Keeps a rate-limited message hidden until it may be tried again.
    async fn delay_retry(&self, message: &SqsMessage, after: Duration) {
        let (Some(queue_arn), Some(receipt)) = (&message.event_source_arn, &message.receipt_handle)
        else {
            return;
        };
        let Some(queue_url) = queue_url_of(queue_arn) else {
            return;
        };
        let seconds = after.as_secs().clamp(1, 12 * 3600) as i32;
        if let Err(error) = self
            .sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "visibility not extended");
        }
    }

    async fn dead_letter(&self, id: &str, body: &str, reason: &str) -> bool {
        tracing::error!(
            message = id,
            reason,
            "message cannot succeed; moving it to the dead-letter queue"
        );
        match self
            .sqs
            .send_message()
            .queue_url(&self.dead_letter_url)
            .message_body(body)
            .send()
            .await
        {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "dead-letter queue unavailable");
                false
            }
        }
    }
}

/// `https://sqs.<region>.amazonaws.com/<account>/<name>` from `arn:aws:sqs:<region>:<account>:<name>`.
fn queue_url_of(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, partition, "sqs", region, account, name] = parts[..] else {
        return None;
    };
    let suffix = if partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    match std::env::var("AWS_ENDPOINT_URL_SQS").or_else(|_| std::env::var("AWS_ENDPOINT_URL")) {
        Ok(endpoint) => Some(format!(
            "{}/{account}/{name}",
            endpoint.trim_end_matches('/')
        )),
        Err(_) => Some(format!("https://sqs.{region}.{suffix}/{account}/{name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_come_from_arns() {
        let url = queue_url_of("arn:aws:sqs:eu-west-1:123456789012:app-email");
        let expected = match std::env::var("AWS_ENDPOINT_URL") {
            Ok(endpoint) => format!("{}/123456789012/app-email", endpoint.trim_end_matches('/')),
            Err(_) => "https://sqs.eu-west-1.amazonaws.com/123456789012/app-email".into(),
        };
        assert_eq!(url.as_deref(), Some(expected.as_str()));
        assert_eq!(queue_url_of("not an arn"), None);
    }
}
