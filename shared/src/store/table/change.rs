//! Item changes as the table's stream carries them: on DynamoDB, Streams with
//! `NEW_AND_OLD_IMAGES` (read by the event source mappings, or locally by
//! `dynamodb::stream_feed`); on the embedded engine, a change log written in the same SQLite
//! transaction as the items (`sqlite::changes`). A write that leaves an item as it was (a put
//! of the same item, a delete of a missing one) carries no change, as on DynamoDB.

use async_trait::async_trait;

use super::{Item, TableError};

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Unique per change and the same on every delivery of it (DynamoDB: the record's
    /// `eventID`): what a consumer's idempotency is keyed on.
    pub id: String,
    /// Its place in its shard's order (DynamoDB: `SequenceNumber`): what a consumer reports to
    /// be redelivered from.
    pub sequence: String,
    /// The item before (`None`: it was created).
    pub old: Option<Item>,
    /// The item after (`None`: it was deleted).
    pub new: Option<Item>,
}

impl Change {
    /// The item as it is after the change, or as it was before a deletion.
    pub fn item(&self) -> Option<&Item> {
        self.new.as_ref().or(self.old.as_ref())
    }
}

/// Changes not yet handled, for a local runner that plays the event source mappings.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// The next changes, at most `max`, in commit order for each item (one shard's worth on
    /// DynamoDB). Empty when none are waiting.
    async fn pending(&self, max: usize) -> Result<Vec<Change>, TableError>;
    /// Marks `through` and every change before it in its batch handled: they are not handed
    /// out again.
    async fn acknowledge(&self, through: &Change) -> Result<(), TableError>;
}
