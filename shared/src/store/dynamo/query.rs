//! Paging through one partition of an index, resuming after a `Position`.

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::item::{Item, get_s, s};
use super::schema::{IndexDef, PARTITION_KEY};
use crate::store::StoreError;

/// Items a filtered query may read per request: a selective filter returns a short page and a
/// cursor rather than running query after query against the function's time limit.
const FILTERED_READ_CAP: i32 = 1000;
/// Items one round of a filtered query reads.
const FILTERED_ROUND: i32 = 250;

pub(super) struct Filter {
    pub expression: &'static str,
    pub names: Vec<(&'static str, &'static str)>,
    pub values: Vec<(&'static str, AttributeValue)>,
}

pub(super) type TableKey = Box<dyn Fn(&str) -> Item + Send + Sync>;

pub(super) struct IndexQuery {
    pub index: &'static IndexDef,
    pub partition: String,
    pub sort_prefix: Option<String>,
    pub filter: Option<Filter>,
    /// Ascending when true, newest-first listings use false.
    pub forward: bool,
    /// The table key of the item an id names (to resume after it).
    pub table_key: TableKey,
}

/// Up to a page of items, and where the next page resumes (index sort key, item id) if more
/// may follow.
pub(super) struct IndexPage {
    pub items: Vec<Item>,
    pub resume: Option<(String, String)>,
}

/// The id in a table partition key such as `POST#<id>`.
fn id_of(key: &Item) -> Result<String, StoreError> {
    let pk = get_s(key, PARTITION_KEY)?;
    pk.split_once('#')
        .map(|(_, id)| id.to_owned())
        .ok_or_else(|| StoreError::backend(format!("unexpected key {pk}")))
}

impl DynamoStore {
    /// Up to `limit` items after (`sort`, `id`). Keeps querying while the 1 MB page limit or a
    /// filter leaves the page short, but a filtered query reads at most `FILTERED_READ_CAP`
    /// items and then returns what it has with a position to resume from.
    pub(super) async fn query_index(
        &self,
        query: &IndexQuery,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let mut start = after.map(|(sort, id)| {
            let mut key = (query.table_key)(id);
            key.insert(query.index.partition_key.to_owned(), s(&query.partition));
            key.insert(query.index.sort_key.to_owned(), s(sort));
            key
        });
        let mut items: Vec<Item> = Vec::new();
        let mut read = 0;
        loop {
            let wanted = (limit - items.len() + 1).min(1000) as i32;
            let round = match query.filter {
                Some(_) => FILTERED_ROUND.max(wanted),
                None => wanted,
            };
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(query.index.name)
                .expression_attribute_names("#ipk", query.index.partition_key)
                .expression_attribute_values(":ipk", s(&query.partition))
                .scan_index_forward(query.forward)
                .limit(round)
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
            read += output.scanned_count;
            items.extend(output.items().iter().cloned());
            if items.len() > limit {
                items.truncate(limit);
                let last = items.last().expect("limit is at least one");
                let resume = (get_s(last, query.index.sort_key)?, id_of(last)?);
                return Ok(IndexPage {
                    items,
                    resume: Some(resume),
                });
            }
            let Some(key) = output.last_evaluated_key.filter(|key| !key.is_empty()) else {
                return Ok(IndexPage {
                    items,
                    resume: None,
                });
            };
            if query.filter.is_some() && read >= FILTERED_READ_CAP {
                let resume = (get_s(&key, query.index.sort_key)?, id_of(&key)?);
                return Ok(IndexPage {
                    items,
                    resume: Some(resume),
                });
            }
            start = Some(key);
        }
    }
}
