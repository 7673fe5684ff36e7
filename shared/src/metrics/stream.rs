//! The `counts` stream consumer: every change of a batch read as what it counts, all added
//! once (`MetricsStore::add_counts` skips changes counted before).

use super::counts::of_change;
use crate::store::entities::read_change;
use crate::store::table::Change;
use crate::store::{Counted, MetricsStore};
use crate::stream::Unhandled;

/// Counts every change of `changes` once.
pub async fn count_changes(
    metrics: &dyn MetricsStore,
    changes: &[Change],
    now: i64,
) -> Result<(), Unhandled> {
    let mut counted = Vec::with_capacity(changes.len());
    for change in changes {
        let deltas = match read_change(change) {
            Ok(changed) => of_change(&changed),
            Err(error) => {
                // A stored item that does not read cannot be counted now or on any redelivery:
                // logged and passed, not retried forever.
                tracing::error!(change = %change.id, error = ?error, "change not counted: its item does not read");
                Vec::new()
            }
        };
        counted.push(Counted {
            change_id: change.id.clone(),
            deltas,
        });
    }
    metrics
        .add_counts(&counted, now)
        .await
        .map_err(|(from, error)| Unhandled { from, error })
}
