//! One page of a query, read the way DynamoDB reads it: rows of the partition in sort-key
//! order (ties in an index broken by the table key), resumed strictly after the start key,
//! each row read counted against `limit` whether the filter keeps it or not, and the page
//! closed at 1 MB. A secondary index returns only what it projects. Where a page ends without
//! `last_key` follows DynamoDB Local (`at_closed_end`, `page_size_of`).

use rusqlite::{Connection, params_from_iter};

use super::super::schema::{PARTITION_KEY, SORT_KEY, key_names};
use super::super::{Index, Item, Query, QueryPage, SortRange, TableError, Value, item_size};
use super::{codec, eval, schema, sql_error, validate};

/// The most data one page returns, as DynamoDB counts it.
pub const PAGE_SIZE: usize = 1024 * 1024;

pub fn run(conn: &Connection, query: &Query) -> Result<QueryPage, TableError> {
    let (sql, params) = statement(query);
    let mut statement = conn.prepare_cached(&sql).map_err(sql_error)?;
    let mut rows = statement
        .query(params_from_iter(params))
        .map_err(sql_error)?;
    let mut page = QueryPage::default();
    let mut size = 0;
    while let Some(row) = rows.next().map_err(sql_error)? {
        let text: String = row.get(0).map_err(sql_error)?;
        let stored = codec::decode(&text)?;
        let entry = index_entry(query.index, &stored);
        page.scanned += 1;
        if query
            .filter
            .as_ref()
            .is_none_or(|filter| eval::matches(filter, Some(&entry)))
        {
            size += page_size_of(&stored);
            page.items.push(match &query.attributes {
                Some(names) => select(&entry, names),
                None => entry.clone(),
            });
        }
        let at_limit = query.limit.is_some_and(|limit| page.scanned >= limit);
        if at_limit || size >= PAGE_SIZE {
            // A page cut by `limit` says where to resume even at the end of the range (unless
            // it ends at the range's closed far end); one cut by size only if more rows follow.
            let resume = if at_limit {
                !at_closed_end(query, &entry)
            } else {
                rows.next().map_err(sql_error)?.is_some()
            };
            if resume {
                page.last_key = Some(last_key(query.index, &entry));
            }
            break;
        }
    }
    Ok(page)
}

/// Whether the last row read is the closed far end of a table query's range
/// (`validate::closed_end`): then no row can follow, and DynamoDB (Local, which the
/// differential test holds us to) answers a page cut there by `limit` without a key to resume
/// from. Every other page cut by `limit` gets one.
fn at_closed_end(query: &Query, entry: &Item) -> bool {
    matches!(
        (validate::closed_end(query), entry.get(SORT_KEY)),
        (Some(end), Some(Value::S(sk))) if sk == end
    )
}

/// What an item read counts towards the 1 MB page: the whole stored item, and only if the
/// filter keeps it (DynamoDB Local's accounting, which the differential test holds us to).
fn page_size_of(stored: &Item) -> usize {
    item_size(stored)
}

