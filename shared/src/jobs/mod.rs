//! Background work. A job is written to the outbox in the same transaction as the change it
//! reports; the relay reads it off the table's stream, sends it to its queue and removes it,
//! and a reconciliation relays anything left behind (`relay`). Workers claim each job id
//! before running it, so a job delivered twice runs once.

mod cleanup;
mod job;
mod relay;
#[cfg(feature = "delivery")]
mod render;
#[cfg(feature = "delivery")]
mod run;
#[cfg(feature = "delivery")]
mod settings;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "sqs")]
pub mod sqs_depths;
#[cfg(all(feature = "sqs", feature = "dynamodb", feature = "delivery"))]
pub mod worker;

use async_trait::async_trait;

use crate::BoxError;
pub use cleanup::{
    CLEANUP_BUDGET, CLEANUP_IN_REQUEST, CLEANUP_PAGE, begin_account_cleanup, run_account_cleanup,
};
pub use job::{
    JOB_VERSION, Job, LeadNotice, Mail, MailMessage, Notice, Queue, SecurityEvent, Work,
};
pub use relay::{RelaySummary, reconcile_outbox, relay_changes};
#[cfg(feature = "delivery")]
pub use render::{render_mail, render_notice};
#[cfg(feature = "delivery")]
pub use run::{Deliveries, JobFailure, TelegramDelivery, run_job};
#[cfg(feature = "delivery")]
pub use settings::Needs;

/// Where producers put jobs: SQS on AWS, a durable queue in the embedded store locally.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn send(&self, job: &Job) -> Result<(), BoxError>;
    /// Sends each job; one result per job, in order.
    async fn send_batch(&self, jobs: &[Job]) -> Vec<Result<(), BoxError>> {
        let mut results = Vec::with_capacity(jobs.len());
        for job in jobs {
            results.push(self.send(job).await);
        }
        results
    }
}

/// A queue that accepts nothing: jobs stay in the outbox (a function built without a queue).
pub struct NoQueue(pub &'static str);

#[async_trait]
impl JobQueue for NoQueue {
    async fn send(&self, _: &Job) -> Result<(), BoxError> {
        Err(self.0.into())
    }
}
