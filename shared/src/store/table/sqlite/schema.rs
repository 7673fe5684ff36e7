//! The SQLite layout of the single table: one row per item, its whole attribute map in `item`
//! (`codec`), and the key attributes copied into columns so that SQLite orders and finds them.
//! Text columns compare with the BINARY collation, which on UTF-8 is DynamoDB's byte order.
//!
//! Each secondary index is a partial index holding exactly the items DynamoDB would put in it:
//! those with both of its key attributes (a row stores both columns or neither).

use rusqlite::Connection;

use super::super::schema::{INDEXES, TTL_ATTRIBUTE};
use super::super::{Index, Item, TableError, Value};

pub const ITEMS: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    gsi2pk TEXT,
    gsi2sk TEXT,
    gsi3pk TEXT,
    gsi3sk TEXT,
    ttl INTEGER,
    item TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk)
    WHERE gsi1pk IS NOT NULL AND gsi1sk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk)
    WHERE gsi2pk IS NOT NULL AND gsi2sk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi3 ON items (gsi3pk, gsi3sk, pk, sk)
    WHERE gsi3pk IS NOT NULL AND gsi3sk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_ttl ON items (ttl) WHERE ttl IS NOT NULL;
";

pub fn create(conn: &Connection) -> Result<(), TableError> {
    conn.execute_batch(ITEMS).map_err(TableError::backend)
}

/// The key columns of `index`: partition and sort.
pub fn columns(index: Index) -> (&'static str, &'static str) {
    match index {
        Index::Table => ("pk", "sk"),
        Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        Index::Gsi2 => ("gsi2pk", "gsi2sk"),
        Index::Gsi3 => ("gsi3pk", "gsi3sk"),
    }
}

/// The index columns of an item, in `INDEXES` order, each pair set only when the item carries
/// both of that index's key attributes as strings.
pub fn index_keys(item: &Item) -> [(Option<&str>, Option<&str>); 3] {
    let mut keys = [(None, None); 3];
    for (slot, def) in keys.iter_mut().zip(INDEXES) {
        if let (Some(Value::S(pk)), Some(Value::S(sk))) =
            (item.get(def.partition_key), item.get(def.sort_key))
        {
            *slot = (Some(pk.as_str()), Some(sk.as_str()));
        }
    }
    keys
}

/// The `ttl` column: the TTL attribute when it is a number.
pub fn ttl(item: &Item) -> Option<i64> {
    match item.get(TTL_ATTRIBUTE) {
        Some(Value::N(n)) => Some(*n),
        _ => None,
    }
}
