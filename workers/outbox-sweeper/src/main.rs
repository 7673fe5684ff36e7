//! Every minute: sends outbox jobs whose own request could not reach the queue.

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::jobs::sweeper::run_sweeper().await
}
