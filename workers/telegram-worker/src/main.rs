//! Sends the admins' Telegram notices jobs describe, through the Bot API. SQS-triggered.

use shared::jobs::Needs;

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::jobs::worker::run_worker(Needs {
        mail: false,
        telegram: true,
        files_fallback: false,
    })
    .await
}
