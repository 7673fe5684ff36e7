//! The table in one SQLite file, behaving as DynamoDB does (the differential test holds it to
//! DynamoDB Local): zero set-up for local runs and tests.
//!
//! One writer connection behind a mutex takes every write, each as one `BEGIN IMMEDIATE`
//! transaction that reads the items it touches, checks every condition and rule, and only then
//! writes; so a condition and its write are atomic, and a transaction is all or nothing. Reads
//! go to a small pool of reader connections, which WAL mode lets run beside the writer. Writes,
//! queries and batch reads run on the blocking thread pool; a read of one or two keys runs
//! where it is asked when a reader is idle (`read_keys`).
//!
//! Expired items stay until a day after their TTL (DynamoDB deletes them lazily too, and no
//! reader trusts TTL alone): `purge_expired` removes older ones, once at `open`.

mod changes;
pub use changes::ChangeLog;
mod codec;
mod eval;
mod query;
pub mod queue;
mod schema;
mod validate;
mod write;

use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode};

use super::{
    Action, Delete, Item, Key, Put, Query, QueryPage, Read, Returns, Table, TableError, Update,
};
use write::{Outcome, load};

/// Reader connections in the pool.
const READERS: usize = 4;
/// The most keys a lookup may read without leaving the calling thread (`read_keys`).
const FEW_KEYS: usize = 4;
/// How long a connection waits for a lock another process holds before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long past its TTL an item is kept (DynamoDB usually deletes within a day or two).
const EXPIRED_GRACE_SECS: i64 = 24 * 60 * 60;

pub struct SqliteTable {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Pool,
}

impl SqliteTable {
    /// Opens the table in the file at `path`, creating the file, its folder and its schema
    /// when missing.
    pub fn open(path: &Path) -> Result<Self, TableError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(TableError::backend)?;
        }
        let writer = connect(path)?;
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sql_error)?;
        schema::create(&writer)?;
        queue::create(&writer)?;
        changes::create(&writer, crate::clock::now_ms())?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = connect(path)?;
                conn.pragma_update(None, "query_only", true)
                    .map_err(sql_error)?;
                Ok(conn)
            })
            .collect::<Result<Vec<_>, TableError>>()?;
        let table = Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers: Pool::new(readers),
            }),
        };
        table.purge_expired(crate::clock::now_ms().div_euclid(1000))?;
        Ok(table)
    }

    /// Deletes the items whose TTL is more than a day before `now_secs`; returns how many.
    /// Blocks on the writer.
    pub fn purge_expired(&self, now_secs: i64) -> Result<usize, TableError> {
        let conn = self.inner.writer();
        conn.prepare_cached("DELETE FROM items WHERE ttl IS NOT NULL AND ttl < ?1")
            .and_then(|mut statement| statement.execute([now_secs - EXPIRED_GRACE_SECS]))
            .map_err(sql_error)
    }

    /// Folds the write-ahead log into the main file, so the data is left as one file.
    pub async fn close(&self) -> Result<(), TableError> {
        self.write(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(sql_error)
        })
        .await
    }

    /// Runs `work` on a reader connection, off the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, TableError> + Send + 'static,
    ) -> Result<T, TableError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner.readers.take()))
            .await
            .map_err(TableError::backend)?
    }

    /// Runs `work`, a lookup of a few keys, here on an idle reader connection, or like `read`
    /// when every reader is lent. Such a lookup is a few B-tree pages SQLite mostly has cached,
    /// answered in microseconds: less than handing it to a blocking thread and waking this task
    /// again costs, which made up most of an authenticated request's time. A WAL reader never
    /// waits for the writer, so this does not hold up the runtime behind a write.
    async fn read_keys<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, TableError> + Send + 'static,
    ) -> Result<T, TableError> {
        if let Some(conn) = self.inner.readers.try_take() {
            return work(&conn);
        }
        self.read(work).await
    }

    /// Runs `work` on the writer connection, off the async runtime.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, TableError> + Send + 'static,
    ) -> Result<T, TableError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&mut inner.writer()))
            .await
            .map_err(TableError::backend)?
    }

    /// Commits validated `actions` atomically; returns each one's item before and after.
    async fn commit(&self, actions: Vec<Action>) -> Result<Vec<Outcome>, TableError> {
        self.write(move |conn| write::commit(conn, &actions)).await
    }
}

