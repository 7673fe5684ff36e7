//! Paging through one partition of an index, resuming after a `Position`.

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::item::{Item, s};
use super::schema::IndexDef;
use crate::store::StoreError;

pub(super) struct Filter {
    pub expression: &'static str,
    pub names: Vec<(&'static str, &'static str)>,
    pub values: Vec<(&'static str, AttributeValue)>,
}

pub(super) struct IndexQuery {
    pub index: &'static IndexDef,
    pub partition: String,
    pub sort_prefix: Option<String>,
    pub filter: Option<Filter>,
    /// Ascending when true, newest-first listings use false.
    pub forward: bool,
    /// The table key of the item an id names (to resume after it).
    pub table_key: Box<dyn Fn(&str) -> Item + Send + Sync>,
}

impl DynamoStore {
    /// Up to `limit` items after (`sort`, `id`), and whether more may follow. Keeps querying
    /// while a filter leaves pages short.
    pub(super) async fn query_index(
        &self,
        query: &IndexQuery,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let mut start = after.map(|(sort, id)| {
            let mut key = (query.table_key)(id);
            key.insert(query.index.partition_key.to_owned(), s(&query.partition));
            key.insert(query.index.sort_key.to_owned(), s(sort));
            key
        });
        let mut items: Vec<Item> = Vec::new();
        loop {
            let wanted = limit - items.len() + 1;
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(query.index.name)
                .expression_attribute_names("#ipk", query.index.partition_key)
                .expression_attribute_values(":ipk", s(&query.partition))
                .scan_index_forward(query.forward)
                .limit(wanted.min(1000) as i32)
                .set_exclusive_start_key(start.take());
            request = match &query.sort_prefix {
                Some(prefix) => request
                    .key_condition_expression("#ipk = :ipk AND begins_with(#isk, :isk)")
                    .expression_attribute_names("#isk", query.index.sort_key)
                    .expression_attribute_values(":isk", s(prefix)),
                None => request.key_condition_expression("#ipk = :ipk"),
            };
            if let Some(filter) = &query.filter {
                request = request.filter_expression(filter.expression);
                for (placeholder, name) in &filter.names {
                    request = request.expression_attribute_names(*placeholder, *name);
                }
                for (placeholder, value) in &filter.values {
                    request = request.expression_attribute_values(*placeholder, value.clone());
                }
            }
            let output = request.send().await?;
            items.extend(output.items().iter().cloned());
            if items.len() > limit {
                items.truncate(limit);
                return Ok((items, true));
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok((items, false)),
            }
        }
    }
}
