//! What each request cost, as DynamoDB reports it (`ReturnConsumedCapacity=INDEXES`), handed to
//! a log the table was given: the capacity test records every route's calls this way.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::ConsumedCapacity;

use crate::store::table::Key;

/// One request to DynamoDB and the capacity it consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// `GetItem`, `BatchGetItem`, `Query`, `PutItem`, `UpdateItem`, `DeleteItem`,
    /// `TransactWriteItems`.
    pub operation: &'static str,
    /// The items it named (a query: its partition, with an empty sort key).
    pub keys: Vec<Key>,
    /// The index a query read (`None`: the table).
    pub index: Option<&'static str>,
    /// Units consumed on the table itself.
    pub table_units: f64,
    /// Units consumed on each index it wrote (or read).
    pub index_units: BTreeMap<String, f64>,
}

/// Where a table reports its calls.
pub trait CapacityLog: Send + Sync {
    fn record(&self, call: CallRecord);
}

/// A record of `operation` on `keys` with what `consumed` says, summed over its entries.
pub(super) fn record_of<'a>(
    operation: &'static str,
    keys: Vec<Key>,
    index: Option<&'static str>,
    consumed: impl IntoIterator<Item = &'a ConsumedCapacity>,
) -> CallRecord {
    let mut call = CallRecord {
        operation,
        keys,
        index,
        table_units: 0.0,
        index_units: BTreeMap::new(),
    };
    for entry in consumed {
        let table = entry
            .table()
            .and_then(|t| t.capacity_units())
            .unwrap_or(0.0);
        let indexes: f64 = entry
            .global_secondary_indexes()
            .map(|m| m.values().filter_map(|c| c.capacity_units()).sum())
            .unwrap_or(0.0);
        // Without a breakdown, the total is the table's.
        call.table_units += if entry.table().is_some() {
            table
        } else {
            entry.capacity_units().unwrap_or(0.0) - indexes
        };
        for (name, capacity) in entry.global_secondary_indexes().into_iter().flatten() {
            *call.index_units.entry(name.clone()).or_insert(0.0) +=
                capacity.capacity_units().unwrap_or(0.0);
        }
    }
    call
}
