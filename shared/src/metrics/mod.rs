//! The admin dashboard's numbers: counters kept from the table's stream (`counts`, `stream`),
//! the snapshot the scheduled job makes of them (`snapshot`, `job`), and findings read from it
//! (`insights`).
//! The job reads a fixed number of counter items, so its cost does not grow with the data.

pub mod counts;
mod insights;
mod job;
mod schedule;
mod snapshot;
mod stream;

pub use insights::{Insight, insights};
pub use job::{QueueDepths, run_metrics_job};
pub use schedule::ScheduledEvent;
pub use snapshot::{BUCKET_MS, Day, HISTORY_DAYS, QueueDepth, Snapshot, Totals, bucket_of};
pub use stream::count_changes;
