//! The table on DynamoDB: each operation is one request (a large `get_many`, one per
//! `MAX_BATCH_GET` keys), its conditions and updates rendered as expressions (`render`). Writes
//! retry contention and throttling (`retry`).

mod capacity;
mod convert;
mod create;
#[cfg(test)]
mod injected_errors;
mod render;
mod retry;
mod stream_event;
#[cfg(feature = "dynamodb-streams")]
mod stream_feed;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    self, KeysAndAttributes, ReturnConsumedCapacity, ReturnValue, TransactWriteItem,
};

use super::schema::{PARTITION_KEY, SORT_KEY, index_def, key_names};
use super::{
    Action, Check, Delete, Index, Item, Key, MAX_BATCH_GET, Put, Query, QueryPage, Read, Returns,
    Table, TableError, Update,
};
use crate::store::table::{back_off, check_transaction};
use convert::{Attributes, from_attributes, key_attributes, to_attributes};
use render::Expressions;
use retry::{ATTEMPTS, classify, classify_transaction, request_error, retrying};

pub use capacity::{CallRecord, CapacityLog};
pub use create::create_table;
pub use stream_event::{batch_response, changes_of_event};
#[cfg(feature = "dynamodb-streams")]
pub use stream_feed::StreamFeed;

#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
    capacity: Option<Arc<dyn CapacityLog>>,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            capacity: None,
        }
    }

    /// The same table, reporting every call and the capacity it consumed to `log`.
    pub fn with_capacity_log(self, log: Arc<dyn CapacityLog>) -> Self {
        Self {
            capacity: Some(log),
            ..self
        }
    }

    /// Opens the connection to the table's endpoint (TLS handshake, credentials, signing): one
    /// read of an item that never exists. A failure is only logged: requests report their own.
    pub async fn connect(&self) {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, types::AttributeValue::S("CONNECT".into()))
            .key(SORT_KEY, types::AttributeValue::S("CONNECT".into()))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .send()
            .await;
        if let Err(error) = read {
            tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(error), "could not reach the table during init");
        }
    }

    /// Asks for consumed capacity only when someone records it.
    fn capacity_mode(&self) -> ReturnConsumedCapacity {
        match self.capacity {
            Some(_) => ReturnConsumedCapacity::Indexes,
            None => ReturnConsumedCapacity::None,
        }
    }

    fn record<'a>(
        &self,
        operation: &'static str,
        keys: impl FnOnce() -> Vec<Key>,
        index: Option<&'static str>,
        consumed: impl IntoIterator<Item = &'a types::ConsumedCapacity>,
    ) {
        if let Some(log) = &self.capacity {
            log.record(capacity::record_of(operation, keys(), index, consumed));
        }
    }

    /// One `BatchGetItem` of at most `MAX_BATCH_GET` keys, sent again for the keys DynamoDB
    /// left unprocessed until none are left or the attempts run out.
    async fn batch_get(&self, mut request: KeysAndAttributes) -> Result<Vec<Item>, TableError> {
        let mut items = Vec::new();
        let mut attempt = 0;
        loop {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request.clone())
                .return_consumed_capacity(self.capacity_mode())
                .send()
                .await
                .map_err(request_error)?;
            self.record(
                "BatchGetItem",
                || {
                    request
                        .keys()
                        .iter()
                        .filter_map(|k| {
                            from_attributes(k.clone())
                                .ok()
                                .and_then(|i| Key::of(&i).ok())
                        })
                        .collect()
                },
                None,
                output.consumed_capacity(),
            );
            let mut responses = output.responses.unwrap_or_default();
            for item in responses.remove(&self.table).unwrap_or_default() {
                items.push(from_attributes(item)?);
            }
            let unprocessed = output
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table);
            let Some(rest) = unprocessed.filter(|rest| !rest.keys().is_empty()) else {
                return Ok(items);
            };
            if attempt + 1 >= ATTEMPTS {
                let message = format!("{} keys still unprocessed", rest.keys().len());
                return Err(TableError::Throttled(message.into()));
            }
            back_off(attempt).await;
            attempt += 1;
            request = rest;
        }
    }

    /// One action of a transaction, its expressions rendered.
    fn transact_item(&self, action: &Action) -> Result<TransactWriteItem, TableError> {
        let mut e = Expressions::default();
        let item = TransactWriteItem::builder();
        let item = match action {
            Action::Put(put) => {
                let condition = put.condition.as_ref().map(|c| e.condition(c));
                item.put(
                    types::Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_attributes(&put.item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(TableError::backend)?,
                )
            }
            Action::Update(update) => {
                let Some(expression) = e.update(&update.actions) else {
                    return Err(TableError::Validation(
                        "an update in a transaction needs at least one action".to_owned(),
                    ));
                };
                let condition = update.condition.as_ref().map(|c| e.condition(c));
                item.update(
                    types::Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(&update.key)))
                        .update_expression(expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(TableError::backend)?,
                )
            }
            Action::Delete(delete) => {
                let condition = delete.condition.as_ref().map(|c| e.condition(c));
                item.delete(
                    types::Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(&delete.key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(TableError::backend)?,
                )
            }
            Action::Check(Check { key, condition }) => {
                let condition = e.condition(condition);
                item.condition_check(
                    types::ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .condition_expression(condition)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(TableError::backend)?,
                )
            }
        };
        Ok(item.build())
    }
}

