//! Paging through an index: one partition, or a listing spread over several partitions (its
//! shards) that share its order, read concurrently and merged. A page resumes after a
//! `(sort key, id)` position, and a sharded listing resumes every shard from that same position:
//! each item is in one shard and the shards share one order, so the items after it are exactly
//! the ones no page has listed yet, whichever shard holds them.

use futures_util::future::try_join_all;

use super::TableStore;
use crate::store::StoreError;
use crate::store::table::schema::{IndexDef, PARTITION_KEY};
use crate::store::table::{Condition, Item, Key, Query, Read, SortRange, Value, get_s};

/// Items a filtered query may read from one partition per request: a selective filter returns
/// a short page and a cursor rather than running query after query against the function's
/// time limit.
pub(super) const FILTERED_READ_CAP: u32 = 1000;
/// Items one round of a filtered query reads.
pub(super) const FILTERED_ROUND: u32 = 250;

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

/// Up to a page of items in the listing's order, and where the next page resumes (index sort
/// key, item id) if more may follow.
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

/// Where a listing on an index with sort key `sort_key` stands after `item` (an item or a
/// page's last key): its sort key and id.
pub(super) fn position_of(item: &Item, sort_key: &str) -> Result<(String, String), StoreError> {
    Ok((get_s(item, sort_key)?, id_of(item)?))
}

/// Merges the pages the partitions of one listing gave after the same position (each in the
/// listing's order, each at most `limit` items, `resume` set where one stopped with more to
/// read) into the listing's next `limit` items: ascending sort keys when `forward`, descending
/// otherwise.
///
/// A partition that stopped early may hold items before the others' last ones, so the page
/// goes no further than the earliest place where one stopped (items read past it are read
/// again by the next page). Up to there every partition was read, so the page holds every item
/// between the position and its end exactly once, and the next page resumes after its last item
/// (or that place) in every partition. A page is short with more to follow only when a
/// partition stopped on its read cap: one that stops with `limit` items holds `limit` items up
/// to where it stopped, and so fills the page.
pub(super) fn merge_pages(
    pages: Vec<IndexPage>,
    sort_key: &str,
    forward: bool,
    limit: usize,
) -> Result<IndexPage, StoreError> {
    let order = |a: &str, b: &str| if forward { a.cmp(b) } else { b.cmp(a) };
    let stop = pages
        .iter()
        .filter_map(|page| page.resume.clone())
        .min_by(|a, b| order(&a.0, &b.0));
    let mut entries: Vec<(String, Item)> = Vec::new();
    for item in pages.into_iter().flat_map(|page| page.items) {
        let sort = get_s(&item, sort_key)?;
        if stop
            .as_ref()
            .is_none_or(|(end, _)| order(&sort, end).is_le())
        {
            entries.push((sort, item));
        }
    }
    entries.sort_by(|a, b| order(&a.0, &b.0));
    let resume = if entries.len() > limit {
        entries.truncate(limit);
        let (sort, item) = entries.last().expect("limit is at least one");
        Some((sort.clone(), id_of(item)?))
    } else {
        stop
    };
    Ok(IndexPage {
        items: entries.into_iter().map(|(_, item)| item).collect(),
        resume,
    })
}

impl TableStore {
    /// Up to `limit` items of one partition after (`sort`, `id`). Keeps querying while the 1 MB
    /// page limit or a filter leaves the page short, but a filtered query reads at most
    /// `FILTERED_READ_CAP` items and then returns what it has with a position to resume from.
    pub(super) async fn query_index(
        &self,
        query: &IndexQuery,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        self.query_partition(query, after, limit, Read::Eventual)
            .await
    }

