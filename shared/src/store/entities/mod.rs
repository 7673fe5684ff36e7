//! The entity stores, written once over the table interface: every port of `store` is
//! implemented here for whichever engine the `Table` runs on. One module per entity holds its
//! item ⇄ domain mapping and its writes; keys come from `store::keys`.

mod accounts;
mod audit;
mod changes;
mod effects;
mod identities;
mod jobs;
mod leads;
mod limits;
mod metrics;
mod mfa;
mod outbox;
mod paging;
mod passkeys;
mod posts;
mod role_held;
mod sessions;
mod users;
mod ways_in;

use std::sync::Arc;

pub use changes::read_change;

use super::StoreError;
use super::keys::ListingShards;
use super::table::{Condition, Delete, Item, Key, Read, Table, TableError};

/// Counter shards unless configured (`COUNTER_SHARDS`).
pub const DEFAULT_COUNTER_SHARDS: u32 = 4;
/// Audit shards unless configured (`AUDIT_SHARDS`; see `audit`).
pub const DEFAULT_AUDIT_SHARDS: u32 = 8;
/// Listing shards unless configured (`LISTING_SHARDS`).
pub const DEFAULT_LISTING_SHARDS: u32 = 4;

/// Every port, served from one table.
#[derive(Clone)]
pub struct TableStore {
    table: Arc<dyn Table>,
    /// Items each dashboard counter is spread over (see `metrics`).
    counter_shards: u32,
    /// GSI1 partitions the audit log is spread over (see `audit`).
    audit_shards: u32,
    /// Partitions each global listing is spread over (see `keys::ListingShards`).
    listing_shards: ListingShards,
}

impl TableStore {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self {
            table,
            counter_shards: DEFAULT_COUNTER_SHARDS,
            audit_shards: DEFAULT_AUDIT_SHARDS,
            listing_shards: ListingShards::new(DEFAULT_LISTING_SHARDS),
        }
    }

    pub fn with_counter_shards(self, shards: u32) -> Self {
        Self {
            counter_shards: shards.max(1),
            ..self
        }
    }

    /// Writes audit events over `shards` GSI1 partitions and reads them back from as many.
    /// Every instance on a table must agree: an event in a shard a reader does not query is
    /// not listed (README, "Audit log").
    pub fn with_audit_shards(self, shards: u32) -> Self {
        Self {
            audit_shards: shards.max(1),
            ..self
        }
    }

    /// Spreads each global listing over `shards` index partitions. Every instance on a table
    /// must use the same count: entries are written to the shard their id maps to, and a
    /// listing reads shards `0..shards`.
    pub fn with_listing_shards(self, shards: u32) -> Self {
        Self {
            listing_shards: ListingShards::new(shards),
            ..self
        }
    }

    /// A strongly consistent read of one item.
    async fn get_consistent(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Ok(self.table.get(key, Read::Consistent).await?)
    }

    /// Gets the item and deletes it if it still meets `condition`: of two spending it, one
    /// gets it.
    async fn take(&self, key: &Key, condition: Condition) -> Result<Option<Item>, StoreError> {
        let Some(item) = self.get_consistent(key).await? else {
            return Ok(None);
        };
        let delete = Delete::new(key.clone()).when(Condition::item_exists().and(condition));
        match self.table.delete(delete).await {
            Ok(()) => Ok(Some(item)),
            Err(TableError::ConditionFailed(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A stored text that no longer parses as its domain type.
fn corrupt(e: crate::domain::Invalid) -> StoreError {
    StoreError::backend(format!("stored item holds an invalid value: {}", e.message))
}
