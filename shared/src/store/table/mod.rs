//! The single table, as a narrow typed interface: items keyed by `PK`/`SK` with three global
//! secondary indexes and a TTL attribute (`schema`), read with `get`/`query` and written with
//! `put`/`update`/`delete`/`transact` under typed conditions. Two engines serve it: DynamoDB
//! (`dynamodb`) and an embedded SQLite file (`sqlite`), held to each other by the differential
//! test (`tests/tests/api/table_differential.rs`). Nothing above this module knows which one runs.

mod back_off;
mod change;
mod condition;
mod error;
mod ops;
pub mod schema;
mod value;

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use async_trait::async_trait;

pub use back_off::back_off;
pub use change::{Change, ChangeFeed};
pub use condition::{Compare, Condition};
pub use error::TableError;
pub(crate) use ops::check_transaction;
pub use ops::{
    Action, Check, Delete, Index, Put, Query, QueryPage, Read, Returns, SortRange, Update,
    UpdateAction,
};
pub use value::{
    Item, Key, Value, get_bool, get_n, get_opt_n, get_opt_s, get_parsed, get_s, get_strings, item,
    item_size, ttl_from_ms,
};

/// The most actions one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// The most keys one `get_many` request reads at once (engines split larger sets).
pub const MAX_BATCH_GET: usize = 100;

#[async_trait]
pub trait Table: Send + Sync {
    /// The item with this key.
    async fn get(&self, key: &Key, read: Read) -> Result<Option<Item>, TableError>;
    /// What `get` answers for each key, in the order given: a few whole items a request needs
    /// together (an authenticated request's user and session). By default concurrent `get`s,
    /// reporting the first key's error first; an engine may read them in one round instead.
    async fn get_each(&self, keys: &[Key], read: Read) -> Result<Vec<Option<Item>>, TableError> {
        let reads = keys.iter().map(|key| self.get(key, read));
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .collect()
    }
    /// The items with these keys that exist, in no particular order; with `attributes`, only
    /// those attributes of each (the key among them if the caller needs it).
    async fn get_many(
        &self,
        keys: &[Key],
        read: Read,
        attributes: Option<&[&str]>,
    ) -> Result<Vec<Item>, TableError>;
    /// One page of a query (see `Query` for limits and resuming).
    async fn query(&self, query: &Query) -> Result<QueryPage, TableError>;
    async fn put(&self, put: Put) -> Result<(), TableError>;
    /// Applies the update (creating the item if it is missing and the condition allows).
    async fn update(&self, update: Update, returns: Returns) -> Result<Option<Item>, TableError>;
    async fn delete(&self, delete: Delete) -> Result<(), TableError>;
    /// All actions or none, at most `MAX_TRANSACTION_ACTIONS`, each on a different item.
    /// `ConditionFailed` names every action whose condition failed.
    async fn transact(&self, actions: Vec<Action>) -> Result<(), TableError>;
}
