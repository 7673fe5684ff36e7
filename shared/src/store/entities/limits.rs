//! Rate-limit counters (`LIMIT#<key>`) and login locks (`LOGIN#<account>`): conditional
//! updates, so every instance sees the same counts.

use async_trait::async_trait;

use super::TableStore;
use crate::store::keys;
use crate::store::table::schema::TTL_ATTRIBUTE;
use crate::store::table::{
    Condition, Item, Put, Returns, TableError, Update, get_n, item, ttl_from_ms,
};
use crate::store::{Counter, CounterState, LimitStore, LoginState, StoreError};

fn state_from_item(item: &Item) -> Result<LoginState, StoreError> {
    Ok(LoginState {
        version: get_n(item, "version")?,
        epoch: get_n(item, "epoch")?,
        locked_until: get_n(item, "lockedUntil")?,
        lockouts: get_n(item, "lockouts")?,
    })
}

/// A counter taken only with `take` has no pending attempts.
fn counter_from_item(item: &Item) -> Result<CounterState, StoreError> {
    let or_zero = |name: &str| -> Result<i64, StoreError> {
        Ok(if item.contains_key(name) {
            get_n(item, name)?
        } else {
            0
        })
    };
    let pending = u32::try_from(or_zero("pending")?)
        .map_err(|_| StoreError::backend("a counter's pending count is out of range"))?;
    let pending_until = or_zero("pendingUntil")?;
    Ok(CounterState {
        count: get_n(item, "count")?,
        pending,
        pending_until,
    })
}

impl TableStore {
    /// Adds one to the counter unless it already holds its limit, writing `also` with it: the
    /// count after adding, or `None` when it was full.
    async fn add_one(
        &self,
        counter: &Counter,
        also: impl FnOnce(Update) -> Update,
    ) -> Result<Option<u32>, StoreError> {
        let update = Update::new(keys::limit_counter(&counter.key))
            .set_if_absent(TTL_ATTRIBUTE, ttl_from_ms(counter.window_end))
            .add("count", 1);
        let update =
            also(update).when(Condition::absent("count").or(Condition::lt("count", counter.limit)));
        match self.table.update(update, Returns::New).await {
            Ok(counted) => counted
                .map(|item| get_n(&item, "count"))
                .transpose()?
                .map(Some)
                .ok_or_else(|| StoreError::backend("a counter update returned no count")),
            Err(TableError::ConditionFailed(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl LimitStore for TableStore {
    async fn take(&self, counter: &Counter, _now: i64) -> Result<Option<u32>, StoreError> {
        self.add_one(counter, |update| update).await
    }

    async fn give_back(&self, counter: &Counter) -> Result<(), StoreError> {
        let update = Update::new(keys::limit_counter(&counter.key))
            .add("count", -1)
            .when(Condition::gt("count", 0));
        match self.table.update(update, Returns::Nothing).await {
            Ok(_) | Err(TableError::ConditionFailed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn reserve(
        &self,
        counter: &Counter,
        pending_until: i64,
    ) -> Result<Option<u32>, StoreError> {
        self.add_one(counter, |update| {
            update.add("pending", 1).set("pendingUntil", pending_until)
        })
        .await
    }

    async fn settle(
        &self,
        counter: &Counter,
        counts: bool,
    ) -> Result<Option<CounterState>, StoreError> {
        let mut update = Update::new(keys::limit_counter(&counter.key)).add("pending", -1);
        if !counts {
            update = update.add("count", -1);
        }
        let update = update.when(Condition::gt("pending", 0).and(Condition::gt("count", 0)));
        match self.table.update(update, Returns::New).await {
            Ok(Some(item)) => counter_from_item(&item).map(Some),
            Ok(None) | Err(TableError::ConditionFailed(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn counter_state(&self, counter: &Counter) -> Result<Option<CounterState>, StoreError> {
        self.get_consistent(&keys::limit_counter(&counter.key))
            .await?
            .map(|item| counter_from_item(&item))
            .transpose()
    }

    async fn login_state(&self, account: &str) -> Result<LoginState, StoreError> {
        match self.get_consistent(&keys::login_lock(account)).await? {
            Some(item) => state_from_item(&item),
            None => Ok(LoginState::default()),
        }
    }

    async fn lock_login(
        &self,
        account: &str,
        seen: &LoginState,
        until: i64,
        lockouts: u32,
        keep_until: i64,
    ) -> Result<bool, StoreError> {
        let lock = item(
            &keys::login_lock(account),
            [
                ("version", (seen.version + 1).into()),
                ("epoch", seen.epoch.into()),
                ("lockedUntil", until.into()),
                ("lockouts", lockouts.into()),
                (TTL_ATTRIBUTE, ttl_from_ms(keep_until)),
            ],
        );
        let put = if seen.version == 0 {
            Put::if_absent(lock)
        } else {
            Put::new(lock).when(Condition::eq("version", seen.version))
        };
        match self.table.put(put).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn unlock_login(&self, account: &str, keep_until: i64) -> Result<LoginState, StoreError> {
        // Adding to an absent version or epoch starts it from zero.
        let update = Update::new(keys::login_lock(account))
            .add("version", 1)
            .add("epoch", 1)
            .set("lockedUntil", 0)
            .set("lockouts", 0)
            .set(TTL_ATTRIBUTE, ttl_from_ms(keep_until));
        match self.table.update(update, Returns::Old).await? {
            Some(old) if old.contains_key("version") => state_from_item(&old),
            _ => Ok(LoginState::default()),
        }
    }
}
