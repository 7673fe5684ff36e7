//! Which jobs ran: `JOB#<id>` records with a lease while running and a TTL once done.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::item::{Item, get_s, key, n, s, ttl_from_ms};
use super::retry::WriteError;
use super::schema::TTL_ATTRIBUTE;
use crate::store::{Claim, JobRecords, StoreError};

/// How long a finished job's record is kept: longer than any redelivery.
const KEEP_DONE_MS: i64 = 7 * 24 * 3600 * 1000;

fn record_key(job_id: &str) -> Item {
    key(format!("JOB#{job_id}"), "JOB")
}

fn record(job_id: &str, state: &str, lease_until: i64, expires_at: i64) -> Item {
    let mut item = record_key(job_id);
    item.extend([
        ("type".to_owned(), s("job_record")),
        ("state".to_owned(), s(state)),
        ("leaseUntil".to_owned(), n(lease_until)),
        (TTL_ATTRIBUTE.to_owned(), ttl_from_ms(expires_at)),
    ]);
    item
}

#[async_trait]
impl JobRecords for DynamoStore {
    async fn claim_job(&self, job_id: &str, now: i64, lease_ms: i64) -> Result<Claim, StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record(
                job_id,
                "running",
                now + lease_ms,
                now + KEEP_DONE_MS,
            )))
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :running AND #lease < :now)",
            )
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#lease", "leaseUntil")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":now", n(now));
        match self.put(request).await {
            Ok(()) => Ok(Claim::Claimed),
            Err(WriteError::Condition(_)) => {
                let current = self.get_consistent(record_key(job_id)).await?;
                let done =
                    current.is_some_and(|item| get_s(&item, "state").is_ok_and(|s| s == "done"));
                Ok(if done { Claim::Done } else { Claim::Busy })
            }
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn finish_job(&self, job_id: &str, now: i64) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record(job_id, "done", 0, now + KEEP_DONE_MS)));
        self.put(request)
            .await
            .map_err(WriteError::into_store_error)
    }

    async fn release_job(&self, job_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(record_key(job_id)))
            .condition_expression("#state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":running", AttributeValue::S("running".into()))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception())
                {
                    Ok(())
                } else {
                    Err(e.into())
                }
            })
    }
}
