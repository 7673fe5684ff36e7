//! The DynamoDB adapter: one table, overloaded keys (see `schema` for the key shapes).

mod accounts;
mod audit;
#[cfg(test)]
mod injected_errors;
mod item;
mod jobs;
mod leads;
mod limits;
mod metrics;
mod posts;
mod query;
mod retry;
pub mod schema;
mod sessions;
mod users;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use item::Item;

use super::StoreError;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items each dashboard counter is spread over (see `metrics`).
    counter_shards: u32,
}

/// Counter shards unless configured (`COUNTER_SHARDS`).
pub const DEFAULT_COUNTER_SHARDS: u32 = 4;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            counter_shards: DEFAULT_COUNTER_SHARDS,
        }
    }

    pub fn with_counter_shards(self, shards: u32) -> Self {
        Self {
            counter_shards: shards.max(1),
            ..self
        }
    }

    /// A strongly consistent read of one item.
    async fn get_consistent(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }
}

/// Error codes that mean "the service is busy, not that the request is wrong".
const TRANSIENT_CODES: &[&str] = &[
    "TransactionConflictException",
    "TransactionInProgressException",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Timeouts, connection failures and throttling are `Unavailable` (503, retry later);
/// everything else is a backend error, with its cause kept.
impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(e: SdkError<E, R>) -> Self {
        let unavailable = match &e {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ServiceError(service) => service
                .err()
                .code()
                .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
            _ => false,
        };
        let cause: crate::BoxError = Box::new(e);
        if unavailable {
            StoreError::Unavailable(cause)
        } else {
            StoreError::Backend(cause)
        }
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(e: aws_sdk_dynamodb::error::BuildError) -> Self {
        StoreError::backend(e)
    }
}

/// A transactional put that fails if an item with the same key exists.
fn put_if_absent(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", "PK")
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}
