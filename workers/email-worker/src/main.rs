//! Sends the e-mails jobs describe, over SMTP. SQS-triggered.

use shared::jobs::Needs;

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::jobs::worker::run_worker(Needs {
        mail: true,
        telegram: false,
        files_fallback: false,
    })
    .await
}
