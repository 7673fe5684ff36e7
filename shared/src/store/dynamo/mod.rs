//! The DynamoDB adapter: one table, overloaded keys (see `schema` for the key shapes).

mod item;
mod posts;
mod query;
pub mod schema;
mod sessions;
mod users;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use item::Item;

use super::StoreError;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
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

    /// Runs a transaction; any cancellation (a failed condition or contention) is a `Conflict`.
    async fn transact_or_conflict(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if cancellation(&e).is_some() => Err(StoreError::Conflict),
            Err(e) => Err(e.into()),
        }
    }
}

/// True when an `UpdateItem` failed only because its condition did not hold.
fn condition_failed<R>(e: &SdkError<UpdateItemError, R>) -> bool {
    e.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(e: SdkError<E, R>) -> Self {
        StoreError::Backend(DisplayErrorContext(e).to_string())
    }
}

/// Why a transaction was cancelled, as far as the caller needs to know.
enum Cancelled {
    /// One of its conditions failed.
    Condition,
    /// Another transaction touched the same items; retrying may succeed.
    Contention,
}

/// The cancellation code of each item of a cancelled transaction, in order ("None" for items
/// that were fine).
fn cancellation_codes<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = e.as_service_error()
    else {
        return None;
    };
    Some(
        cancel
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code().unwrap_or("None").to_owned())
            .collect(),
    )
}

fn cancellation<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Cancelled> {
    let codes = cancellation_codes(e)?;
    let codes: Vec<&str> = codes
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "None")
        .collect();
    if codes.contains(&"ConditionalCheckFailed") {
        Some(Cancelled::Condition)
    } else if codes.contains(&"TransactionConflict") || codes.is_empty() {
        Some(Cancelled::Contention)
    } else {
        None
    }
}

/// A transactional put that fails if an item with the same key exists.
fn put_if_absent(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", "PK")
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}
