//! Every five minutes: one snapshot of the dashboard's counters and the queues' depths.

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::metrics::lambda::run_metrics_lambda().await
}