impl Inner {
    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic cannot leave a transaction open (dropping it rolls back), so the connection
        // is still good.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn connect(path: &Path) -> Result<Connection, TableError> {
    let conn = Connection::open(path).map_err(sql_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_error)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The items with `keys`, read in one read transaction: one snapshot, and the file and WAL
/// locks taken once rather than once per key.
fn snapshot(conn: &Connection, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
    conn.prepare_cached("BEGIN")
        .and_then(|mut begin| begin.execute([]))
        .map_err(sql_error)?;
    let items: Result<Vec<_>, _> = keys.iter().map(|key| load(conn, key)).collect();
    // Ends the read whatever it found (nothing was written, so COMMIT only releases locks).
    let end = conn
        .prepare_cached("COMMIT")
        .and_then(|mut commit| commit.execute([]));
    let items = items?;
    end.map_err(sql_error)?;
    Ok(items)
}

/// A lock still held after the busy timeout is contention; anything else a backend failure.
fn sql_error(e: rusqlite::Error) -> TableError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            TableError::Throttled(e.into())
        }
        _ => TableError::backend(e),
    }
}

/// Reader connections, each lent to one read at a time.
struct Pool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

struct Lent<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Pool {
    fn new(connections: Vec<Connection>) -> Self {
        Self {
            idle: Mutex::new(connections),
            returned: Condvar::new(),
        }
    }

    /// An idle connection, if one is.
    fn try_take(&self) -> Option<Lent<'_>> {
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()?;
        Some(Lent {
            pool: self,
            conn: Some(conn),
        })
    }

    /// An idle connection, waiting for one if all are lent.
    fn take(&self) -> Lent<'_> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = idle.pop() {
                return Lent {
                    pool: self,
                    conn: Some(conn),
                };
            }
            idle = self
                .returned
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Deref for Lent<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a lent connection is present until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            idle.push(conn);
            self.pool.returned.notify_one();
        }
    }
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key, _read: Read) -> Result<Option<Item>, TableError> {
        validate::key(key)?;
        let key = key.clone();
        self.read_keys(move |conn| load(conn, &key)).await
    }

    /// Every key on one connection, in one go.
    async fn get_each(&self, keys: &[Key], _read: Read) -> Result<Vec<Option<Item>>, TableError> {
        for key in keys {
            validate::key(key)?;
        }
        let few = keys.len() <= FEW_KEYS;
        let keys = keys.to_vec();
        let lookup = move |conn: &Connection| snapshot(conn, &keys);
        if few {
            self.read_keys(lookup).await
        } else {
            self.read(lookup).await
        }
    }

    async fn get_many(
        &self,
        keys: &[Key],
        _read: Read,
        attributes: Option<&[&str]>,
    ) -> Result<Vec<Item>, TableError> {
        validate::keys(keys)?;
        if let Some(names) = attributes {
            validate::projection(names)?;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // A key named twice is read once.
        let keys: Vec<Key> = keys
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let names: Option<Vec<String>> =
            attributes.map(|names| names.iter().map(|n| n.to_string()).collect());
        self.read(move |conn| {
            let mut found = Vec::new();
            for key in &keys {
                if let Some(item) = load(conn, key)? {
                    found.push(match &names {
                        Some(names) => query::select(&item, names),
                        None => item,
                    });
                }
            }
            Ok(found)
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<QueryPage, TableError> {
        validate::query(query)?;
        let query = query.clone();
        self.read(move |conn| query::run(conn, &query)).await
    }

    async fn put(&self, put: Put) -> Result<(), TableError> {
        let action = Action::Put(put);
        validate::action(&action)?;
        self.commit(vec![action]).await?;
        Ok(())
    }

    async fn update(&self, update: Update, returns: Returns) -> Result<Option<Item>, TableError> {
        let action = Action::Update(update);
        validate::action(&action)?;
        let outcome = self.commit(vec![action]).await?.pop();
        Ok(outcome.and_then(|outcome| match returns {
            Returns::Nothing => None,
            Returns::New => outcome.after,
            Returns::Old => outcome.before,
        }))
    }

    async fn delete(&self, delete: Delete) -> Result<(), TableError> {
        let action = Action::Delete(delete);
        validate::action(&action)?;
        self.commit(vec![action]).await?;
        Ok(())
    }

    async fn transact(&self, actions: Vec<Action>) -> Result<(), TableError> {
        validate::transaction(&actions)?;
        if !actions.is_empty() {
            self.commit(actions).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
