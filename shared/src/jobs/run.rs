//! Running one job, the same way in every worker: the SQS-triggered Lambdas and the local
//! queue runner. A job id runs to completion at most once, however often it is delivered.

use std::path::PathBuf;
use std::time::Duration;

use super::render::{render_mail, render_notice};
use super::{Job, Work};
use crate::notify::DeliveryError;
use crate::notify::mail::MailTransport;
use crate::notify::telegram::{Telegram, render_local};
use crate::store::{Claim, JobRecords};

/// How long a claim holds: longer than a worker may run, so a live run is never doubled, and
/// short enough that a run that died is retried soon.
const LEASE_MS: i64 = 5 * 60 * 1000;

/// Where Telegram notices go: the Bot API, or (locally, without a bot token) JSON files
/// holding the exact request body that would be sent.
pub enum TelegramDelivery {
    Bot(Box<Telegram>),
    Files { dir: PathBuf, chat_id: String },
}

/// How a worker delivers what jobs say; `None` where the set-up has no such channel.
#[derive(Default)]
pub struct Deliveries {
    pub mail: Option<MailTransport>,
    pub telegram: Option<TelegramDelivery>,
}

/// Why a job did not run to the end, sorted by what to do with its message.
#[derive(Debug, thiserror::Error)]
pub enum JobFailure {
    /// Try again later (no sooner than `after` when given); dead-lettered after the queue's
    /// receive limit.
    #[error("will retry: {reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// A retry cannot help: dead-letter it now.
    #[error("cannot be delivered: {0}")]
    Permanent(String),
}

impl From<DeliveryError> for JobFailure {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::RetryAfter(after) => JobFailure::Retry {
                after: Some(after),
                reason: "rate limited".into(),
            },
            DeliveryError::Transient(reason) => JobFailure::Retry {
                after: None,
                reason,
            },
            DeliveryError::Permanent(reason) => JobFailure::Permanent(reason),
        }
    }
}

fn retry(reason: impl ToString) -> JobFailure {
    JobFailure::Retry {
        after: None,
        reason: reason.to_string(),
    }
}

/// Runs `job` unless it already ran; a failed run gives its claim back for the next delivery.
pub async fn run_job(
    records: &dyn JobRecords,
    deliveries: &Deliveries,
    job: &Job,
    now: i64,
) -> Result<(), JobFailure> {
    match records
        .claim_job(&job.id, now, LEASE_MS)
        .await
        .map_err(|e| retry(format!("claiming the job: {e}")))?
    {
        Claim::Done => {
            tracing::info!(job = %job.id, "already done; not run again");
            return Ok(());
        }
        // Comes back once the lease is over: then either the run finished (done) or it died
        // and this delivery claims it. Sooner would only spend the message's receives (a run
        // that died holds its lease, and a queue's fifth receive dead-letters the job).
        Claim::Busy { until } => {
            let wait = Duration::from_millis((until - now).max(0) as u64);
            return Err(JobFailure::Retry {
                after: Some(wait + Duration::from_secs(1)),
                reason: "another delivery is running it".into(),
            });
        }
        Claim::Claimed => {}
    }
    match deliver(deliveries, job).await {
        Ok(()) => {
            if let Err(error) = records.finish_job(&job.id, now).await {
                // Delivered: a retry would deliver again. Its lease keeps others off meanwhile.
                tracing::warn!(job = %job.id, error = ?error, "delivered job not marked done");
            }
            tracing::info!(job = %job.id, "job done");
            Ok(())
        }
        Err(failure) => {
            if let Err(error) = records.release_job(&job.id).await {
                tracing::warn!(job = %job.id, error = ?error, "failed job's claim not released");
            }
            Err(failure)
        }
    }
}

async fn deliver(deliveries: &Deliveries, job: &Job) -> Result<(), JobFailure> {
    match &job.work {
        Work::Email(mail) => {
            let transport = deliveries
                .mail
                .as_ref()
                .ok_or_else(|| retry("no mail transport is configured"))?;
            transport.send(&render_mail(mail)).await?;
        }
        Work::Telegram(notice) => {
            let html = render_notice(notice);
            match deliveries.telegram.as_ref() {
                Some(TelegramDelivery::Bot(bot)) => {
                    bot.send_html(bot.admin_chat_id(), &html).await?;
                }
                Some(TelegramDelivery::Files { dir, chat_id }) => {
                    write_notice_file(dir, &job.id, &render_local(chat_id, &html)).await?;
                }
                None => return Err(retry("no Telegram delivery is configured")),
            }
        }
        Work::AccountCleanup { .. } => {
            return Err(JobFailure::Permanent(
                "the outbox relay runs clean-ups, not workers".into(),
            ));
        }
    }
    Ok(())
}

async fn write_notice_file(
    dir: &std::path::Path,
    job_id: &str,
    body: &serde_json::Value,
) -> Result<(), JobFailure> {
    tokio::fs::create_dir_all(dir).await.map_err(retry)?;
    let path = dir.join(format!("{job_id}.json"));
    let text = serde_json::to_vec_pretty(body).map_err(retry)?;
    tokio::fs::write(&path, text).await.map_err(retry)?;
    tracing::info!(path = %path.display(), "telegram notice written");
    Ok(())
}
