//! Which jobs ran: `JOB#<id>` records with a lease while running and a TTL once done.

use async_trait::async_trait;

use super::TableStore;
use crate::store::keys;
use crate::store::table::schema::TTL_ATTRIBUTE;
use crate::store::table::{
    Condition, Delete, Item, Put, TableError, get_n, get_s, item, ttl_from_ms,
};
use crate::store::{Claim, JobRecords, StoreError};

/// How long a finished job's record is kept: longer than any redelivery.
const KEEP_DONE_MS: i64 = 7 * 24 * 3600 * 1000;

const RUNNING: &str = "running";
const DONE: &str = "done";

fn record(job_id: &str, state: &str, lease_until: i64, expires_at: i64) -> Item {
    item(
        &keys::job_record(job_id),
        [
            ("type", "job_record".into()),
            ("state", state.into()),
            ("leaseUntil", lease_until.into()),
            (TTL_ATTRIBUTE, ttl_from_ms(expires_at)),
        ],
    )
}

#[async_trait]
impl JobRecords for TableStore {
    async fn claim_job(&self, job_id: &str, now: i64, lease_ms: i64) -> Result<Claim, StoreError> {
        let record = record(job_id, RUNNING, now + lease_ms, now + KEEP_DONE_MS);
        // Unclaimed, or claimed by a run whose lease ran out.
        let claimable = Condition::item_absent()
            .or(Condition::eq("state", RUNNING).and(Condition::lt("leaseUntil", now)));
        match self.table.put(Put::new(record).when(claimable)).await {
            Ok(()) => Ok(Claim::Claimed),
            Err(TableError::ConditionFailed(_)) => {
                let current = self.get_consistent(&keys::job_record(job_id)).await?;
                Ok(match current {
                    Some(item) if get_s(&item, "state").is_ok_and(|s| s == DONE) => Claim::Done,
                    Some(item) => Claim::Busy {
                        until: get_n(&item, "leaseUntil").unwrap_or(now + lease_ms),
                    },
                    // Released between the write and the read: the next delivery claims it.
                    None => Claim::Busy { until: now },
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn finish_job(&self, job_id: &str, now: i64) -> Result<(), StoreError> {
        let record = record(job_id, DONE, 0, now + KEEP_DONE_MS);
        Ok(self.table.put(Put::new(record)).await?)
    }

    async fn release_job(&self, job_id: &str) -> Result<(), StoreError> {
        let delete = Delete::new(keys::job_record(job_id)).when(Condition::eq("state", RUNNING));
        match self.table.delete(delete).await {
            // Finished meanwhile, or never claimed: nothing to give up.
            Ok(()) | Err(TableError::ConditionFailed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