/// The SQL of a query and its parameters: the partition, the sort range, the start key, in
/// the query's direction.
fn statement(query: &Query) -> (String, Vec<String>) {
    let (partition, sort) = schema::columns(query.index);
    let table = query.index == Index::Table;
    let mut sql = format!("SELECT item FROM items WHERE {partition} = ?");
    let mut params = vec![query.partition.clone()];
    if !table {
        // The terms of the partial index, so that SQLite uses it.
        sql += &format!(" AND {partition} IS NOT NULL AND {sort} IS NOT NULL");
    }
    let mut bound = |op: &str, value: &str| {
        sql += &format!(" AND {sort} {op} ?");
        params.push(value.to_owned());
    };
    match &query.sort {
        SortRange::All => {}
        SortRange::Eq(v) => bound("=", v),
        SortRange::Lt(v) => bound("<", v),
        SortRange::Le(v) => bound("<=", v),
        SortRange::Gt(v) => bound(">", v),
        SortRange::Ge(v) => bound(">=", v),
        SortRange::Between(low, high) => {
            bound(">=", low);
            bound("<=", high);
        }
        SortRange::Prefix(prefix) => {
            bound(">=", prefix);
            if let Some(end) = prefix_end(prefix) {
                bound("<", &end);
            }
        }
    }
    let after = if query.forward { ">" } else { "<" };
    if let Some(start) = &query.start {
        let get = |name: &str| match start.get(name) {
            Some(Value::S(s)) => s.clone(),
            _ => String::new(),
        };
        let (_, sort_name) = key_names(query.index);
        if table {
            sql += &format!(" AND sk {after} ?");
            params.push(get(SORT_KEY));
        } else {
            sql += &format!(" AND ({sort}, pk, sk) {after} (?, ?, ?)");
            params.extend([get(sort_name), get(PARTITION_KEY), get(SORT_KEY)]);
        }
    }
    let direction = if query.forward { "ASC" } else { "DESC" };
    if table {
        sql += &format!(" ORDER BY sk {direction}");
    } else {
        sql += &format!(" ORDER BY {sort} {direction}, pk {direction}, sk {direction}");
    }
    (sql, params)
}

/// The least string greater than every string starting with `prefix` (`None` when there is
/// none): the prefix with its last character that has a successor replaced by that successor.
/// UTF-8 byte order is code point order, so these are all the strings `>= prefix` and `< end`.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// What an index holds of an item: the table key, the index key and the listed attributes.
/// The table holds it whole.
fn index_entry(index: Index, stored: &Item) -> Item {
    if index == Index::Table {
        return stored.clone();
    }
    stored
        .iter()
        .filter(|(name, _)| validate::projects(index, name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Only the attributes named (an item with none of them comes back empty, as in DynamoDB).
pub fn select<S: AsRef<str>>(item: &Item, names: &[S]) -> Item {
    names
        .iter()
        .filter_map(|name| {
            let name = name.as_ref();
            item.get(name).map(|value| (name.to_owned(), value.clone()))
        })
        .collect()
}

/// Where the next page starts: the table key of the last row read, and the index key for an
/// index query.
fn last_key(index: Index, entry: &Item) -> Item {
    let (partition, sort) = key_names(index);
    select(entry, &[PARTITION_KEY, SORT_KEY, partition, sort])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_string_after_every_extension() {
        assert_eq!(prefix_end("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}\u{10FFFF}"), None);
        let end = prefix_end("TAG#").unwrap();
        for inside in ["TAG#", "TAG#\u{10FFFF}\u{10FFFF}", "TAG#zz"] {
            assert!(inside >= "TAG#" && inside < end.as_str(), "{inside}");
        }
        assert!("TAH" >= end.as_str());
    }

    #[test]
    fn an_index_entry_holds_keys_and_listed_attributes() {
        let stored = Item::from([
            ("PK".to_owned(), Value::S("P".into())),
            ("SK".to_owned(), Value::S("S".into())),
            ("GSI1PK".to_owned(), Value::S("G".into())),
            ("GSI1SK".to_owned(), Value::S("K".into())),
            ("GSI2PK".to_owned(), Value::S("H".into())),
            ("title".to_owned(), Value::S("t".into())),
            ("passwordHash".to_owned(), Value::S("secret".into())),
        ]);
        let entry = index_entry(Index::Gsi1, &stored);
        let names: Vec<&str> = entry.keys().map(String::as_str).collect();
        assert_eq!(names, ["GSI1PK", "GSI1SK", "PK", "SK", "title"]);
        assert_eq!(index_entry(Index::Table, &stored), stored);
        let key: Vec<String> = last_key(Index::Gsi1, &entry).into_keys().collect();
        assert_eq!(key, ["GSI1PK", "GSI1SK", "PK", "SK"]);
    }
}