/// A projection of these attributes (DynamoDB has none of no attributes).
fn projection<S: AsRef<str>>(e: &mut Expressions, names: &[S]) -> Result<String, TableError> {
    if names.is_empty() {
        return Err(TableError::Validation("no attributes to return".to_owned()));
    }
    Ok(e.projection(names))
}

fn items(attributes: Option<Vec<Attributes>>) -> Result<Vec<Item>, TableError> {
    attributes
        .unwrap_or_default()
        .into_iter()
        .map(from_attributes)
        .collect()
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key, read: Read) -> Result<Option<Item>, TableError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(read == Read::Consistent)
            .return_consumed_capacity(self.capacity_mode())
            .send()
            .await
            .map_err(request_error)?;
        self.record(
            "GetItem",
            || vec![key.clone()],
            None,
            output.consumed_capacity(),
        );
        output.item.map(from_attributes).transpose()
    }

    /// One `BatchGetItem`: one round trip on one connection (a cold start opens no second
    /// one), for the read units of as many `GetItem`s.
    async fn get_each(&self, keys: &[Key], read: Read) -> Result<Vec<Option<Item>>, TableError> {
        let found = self.get_many(keys, read, None).await?;
        Ok(keys
            .iter()
            .map(|key| found.iter().find(|item| item_has_key(item, key)).cloned())
            .collect())
    }

    async fn get_many(
        &self,
        keys: &[Key],
        read: Read,
        attributes: Option<&[&str]>,
    ) -> Result<Vec<Item>, TableError> {
        // DynamoDB refuses a request that names a key twice.
        let mut seen = HashSet::new();
        let keys: Vec<&Key> = keys.iter().filter(|key| seen.insert(*key)).collect();
        let mut items = Vec::new();
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let mut e = Expressions::default();
            let projection = attributes
                .map(|names| projection(&mut e, names))
                .transpose()?;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(|key| key_attributes(key)).collect()))
                .consistent_read(read == Read::Consistent)
                .set_projection_expression(projection)
                .set_expression_attribute_names(e.names())
                .build()
                .map_err(TableError::backend)?;
            items.extend(self.batch_get(request).await?);
        }
        Ok(items)
    }

    async fn query(&self, query: &Query) -> Result<QueryPage, TableError> {
        let mut e = Expressions::default();
        let key_condition = e.key_condition(key_names(query.index), &query.partition, &query.sort);
        let filter = query.filter.as_ref().map(|f| e.condition(f));
        let projection = query
            .attributes
            .as_deref()
            .map(|names| projection(&mut e, names))
            .transpose()?;
        // Index reads are eventually consistent; DynamoDB refuses a consistent one.
        let consistent = query.read == Read::Consistent && query.index == Index::Table;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index_def(query.index).map(|def| def.name.to_owned()))
            .key_condition_expression(key_condition)
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .scan_index_forward(query.forward)
            .set_limit(query.limit.map(|limit| limit.min(i32::MAX as u32) as i32))
            .set_exclusive_start_key(query.start.as_ref().map(to_attributes))
            .set_consistent_read(consistent.then_some(true))
            .return_consumed_capacity(self.capacity_mode())
            .send()
            .await
            .map_err(request_error)?;
        self.record(
            "Query",
            || vec![Key::new(query.partition.clone(), "")],
            index_def(query.index).map(|def| def.name),
            output.consumed_capacity(),
        );
        Ok(QueryPage {
            items: items(output.items)?,
            scanned: output.scanned_count.max(0) as u32,
            last_key: output
                .last_evaluated_key
                .filter(|key| !key.is_empty())
                .map(from_attributes)
                .transpose()?,
        })
    }

    async fn put(&self, put: Put) -> Result<(), TableError> {
        let mut e = Expressions::default();
        let condition = put.condition.as_ref().map(|c| e.condition(c));
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(&put.item)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_consumed_capacity(self.capacity_mode());
        let output = retrying(|| request.clone().send(), classify).await?;
        self.record(
            "PutItem",
            || Key::of(&put.item).into_iter().collect(),
            None,
            output.consumed_capacity(),
        );
        Ok(())
    }

    async fn update(&self, update: Update, returns: Returns) -> Result<Option<Item>, TableError> {
        let mut e = Expressions::default();
        let expression = e.update(&update.actions);
        let condition = update.condition.as_ref().map(|c| e.condition(c));
        let return_values = match returns {
            Returns::Nothing => ReturnValue::None,
            Returns::New => ReturnValue::AllNew,
            Returns::Old => ReturnValue::AllOld,
        };
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(&update.key)))
            .set_update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(return_values)
            .return_consumed_capacity(self.capacity_mode());
        let output = retrying(|| request.clone().send(), classify).await?;
        self.record(
            "UpdateItem",
            || vec![update.key.clone()],
            None,
            output.consumed_capacity(),
        );
        if returns == Returns::Nothing {
            return Ok(None);
        }
        output
            .attributes
            .filter(|item| !item.is_empty())
            .map(from_attributes)
            .transpose()
    }

    async fn delete(&self, delete: Delete) -> Result<(), TableError> {
        let mut e = Expressions::default();
        let condition = delete.condition.as_ref().map(|c| e.condition(c));
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(&delete.key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_consumed_capacity(self.capacity_mode());
        let output = retrying(|| request.clone().send(), classify).await?;
        self.record(
            "DeleteItem",
            || vec![delete.key.clone()],
            None,
            output.consumed_capacity(),
        );
        Ok(())
    }

    /// Every attempt carries the same client request token, so one whose answer was lost after
    /// it committed is not applied twice (DynamoDB answers a repeat within ten minutes with
    /// success).
    async fn transact(&self, actions: Vec<Action>) -> Result<(), TableError> {
        check_transaction(&actions)?;
        if actions.is_empty() {
            return Ok(());
        }
        let items = actions
            .iter()
            .map(|action| self.transact_item(action))
            .collect::<Result<Vec<_>, _>>()?;
        let request = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .return_consumed_capacity(self.capacity_mode());
        let output = retrying(|| request.clone().send(), classify_transaction).await?;
        self.record(
            "TransactWriteItems",
            || actions.iter().filter_map(|a| a.key().ok()).collect(),
            None,
            output.consumed_capacity(),
        );
        Ok(())
    }
}

fn item_has_key(item: &Item, key: &Key) -> bool {
    let is = |name, value: &str| matches!(item.get(name), Some(super::Value::S(s)) if s == value);
    is(PARTITION_KEY, &key.pk) && is(SORT_KEY, &key.sk)
}
