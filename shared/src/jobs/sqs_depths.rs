//! How many messages wait in each SQS queue and its dead-letter queue (for the dashboard).

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::BoxError;
use crate::config::Config;
use crate::metrics::{QueueDepth, QueueDepths};

/// Queues by name: (name, queue URL, dead-letter queue URL).
pub struct SqsDepths {
    pub client: aws_sdk_sqs::Client,
    pub queues: Vec<(String, String, String)>,
}

impl SqsDepths {
    /// The job queues `config` names with their dead-letter queues (a queue without both URLs
    /// is left out).
    pub fn configured(client: aws_sdk_sqs::Client, config: &Config) -> Self {
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
        Self { client, queues }
    }

    /// Messages in the queue: visible, in flight and delayed.
    async fn messages(&self, url: &str) -> Result<i64, BoxError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await?;
        Ok(output
            .attributes()
            .map(|attributes| {
                attributes
                    .values()
                    .filter_map(|v| v.parse::<i64>().ok())
                    .sum()
            })
            .unwrap_or(0))
    }
}

#[async_trait]
impl QueueDepths for SqsDepths {
    async fn depths(&self) -> Result<Vec<QueueDepth>, BoxError> {
        let mut depths = Vec::new();
        for (name, url, dead_letter_url) in &self.queues {
            let (waiting, dead_letters) =
                tokio::try_join!(self.messages(url), self.messages(dead_letter_url))?;
            depths.push(QueueDepth {
                queue: name.clone(),
                waiting,
                dead_letters,
            });
        }
        Ok(depths)
    }
}
