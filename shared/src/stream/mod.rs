//! The table's stream consumers, as Lambda's event source mappings run them on AWS and the
//! local runner (`stream::runner`) runs them against the embedded engine's change log or
//! DynamoDB Local's stream: the dashboard's counts (`metrics::count_changes`) and the outbox
//! relay (`jobs::relay_changes`).

mod runner;

pub use runner::{Consumer, Runner};

use crate::store::StoreError;

/// Where a consumer stopped in a batch: the changes from `from` on are to be delivered again
/// (`ReportBatchItemFailures`), every change before it is handled.
#[derive(Debug)]
pub struct Unhandled {
    pub from: usize,
    pub error: StoreError,
}
