//! The outbox (`OUTBOX#<job id>`, listed oldest first on GSI1 under `OUTBOX#<shard>`) and the
//! rows that could not be read (`OUTBOX_DEAD#<job id>`, listed oldest first on GSI1 under
//! `OUTBOX_DEAD`). A change writes its jobs in its own transaction (`effects::outbox_item`).

use async_trait::async_trait;

use super::TableStore;
use super::effects::outbox_item;
use super::paging::IndexQuery;
use crate::jobs::Job;
use crate::store::keys;
use crate::store::table::schema::{GSI1, PARTITION_KEY};
use crate::store::table::{
    Condition, Delete, Item, Key, Put, Returns, TableError, Update, Value, get_n, get_s, item,
};
use crate::store::{DeadOutboxRow, OutboxRow, OutboxStore, StoreError, UnreadableJob};

/// A dead letter keeps the row's text in `job` and the error in `detail`: both are projected
/// on GSI1, so the listing needs no schema change.
fn outbox_dead_item(dead: &DeadOutboxRow) -> Item {
    item(
        &keys::outbox_dead(&dead.id),
        [
            ("type", "outbox_dead".into()),
            ("id", (&dead.id).into()),
            ("job", (&dead.raw).into()),
            ("detail", (&dead.error).into()),
            ("createdAt", dead.created_at.into()),
            ("updatedAt", dead.dead_at.into()),
            (GSI1.partition_key, keys::OUTBOX_DEAD.into()),
            (
                GSI1.sort_key,
                keys::time_sort_key(dead.dead_at, &dead.id).into(),
            ),
        ],
    )
}

/// An outbox item as listed: never fails, a row that does not read is reported as such. Its
/// id and time come from its keys (the listing's order), whatever its other attributes say.
pub(super) fn outbox_row_from_item(item: &Item) -> Result<OutboxRow, StoreError> {
    // A job's partition key without its id.
    let prefix = keys::outbox_job("").pk;
    let id = get_s(item, PARTITION_KEY)?
        .strip_prefix(prefix.as_str())
        .unwrap_or_default()
        .to_owned();
    let created_at = get_s(item, GSI1.sort_key)?
        .split_once('#')
        .and_then(|(at, _)| at.parse().ok())
        .or_else(|| get_n(item, "createdAt").ok())
        .unwrap_or(0);
    let job = match item.get("job") {
        Some(Value::S(raw)) => Job::from_json(raw).map_err(|error| UnreadableJob {
            raw: raw.clone(),
            error,
        }),
        other => Err(UnreadableJob {
            raw: other.map(|value| format!("{value:?}")).unwrap_or_default(),
            error: "missing or malformed `job`".to_owned(),
        }),
    };
    Ok(OutboxRow {
        id,
        created_at,
        job,
    })
}

fn dead_row_from_item(item: &Item) -> Result<DeadOutboxRow, StoreError> {
    Ok(DeadOutboxRow {
        id: get_s(item, "id")?,
        raw: get_s(item, "job")?,
        error: get_s(item, "detail")?,
        created_at: get_n(item, "createdAt")?,
        dead_at: get_n(item, "updatedAt")?,
    })
}

fn outbox_query(partition: &str, table_key: fn(&str) -> Key) -> IndexQuery {
    IndexQuery {
        index: GSI1,
        partition: partition.to_owned(),
        sort_prefix: None,
        filter: None,
        forward: true,
        table_key: Box::new(table_key),
    }
}

#[async_trait]
impl OutboxStore for TableStore {
    async fn outbox_rows(
        &self,
        shard: u32,
        before: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let query = outbox_query(&keys::outbox_shard(shard), keys::outbox_job);
        let after = after.map(|(at, id)| (keys::time_sort_key(at, id), id));
        let after = after.as_ref().map(|(sort, id)| (sort.as_str(), *id));
        let page = self.query_index(&query, after, limit).await?;
        let mut rows = Vec::with_capacity(page.items.len());
        for item in &page.items {
            let row = outbox_row_from_item(item)?;
            // Oldest first: the rest were written later still.
            if row.created_at >= before {
                break;
            }
            rows.push(row);
        }
        Ok(rows)
    }

    async fn add_to_outbox(&self, jobs: &[Job]) -> Result<(), StoreError> {
        for job in jobs {
            self.table.put(Put::new(outbox_item(job))).await?;
        }
        Ok(())
    }

    async fn touch_outbox(&self, job_id: &str, now: i64) -> Result<(), StoreError> {
        let touch = Update::new(keys::outbox_job(job_id))
            .set("touchedAt", now)
            .when(Condition::item_exists());
        match self.table.update(touch, Returns::Nothing).await {
            // Removed meanwhile: nothing left to hand back.
            Ok(_) | Err(TableError::ConditionFailed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn remove_from_outbox(&self, job_id: &str) -> Result<(), StoreError> {
        Ok(self
            .table
            .delete(Delete::new(keys::outbox_job(job_id)))
            .await?)
    }

    async fn dead_letter_outbox(&self, dead: &DeadOutboxRow) -> Result<(), StoreError> {
        let actions = vec![
            Put::new(outbox_dead_item(dead)).into(),
            Delete::new(keys::outbox_job(&dead.id)).into(),
        ];
        Ok(self.table.transact(actions).await?)
    }

    async fn outbox_dead_letters(&self, limit: usize) -> Result<Vec<DeadOutboxRow>, StoreError> {
        let query = outbox_query(keys::OUTBOX_DEAD, keys::outbox_dead);
        let page = self.query_index(&query, None, limit).await?;
        page.items.iter().map(dead_row_from_item).collect()
    }
}
