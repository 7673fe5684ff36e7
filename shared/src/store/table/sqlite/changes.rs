//! The change log: what DynamoDB Streams would carry, one row per item change, written in the
//! same SQLite transaction as the change itself (so a change is logged if and only if it
//! committed). Each consumer reads it at its own pace, as each event source mapping reads a
//! stream (`ChangeLog`); a row is removed once every reader has acknowledged it, or a day after
//! it was written (a stream's retention).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteTable, codec, sql_error};
use crate::store::table::{Change, ChangeFeed, Item, TableError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    old TEXT,
    new TEXT
);
CREATE TABLE IF NOT EXISTS change_readers (
    reader TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
";

/// How long an unread change is kept (DynamoDB Streams: 24 hours).
const RETENTION_MS: i64 = 24 * 3600 * 1000;

pub(super) fn create(conn: &Connection, now: i64) -> Result<(), TableError> {
    conn.execute_batch(SCHEMA).map_err(TableError::backend)?;
    conn.execute("DELETE FROM changes WHERE at < ?1", [now - RETENTION_MS])
        .map_err(sql_error)?;
    Ok(())
}

/// Logs one committed change, inside the write's transaction; no row when nothing changed.
pub(super) fn log(
    conn: &Connection,
    old: Option<&Item>,
    new: Option<&Item>,
    at: i64,
) -> Result<(), TableError> {
    if old == new {
        return Ok(());
    }
    conn.prepare_cached("INSERT INTO changes (at, old, new) VALUES (?1, ?2, ?3)")
        .and_then(|mut statement| {
            statement.execute(params![at, old.map(codec::encode), new.map(codec::encode)])
        })
        .map_err(sql_error)?;
    Ok(())
}

/// A change's log sequence as text that sorts as the number does.
fn sequence(seq: i64) -> String {
    format!("{seq:020}")
}

fn decode(text: Option<String>) -> Result<Option<Item>, TableError> {
    text.as_deref().map(codec::decode).transpose()
}

/// One reader's view of the change log: what it has not acknowledged yet.
pub struct ChangeLog {
    table: SqliteTable,
    reader: String,
}

impl SqliteTable {
    /// The change log as `reader` reads it, from the first change it has not acknowledged (from
    /// the oldest kept, for a new reader).
    pub fn change_log(&self, reader: &str) -> Result<ChangeLog, TableError> {
        self.inner
            .writer()
            .execute(
                "INSERT OR IGNORE INTO change_readers (reader, seq) VALUES (?1, 0)",
                [reader],
            )
            .map_err(sql_error)?;
        Ok(ChangeLog {
            table: SqliteTable {
                inner: self.inner.clone(),
            },
            reader: reader.to_owned(),
        })
    }
}

#[async_trait]
impl ChangeFeed for ChangeLog {
    async fn pending(&self, max: usize) -> Result<Vec<Change>, TableError> {
        let reader = self.reader.clone();
        self.table
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT seq, old, new FROM changes WHERE seq > \
                     (SELECT seq FROM change_readers WHERE reader = ?1) ORDER BY seq LIMIT ?2",
                    )
                    .map_err(sql_error)?;
                let rows = statement
                    .query_map(params![reader, max as i64], |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, Option<String>>(1)?,
                            row.get::<_, Option<String>>(2)?,
                        ))
                    })
                    .map_err(sql_error)?;
                let mut changes = Vec::new();
                for row in rows {
                    let (seq, old, new) = row.map_err(sql_error)?;
                    changes.push(Change {
                        id: format!("local-{seq}"),
                        sequence: sequence(seq),
                        old: decode(old)?,
                        new: decode(new)?,
                    });
                }
                Ok(changes)
            })
            .await
    }

    async fn acknowledge(&self, through: &Change) -> Result<(), TableError> {
        let seq: i64 = through
            .sequence
            .parse()
            .map_err(|_| TableError::backend("not a change of this log"))?;
        let reader = self.reader.clone();
        self.table
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE change_readers SET seq = MAX(seq, ?2) WHERE reader = ?1",
                )
                .and_then(|mut statement| statement.execute(params![reader, seq]))
                .and_then(|_| {
                    conn.prepare_cached(
                        "DELETE FROM changes WHERE seq <= (SELECT MIN(seq) FROM change_readers)",
                    )
                })
                .and_then(|mut statement| statement.execute([]))
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }
}

impl SqliteTable {
    /// How many changes the log keeps (not yet acknowledged by every reader).
    pub async fn changes_waiting(&self) -> Result<u64, TableError> {
        self.read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM changes", [], |row| row.get(0))
                .optional()
                .map(|n: Option<i64>| n.unwrap_or(0) as u64)
                .map_err(sql_error)
        })
        .await
    }
}
