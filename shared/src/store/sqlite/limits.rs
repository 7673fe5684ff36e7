//! Rate-limit counters and login locks in the embedded store. One connection serialises
//! every statement, so each check-and-add is atomic.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::store::{Counter, LimitStore, LoginState, StoreError};

#[async_trait]
impl LimitStore for SqliteStore {
    async fn take(&self, counter: &Counter, now: i64) -> Result<Option<u32>, StoreError> {
        let counter = counter.clone();
        self.run(move |conn| {
            conn.execute("DELETE FROM limit_counters WHERE expires_at < ?1", [now])?;
            let count: Option<i64> = conn
                .query_row(
                    "INSERT INTO limit_counters (key, count, expires_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET count = count + 1 WHERE count < ?3
                     RETURNING count",
                    params![counter.key, counter.window_end, counter.limit],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(count.map(|c| c as u32))
        })
        .await
    }

    async fn give_back(&self, counter: &Counter) -> Result<(), StoreError> {
        let key = counter.key.clone();
        self.run(move |conn| {
            conn.execute(
                "UPDATE limit_counters SET count = count - 1 WHERE key = ?1 AND count > 0",
                [&key],
            )?;
            // A flood refused by one counter must not leave empty rows of the others behind.
            conn.execute(
                "DELETE FROM limit_counters WHERE key = ?1 AND count <= 0",
                [&key],
            )?;
            Ok(())
        })
        .await
    }

    async fn login_state(&self, account: &str) -> Result<LoginState, StoreError> {
        let account = account.to_owned();
        self.run(move |conn| read_state(conn, &account)).await
    }

    async fn lock_login(
        &self,
        account: &str,
        seen: &LoginState,
        until: i64,
        lockouts: u32,
        keep_until: i64,
    ) -> Result<bool, StoreError> {
        let (account, seen) = (account.to_owned(), seen.clone());
        self.run(move |conn| {
            if read_state(conn, &account)?.version != seen.version {
                return Ok(false);
            }
            let next = LoginState {
                version: seen.version + 1,
                locked_until: until,
                lockouts,
                ..seen
            };
            write_state(conn, &account, &next, keep_until)?;
            Ok(true)
        })
        .await
    }

    async fn unlock_login(&self, account: &str, keep_until: i64) -> Result<LoginState, StoreError> {
        let account = account.to_owned();
        self.run(move |conn| {
            let before = read_state(conn, &account)?;
            let next = LoginState {
                version: before.version + 1,
                epoch: before.epoch + 1,
                locked_until: 0,
                lockouts: 0,
            };
            write_state(conn, &account, &next, keep_until)?;
            Ok(before)
        })
        .await
    }
}

fn read_state(conn: &Connection, account: &str) -> Result<LoginState, StoreError> {
    let state = conn
        .query_row(
            "SELECT version, epoch, locked_until, lockouts FROM login_locks WHERE account = ?1",
            [account],
            |row| {
                Ok(LoginState {
                    version: row.get::<_, i64>(0)? as u64,
                    epoch: row.get::<_, i64>(1)? as u64,
                    locked_until: row.get(2)?,
                    lockouts: row.get::<_, i64>(3)? as u32,
                })
            },
        )
        .optional()?;
    Ok(state.unwrap_or_default())
}

fn write_state(
    conn: &Connection,
    account: &str,
    state: &LoginState,
    keep_until: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO login_locks (account, version, epoch, locked_until, lockouts, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (account) DO UPDATE SET version = excluded.version,
             epoch = excluded.epoch, locked_until = excluded.locked_until,
             lockouts = excluded.lockouts, expires_at = MAX(expires_at, excluded.expires_at)",
        params![
            account,
            state.version as i64,
            state.epoch as i64,
            state.locked_until,
            state.lockouts,
            keep_until
        ],
    )?;
    Ok(())
}
