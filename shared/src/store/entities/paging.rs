//! Paging through one partition of an index, resuming after a `(sort key, id)` position.

use super::TableStore;
use crate::store::StoreError;
use crate::store::table::schema::{IndexDef, PARTITION_KEY};
use crate::store::table::{Condition, Item, Key, Query, SortRange, Value, get_s};

/// Items a filtered query may read per request: a selective filter returns a short page and a
/// cursor rather than running query after query against the function's time limit.
const FILTERED_READ_CAP: u32 = 1000;
/// Items one round of a filtered query reads.
const FILTERED_ROUND: u32 = 250;

pub(super) type TableKey = Box<dyn Fn(&str) -> Key + Send + Sync>;

pub(super) struct IndexQuery {
    pub index: &'static IndexDef,
    pub partition: String,
    pub sort_prefix: Option<String>,
    pub filter: Option<Condition>,
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

impl TableStore {
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
            let mut key = (query.table_key)(id).to_item();
            key.insert(
                query.index.partition_key.to_owned(),
                Value::from(&query.partition),
            );
            key.insert(query.index.sort_key.to_owned(), Value::from(sort));
            key
        });
        let sort = match &query.sort_prefix {
            Some(prefix) => SortRange::Prefix(prefix.clone()),
            None => SortRange::All,
        };
        let mut items: Vec<Item> = Vec::new();
        let mut read = 0;
        loop {
            let wanted = (limit - items.len() + 1).min(1000) as u32;
            let round = match query.filter {
                Some(_) => FILTERED_ROUND.max(wanted),
                None => wanted,
            };
            let mut request = Query::on(query.index.index, &query.partition)
                .sort(sort.clone())
                .filter(query.filter.clone())
                .limit(round)
                .start(start.take());
            if !query.forward {
                request = request.backward();
            }
            let page = self.table.query(&request).await?;
            read += page.scanned;
            items.extend(page.items);
            if items.len() > limit {
                items.truncate(limit);
                let last = items.last().expect("limit is at least one");
                let resume = (get_s(last, query.index.sort_key)?, id_of(last)?);
                return Ok(IndexPage {
                    items,
                    resume: Some(resume),
                });
            }
            let Some(key) = page.last_key else {
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