    /// `query_index` with the read it asks for: `Consistent` only on the table itself (an
    /// index is always read eventually).
    pub(super) async fn query_partition(
        &self,
        query: &IndexQuery,
        after: Option<(&str, &str)>,
        limit: usize,
        consistency: Read,
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
            if consistency == Read::Consistent {
                request = request.consistent();
            }
            let page = self.table.query(&request).await?;
            read += page.scanned;
            items.extend(page.items);
            if items.len() > limit {
                items.truncate(limit);
                let last = items.last().expect("limit is at least one");
                let resume = position_of(last, query.index.sort_key)?;
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
                let resume = position_of(&key, query.index.sort_key)?;
                return Ok(IndexPage {
                    items,
                    resume: Some(resume),
                });
            }
            start = Some(key);
        }
    }

    /// A page of a listing spread over shards: `shards` holds the same query on each shard's
    /// partition (one index, one order). Every shard is read concurrently from the same
    /// position, up to `limit` items each, and the pages merged: `limit` items when that many
    /// follow, for as many queries as there are shards.
    pub(super) async fn query_shards(
        &self,
        shards: &[IndexQuery],
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let first = shards.first().expect("a listing has at least one shard");
        let pages = try_join_all(
            shards
                .iter()
                .map(|shard| self.query_index(shard, after, limit)),
        )
        .await?;
        merge_pages(pages, first.index.sort_key, first.forward, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::item;

    const SORT: &str = "GSI1SK";

    fn entry(sort: &str) -> Item {
        let id = format!("id-{sort}");
        item(
            &Key::new(format!("POST#{id}"), "POST"),
            [(SORT, sort.into())],
        )
    }

    fn sorts(page: &IndexPage) -> Vec<String> {
        page.items.iter().map(|i| get_s(i, SORT).unwrap()).collect()
    }

    /// What one partition (its sort keys, in any order) gives after `after`: up to `limit`
    /// items in the listing's order, and where it stopped if more follow; with a `cap`, a
    /// filtered read that stops after `cap` entries (every third entry matches).
    fn read(
        partition: &[String],
        after: Option<&str>,
        limit: usize,
        forward: bool,
        cap: Option<usize>,
    ) -> IndexPage {
        let mut sorted: Vec<&String> = partition
            .iter()
            .filter(|s| {
                after.is_none_or(|a| {
                    if forward {
                        s.as_str() > a
                    } else {
                        s.as_str() < a
                    }
                })
            })
            .collect();
        sorted.sort();
        if !forward {
            sorted.reverse();
        }
        let mut items = Vec::new();
        for (read, sort) in sorted.iter().enumerate() {
            if cap.is_none_or(|_| sort.ends_with('0')) {
                items.push(entry(sort));
            }
            if items.len() > limit {
                items.truncate(limit);
                let resume = position_of(items.last().unwrap(), SORT).unwrap();
                return IndexPage {
                    items,
                    resume: Some(resume),
                };
            }
            if cap.is_some_and(|cap| read + 1 >= cap && read + 1 < sorted.len()) {
                let resume = (sort.to_string(), format!("id-{sort}"));
                return IndexPage {
                    items,
                    resume: Some(resume),
                };
            }
        }
        IndexPage {
            items,
            resume: None,
        }
    }

    #[test]
    fn merges_in_order_and_resumes_after_the_last_item() {
        let partitions = [
            vec!["05", "02"],
            vec!["09", "04", "01"],
            vec!["08", "07", "06", "03"],
        ]
        .map(|p| p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let pages = partitions
            .iter()
            .map(|p| read(p, None, 3, false, None))
            .collect();
        let page = merge_pages(pages, SORT, false, 3).unwrap();
        assert_eq!(sorts(&page), ["09", "08", "07"]);
        assert_eq!(page.resume, Some(("07".into(), "id-07".into())));

        // Everything read: no position to resume from.
        let pages = partitions
            .iter()
            .map(|p| read(p, Some("03"), 5, false, None))
            .collect();
        let page = merge_pages(pages, SORT, false, 5).unwrap();
        assert_eq!(sorts(&page), ["02", "01"]);
        assert_eq!(page.resume, None);
    }

    #[test]
    fn a_partition_that_stopped_early_ends_the_page_where_it_stopped() {
        let stopped = IndexPage {
            items: vec![entry("10")],
            resume: Some(("20".into(), "id-20".into())),
        };
        let read_on = IndexPage {
            items: vec![entry("05"), entry("15"), entry("25")],
            resume: None,
        };
        let page = merge_pages(vec![stopped, read_on], SORT, true, 10).unwrap();
        // "25" may have items of the first partition before it: it is read again next page.
        assert_eq!(sorts(&page), ["05", "10", "15"]);
        assert_eq!(page.resume, Some(("20".into(), "id-20".into())));
    }

    /// Paging a listing spread over partitions, with any page size, filtered or not, in either
    /// order, lists every item once, in order.
    #[test]
    fn pages_walk_every_item_once_in_order() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for round in 0..200 {
            let shards = 1 + next() % 5;
            let count = next() % 60;
            let mut partitions = vec![Vec::new(); shards];
            for i in 0..count {
                partitions[next() % shards].push(format!("{i:03}{}", next() % 2 * 5));
            }
            let limit = 1 + next() % 7;
            let forward = round % 2 == 0;
            let cap = (round % 3 == 0).then(|| 1 + next() % 4);
            let mut expected: Vec<String> = partitions
                .iter()
                .flatten()
                .filter(|s| cap.is_none() || s.ends_with('0'))
                .cloned()
                .collect();
            expected.sort();
            if !forward {
                expected.reverse();
            }
            let mut seen = Vec::new();
            let mut after: Option<(String, String)> = None;
            for _ in 0..1000 {
                let pages = partitions
                    .iter()
                    .map(|p| read(p, after.as_ref().map(|a| a.0.as_str()), limit, forward, cap))
                    .collect();
                let page = merge_pages(pages, SORT, forward, limit).unwrap();
                assert!(page.items.len() <= limit);
                if cap.is_none() && page.resume.is_some() {
                    assert_eq!(page.items.len(), limit, "a short page without a read cap");
                }
                seen.extend(sorts(&page));
                after = page.resume;
                if after.is_none() {
                    break;
                }
            }
            assert_eq!(
                seen, expected,
                "round {round}: {shards} shards, limit {limit}"
            );
        }
    }
}
