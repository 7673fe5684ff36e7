//! The engine end to end, each test on a fresh file.

use std::path::PathBuf;
use std::sync::Arc;

use super::super::{
    Action, Check, Condition, Delete, Index, Item, Key, Put, Query, QueryPage, Read, Returns,
    SortRange, Table, TableError, Update, Value, item,
};
use super::SqliteTable;
use super::query::PAGE_SIZE;
use crate::jobs::{Job, JobQueue, Queue, SecurityEvent};

/// A table in a file of its own, removed with it.
struct Scratch {
    table: SqliteTable,
    path: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("table-{}.db", uuid::Uuid::now_v7()));
        let table = SqliteTable::open(&path).expect("open");
        Self { table, path }
    }
}

impl std::ops::Deref for Scratch {
    type Target = SqliteTable;

    fn deref(&self) -> &SqliteTable {
        &self.table
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

fn k(pk: &str, sk: &str) -> Key {
    Key::new(pk, sk)
}

fn sks(page: &QueryPage) -> Vec<String> {
    page.items
        .iter()
        .map(|item| match item.get("SK") {
            Some(Value::S(s)) => s.clone(),
            _ => String::new(),
        })
        .collect()
}

fn is_invalid<T: std::fmt::Debug>(result: Result<T, TableError>) -> bool {
    matches!(result, Err(TableError::Validation(_)))
}

fn failed<T: std::fmt::Debug>(result: Result<T, TableError>) -> Option<Vec<usize>> {
    match result {
        Err(TableError::ConditionFailed(failed)) => Some(failed),
        _ => None,
    }
}

async fn put(table: &SqliteTable, item: Item) {
    table.put(Put::new(item)).await.expect("put");
}

#[tokio::test]
async fn items_round_trip_exactly() {
    let table = Scratch::new();
    let stored = item(
        &k("P", "S"),
        [
            ("s", Value::S("é\u{1F600}".into())),
            ("empty", Value::S(String::new())),
            ("n", Value::N(i64::MIN)),
            ("b", Value::Bool(false)),
            ("z", Value::Null),
            ("l", Value::L(vec![Value::N(1), Value::L(vec![])])),
            ("ttl", Value::N(1)),
        ],
    );
    put(&table, stored.clone()).await;
    assert_eq!(
        table.get(&k("P", "S"), Read::Consistent).await.unwrap(),
        Some(stored)
    );
    assert_eq!(table.get(&k("P", "T"), Read::Eventual).await.unwrap(), None);
    assert!(is_invalid(table.get(&k("", "T"), Read::Eventual).await));
}

#[tokio::test]
async fn conditional_puts_and_deletes() {
    let table = Scratch::new();
    let first = item(&k("P", "S"), [("v", Value::N(1))]);
    table.put(Put::if_absent(first.clone())).await.unwrap();
    let second = item(&k("P", "S"), [("v", Value::N(2))]);
    assert_eq!(
        failed(table.put(Put::if_absent(second.clone())).await),
        Some(vec![0])
    );
    table
        .put(Put::new(second.clone()).when(Condition::eq("v", 1)))
        .await
        .unwrap();
    assert_eq!(
        table.get(&k("P", "S"), Read::Consistent).await.unwrap(),
        Some(second)
    );

    let delete = Delete::new(k("P", "S")).when(Condition::eq("v", 1));
    assert_eq!(failed(table.delete(delete).await), Some(vec![0]));
    table.delete(Delete::new(k("P", "S"))).await.unwrap();
    assert_eq!(
        table.get(&k("P", "S"), Read::Consistent).await.unwrap(),
        None
    );
    // Deleting what is not there is fine, unless the condition wants it there.
    table.delete(Delete::new(k("P", "S"))).await.unwrap();
    let delete = Delete::new(k("P", "S")).when(Condition::item_exists());
    assert_eq!(failed(table.delete(delete).await), Some(vec![0]));
}

#[tokio::test]
async fn puts_are_validated_before_their_condition() {
    let table = Scratch::new();
    put(&table, k("P", "S").to_item()).await;
    for bad in [
        item(&k("P", "S"), [("GSI1PK", Value::S(String::new()))]),
        item(&k("P", "S"), [("GSI2SK", Value::N(1))]),
        item(&k("P", "S"), [("big", Value::S("x".repeat(400 * 1024)))]),
    ] {
        assert!(is_invalid(table.put(Put::if_absent(bad)).await));
    }
}

#[tokio::test]
async fn updates() {
    let table = Scratch::new();
    let key = k("P", "S");
    // A missing item is created from the key and the update, even by a lone remove.
    let new = table
        .update(Update::new(key.clone()).remove("x"), Returns::New)
        .await
        .unwrap();
    assert_eq!(new, Some(key.to_item()));
    let old = table
        .update(Update::new(k("P", "T")).set("a", 1), Returns::Old)
        .await
        .unwrap();
    assert_eq!(old, None);

    let update = Update::new(key.clone())
        .set("name", "x")
        .set_if_absent("created", 5)
        .add("count", 2);
    let new = table.update(update, Returns::New).await.unwrap().unwrap();
    assert_eq!(
        new,
        item(
            &key,
            [
                ("name", "x".into()),
                ("created", 5.into()),
                ("count", 2.into())
            ]
        )
    );
    let update = Update::new(key.clone())
        .set_if_absent("created", 9)
        .add("count", -5)
        .remove("name")
        .when(Condition::eq("count", 2));
    let old = table.update(update, Returns::Old).await.unwrap();
    assert_eq!(old, Some(new));
    let now = table.get(&key, Read::Consistent).await.unwrap().unwrap();
    assert_eq!(
        now,
        item(&key, [("created", 5.into()), ("count", (-3).into())])
    );
    assert_eq!(
        table
            .update(Update::new(key.clone()).set("a", 1), Returns::Nothing)
            .await
            .unwrap(),
        None
    );

    let update = Update::new(key.clone())
        .set("b", 1)
        .when(Condition::eq("count", 2));
    assert_eq!(
        failed(table.update(update, Returns::New).await),
        Some(vec![0])
    );
    let update = Update::new(k("P", "missing"))
        .set("b", 1)
        .when(Condition::item_exists());
    assert_eq!(
        failed(table.update(update, Returns::New).await),
        Some(vec![0])
    );
    assert_eq!(
        table
            .get(&k("P", "missing"), Read::Consistent)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_update_is_checked_after_its_condition() {
    let table = Scratch::new();
    let key = k("P", "S");
    put(&table, item(&key, [("s", "text".into())])).await;
    let before = table.get(&key, Read::Consistent).await.unwrap();
    let fails = Condition::item_absent();
    for update in [
        Update::new(key.clone()).add("s", 1),
        Update::new(key.clone()).set("GSI1PK", ""),
        Update::new(key.clone()).set("GSI3SK", 7),
        Update::new(key.clone()).set("PK", "x"),
        Update::new(key.clone()).remove("SK"),
        // Within the limit alone (409,598 bytes with the key), beyond it with `s`.
        Update::new(key.clone()).set("big", "x".repeat(400 * 1024 - 11)),
    ] {
        let guarded = update.clone().when(fails.clone());
        assert_eq!(
            failed(table.update(guarded, Returns::Nothing).await),
            Some(vec![0])
        );
        assert!(is_invalid(table.update(update, Returns::Nothing).await));
    }
    // What no condition can make valid is refused first.
    for update in [
        Update::new(key.clone()).set("a", 1).remove("a"),
        Update::new(key.clone()).set("big", "x".repeat(400 * 1024)),
    ] {
        assert!(is_invalid(
            table
                .update(update.when(fails.clone()), Returns::Nothing)
                .await
        ));
    }
    assert_eq!(table.get(&key, Read::Consistent).await.unwrap(), before);
}

#[tokio::test]
async fn transactions_are_all_or_nothing() {
    let table = Scratch::new();
    put(&table, item(&k("A", "1"), [("v", 1.into())])).await;
    let actions = vec![
        Action::Put(Put::new(item(&k("B", "1"), [("v", 1.into())]))),
        Action::Check(Check {
            key: k("A", "1"),
            condition: Condition::eq("v", 2),
        }),
        Action::Update(Update::new(k("A", "3")).add("v", 1)),
        Action::Delete(Delete::new(k("C", "1")).when(Condition::item_exists())),
        Action::Put(Put::if_absent(k("D", "1").to_item())),
    ];
    let result = table.transact(actions).await;
    assert_eq!(failed(result), Some(vec![1, 3]));
    assert_eq!(
        table.get(&k("B", "1"), Read::Consistent).await.unwrap(),
        None
    );
    assert_eq!(
        table.get(&k("D", "1"), Read::Consistent).await.unwrap(),
        None
    );
    assert_eq!(
        table.get(&k("A", "3"), Read::Consistent).await.unwrap(),
        None
    );

    let actions = vec![
        Action::Put(Put::new(item(&k("B", "1"), [("v", 1.into())]))),
        Action::Check(Check {
            key: k("A", "1"),
            condition: Condition::eq("v", 1),
        }),
        Action::Update(Update::new(k("A", "2")).add("v", 1)),
        Action::Delete(Delete::new(k("A", "1"))),
    ];
    assert!(
        is_invalid(table.transact(actions.clone()).await),
        "two actions on A/1"
    );
    let actions = actions.into_iter().take(3).collect();
    table.transact(actions).await.unwrap();
    assert!(
        table
            .get(&k("B", "1"), Read::Consistent)
            .await
            .unwrap()
            .is_some()
    );
    let a2 = table
        .get(&k("A", "2"), Read::Consistent)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a2["v"], Value::N(1));
}

#[tokio::test]
async fn a_rule_an_update_breaks_fails_the_transaction_over_conditions() {
    let table = Scratch::new();
    put(&table, item(&k("A", "1"), [("s", "text".into())])).await;
    let actions = vec![
        Action::Put(Put::if_absent(k("A", "1").to_item())),
        Action::Update(Update::new(k("A", "2")).set("GSI1PK", "")),
    ];
    assert!(is_invalid(table.transact(actions).await));
    let actions = vec![
        Action::Put(Put::new(k("B", "1").to_item())),
        Action::Update(
            Update::new(k("A", "1"))
                .add("s", 1)
                .when(Condition::item_absent()),
        ),
    ];
    assert_eq!(failed(table.transact(actions).await), Some(vec![1]));
    table.transact(vec![]).await.unwrap();
    assert_eq!(
        table.get(&k("A", "2"), Read::Consistent).await.unwrap(),
        None
    );
    assert_eq!(
        table.get(&k("B", "1"), Read::Consistent).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn which_failure_a_transaction_reports() {
    let table = Scratch::new();
    put(&table, item(&k("A", "1"), [("s", "text".into())])).await;
    let fails = || {
        Action::Check(Check {
            key: k("A", "0"),
            condition: Condition::item_exists(),
        })
    };
    let number_key = || item(&k("B", "1"), [("GSI1PK", Value::N(1))]);
    // A breach of one action gives way to another action's failed condition...
    let actions = vec![fails(), Action::Put(Put::new(number_key()))];
    assert_eq!(failed(table.transact(actions).await), Some(vec![0]));
    let grows = Update::new(k("A", "1")).set("big", "x".repeat(400 * 1024 - 11));
    let actions = vec![
        Action::Check(Check {
            key: k("B", "1"),
            condition: Condition::item_exists(),
        }),
        Action::Update(grows),
    ];
    assert_eq!(failed(table.transact(actions).await), Some(vec![0]));
    // ...but a put's own failed condition does not hide it.
    let actions = vec![Action::Put(
        Put::new(number_key()).when(Condition::item_exists()),
    )];
    assert!(is_invalid(table.transact(actions).await));
    assert!(is_invalid(
        table
            .put(Put::new(number_key()).when(Condition::item_exists()))
            .await
    ));
    // A breach of the whole request, or an update of the key, wins over failed conditions.
    for (update, own_fails) in [
        (
            Update::new(k("B", "2")).set("PK", "x"),
            Condition::item_exists(),
        ),
        (
            Update::new(k("A", "1")).add("s", 1),
            Condition::item_absent(),
        ),
        (
            Update::new(k("B", "2")).set("GSI2SK", Value::Null),
            Condition::item_exists(),
        ),
    ] {
        let actions = vec![fails(), Action::Update(update.clone())];
        assert!(is_invalid(table.transact(actions).await), "{update:?}");
        // Unless that update's own condition fails.
        let actions = vec![fails(), Action::Update(update.when(own_fails))];
        assert_eq!(failed(table.transact(actions).await), Some(vec![0, 1]));
    }
    // A transaction's update needs an action; a lone update does not.
    let empty = Update::new(k("C", "1"));
    assert!(is_invalid(
        table.transact(vec![Action::Update(empty.clone())]).await
    ));
    table.update(empty, Returns::Nothing).await.unwrap();
    assert_eq!(
        table.get(&k("C", "1"), Read::Consistent).await.unwrap(),
        Some(k("C", "1").to_item())
    );
    assert_eq!(
        table.get(&k("B", "1"), Read::Consistent).await.unwrap(),
        None
    );
}

async fn partition(table: &SqliteTable, pk: &str, sks: &[&str]) {
    for sk in sks {
        put(table, item(&k(pk, sk), [("n", Value::N(sk.len() as i64))])).await;
    }
}

#[tokio::test]
async fn query_ranges_and_directions() {
    let table = Scratch::new();
    let all = [
        "a",
        "b",
        "ba",
        "bb",
        "b\u{10FFFF}",
        "c",
        "\u{e9}",
        "\u{1F600}",
    ];
    partition(&table, "P", &all).await;
    partition(&table, "Q", &["a"]).await;
    let run = |sort: SortRange, forward: bool| {
        let query = Query::table("P").sort(sort);
        let query = if forward { query } else { query.backward() };
        let table = &table;
        async move { sks(&table.query(&query).await.unwrap()) }
    };
    assert_eq!(run(SortRange::All, true).await, all);
    let mut reversed = all.to_vec();
    reversed.reverse();
    assert_eq!(run(SortRange::All, false).await, reversed);
    assert_eq!(run(SortRange::Eq("ba".into()), true).await, ["ba"]);
    assert_eq!(run(SortRange::Lt("b".into()), true).await, ["a"]);
    assert_eq!(run(SortRange::Le("b".into()), false).await, ["b", "a"]);
    assert_eq!(
        run(SortRange::Gt("c".into()), true).await,
        ["\u{e9}", "\u{1F600}"]
    );
    assert_eq!(
        run(SortRange::Ge("c".into()), true).await,
        ["c", "\u{e9}", "\u{1F600}"]
    );
    assert_eq!(
        run(SortRange::Between("b".into(), "bb".into()), true).await,
        ["b", "ba", "bb"]
    );
    let prefixed = ["b", "ba", "bb", "b\u{10FFFF}"];
    assert_eq!(run(SortRange::Prefix("b".into()), true).await, prefixed);
    assert_eq!(
        run(SortRange::Prefix("b".into()), false).await,
        prefixed.iter().rev().copied().collect::<Vec<_>>()
    );
    assert!(run(SortRange::Prefix("d".into()), true).await.is_empty());
    let page = table.query(&Query::table("none")).await.unwrap();
    assert_eq!(page, QueryPage::default());
}

#[tokio::test]
async fn limits_filters_and_paging() {
    let table = Scratch::new();
    let all: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    for (i, sk) in all.iter().enumerate() {
        put(&table, item(&k("P", sk), [("n", Value::N(i as i64))])).await;
    }
    // The limit counts items read, kept by the filter or not.
    let query = Query::table("P")
        .filter(Some(Condition::ge("n", 3)))
        .limit(4);
    let page = table.query(&query).await.unwrap();
    assert_eq!(sks(&page), ["s3"]);
    assert_eq!(page.scanned, 4);
    assert_eq!(page.last_key, Some(k("P", "s3").to_item()));
    // A page cut by the limit at the very end still says where to resume.
    let page = table.query(&Query::table("P").limit(10)).await.unwrap();
    assert_eq!(page.items.len(), 10);
    assert_eq!(page.last_key, Some(k("P", "s9").to_item()));
    let page = table.query(&Query::table("P").limit(11)).await.unwrap();
    assert_eq!(page.last_key, None);
    let page = table
        .query(&Query::table("P").start(Some(k("P", "s9").to_item())))
        .await
        .unwrap();
    assert_eq!(page, QueryPage::default());

    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut start = None;
        loop {
            let query = Query::table("P").limit(3).start(start);
            let query = if forward { query } else { query.backward() };
            let page = table.query(&query).await.unwrap();
            seen.extend(sks(&page));
            start = page.last_key;
            if start.is_none() {
                break;
            }
        }
        let mut expected = all.clone();
        if !forward {
            expected.reverse();
        }
        assert_eq!(seen, expected);
    }
    // A page that ends on the closed end of its range by the limit has no key (DynamoDB
    // Local's rule); other ranges, and equality, still get one.
    let closed = [
        (
            Query::table("P").sort(SortRange::Le("s2".into())).limit(3),
            false,
        ),
        (
            Query::table("P").sort(SortRange::Le("s25".into())).limit(3),
            true,
        ),
        (
            Query::table("P")
                .sort(SortRange::Between("s1".into(), "s3".into()))
                .limit(3),
            false,
        ),
        (
            Query::table("P")
                .sort(SortRange::Ge("s7".into()))
                .backward()
                .limit(3),
            false,
        ),
        (
            Query::table("P")
                .sort(SortRange::Between("s7".into(), "s9".into()))
                .backward()
                .limit(3),
            false,
        ),
        (
            Query::table("P").sort(SortRange::Ge("s7".into())).limit(3),
            true,
        ),
        (
            Query::table("P").sort(SortRange::Lt("s3".into())).limit(3),
            true,
        ),
        (
            Query::table("P").sort(SortRange::Eq("s3".into())).limit(1),
            true,
        ),
        (
            Query::table("P")
                .sort(SortRange::Prefix("s9".into()))
                .limit(1),
            true,
        ),
    ];
    for (query, resumes) in closed {
        let page = table.query(&query).await.unwrap();
        assert_eq!(page.last_key.is_some(), resumes, "{query:?}");
    }
    // A start key between items resumes after it.
    let query = Query::table("P")
        .start(Some(k("P", "s55").to_item()))
        .limit(1);
    assert_eq!(sks(&table.query(&query).await.unwrap()), ["s6"]);
    let query = Query::table("P")
        .start(Some(k("P", "s55").to_item()))
        .backward()
        .limit(1);
    assert_eq!(sks(&table.query(&query).await.unwrap()), ["s5"]);
}

#[tokio::test]
async fn projections() {
    let table = Scratch::new();
    put(
        &table,
        item(&k("P", "1"), [("a", 1.into()), ("b", 2.into())]),
    )
    .await;
    put(&table, item(&k("P", "2"), [("b", 3.into())])).await;
    let page = table
        .query(&Query::table("P").attributes(&["a", "SK"]))
        .await
        .unwrap();
    assert_eq!(
        page.items,
        [
            Item::from([("SK".into(), "1".into()), ("a".into(), 1.into())]),
            Item::from([("SK".into(), "2".into())]),
        ]
    );
    let page = table
        .query(&Query::table("P").attributes(&["zz"]))
        .await
        .unwrap();
    assert_eq!(page.items, [Item::new(), Item::new()]);

    let keys = [k("P", "1"), k("P", "2"), k("P", "3")];
    let mut found = table.get_many(&keys, Read::Consistent, None).await.unwrap();
    found.sort();
    assert_eq!(found.len(), 2);
    let found = table
        .get_many(&keys, Read::Eventual, Some(&["a"]))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert!(found.contains(&Item::from([("a".into(), 1.into())])));
    assert!(found.contains(&Item::new()));
    let twice = [k("P", "1"), k("P", "1"), k("P", "3"), k("P", "3")];
    let found = table.get_many(&twice, Read::Eventual, None).await.unwrap();
    assert_eq!(found.len(), 1, "a key named twice is answered once");
    assert!(
        table
            .get_many(&[], Read::Eventual, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn secondary_indexes() {
    let table = Scratch::new();
    let entry = |pk: &str, sk: &str, gsi_sk: &str| {
        item(
            &k(pk, sk),
            [
                ("GSI1PK", "G".into()),
                ("GSI1SK", gsi_sk.into()),
                ("title", sk.into()),
                ("passwordHash", "secret".into()),
            ],
        )
    };
    put(&table, entry("B", "1", "k1")).await;
    put(&table, entry("A", "2", "k1")).await;
    put(&table, entry("A", "1", "k1")).await;
    put(&table, entry("C", "1", "k0")).await;
    // Sparse: an item with one index key attribute only is not in the index.
    put(&table, item(&k("D", "1"), [("GSI1PK", "G".into())])).await;
    put(&table, item(&k("D", "2"), [("GSI1SK", "k0".into())])).await;

    let page = table.query(&Query::on(Index::Gsi1, "G")).await.unwrap();
    let keys: Vec<Key> = page.items.iter().map(|i| Key::of(i).unwrap()).collect();
    assert_eq!(keys, [k("C", "1"), k("A", "1"), k("A", "2"), k("B", "1")]);
    assert_eq!(
        page.items[0],
        item(
            &k("C", "1"),
            [
                ("GSI1PK", "G".into()),
                ("GSI1SK", "k0".into()),
                ("title", "1".into())
            ]
        )
    );
    let page = table
        .query(&Query::on(Index::Gsi1, "G").limit(2))
        .await
        .unwrap();
    let last = page.last_key.clone().unwrap();
    assert_eq!(
        last,
        item(
            &k("A", "1"),
            [("GSI1PK", "G".into()), ("GSI1SK", "k1".into())]
        )
    );
    let page = table
        .query(&Query::on(Index::Gsi1, "G").start(Some(last.clone())))
        .await
        .unwrap();
    let keys: Vec<Key> = page.items.iter().map(|i| Key::of(i).unwrap()).collect();
    assert_eq!(keys, [k("A", "2"), k("B", "1")]);
    let page = table
        .query(&Query::on(Index::Gsi1, "G").backward().start(Some(last)))
        .await
        .unwrap();
    let keys: Vec<Key> = page.items.iter().map(|i| Key::of(i).unwrap()).collect();
    assert_eq!(keys, [k("C", "1")]);

    // Leaving the index by losing a key attribute, and moving within it.
    table
        .update(Update::new(k("C", "1")).remove("GSI1SK"), Returns::Nothing)
        .await
        .unwrap();
    table
        .update(
            Update::new(k("B", "1")).set("GSI1SK", "k9"),
            Returns::Nothing,
        )
        .await
        .unwrap();
    let page = table
        .query(
            &Query::on(Index::Gsi1, "G")
                .sort(SortRange::Ge("k1".into()))
                .backward(),
        )
        .await
        .unwrap();
    let keys: Vec<Key> = page.items.iter().map(|i| Key::of(i).unwrap()).collect();
    assert_eq!(keys, [k("B", "1"), k("A", "2"), k("A", "1")]);

    // `Read` promises no consistency of an index: a consistent query reads it all the same.
    let page = table
        .query(&Query::on(Index::Gsi1, "G").consistent())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(is_invalid(
        table
            .query(&Query::on(Index::Gsi1, "G").attributes(&["passwordHash"]))
            .await
    ));
    let page = table.query(&Query::on(Index::Gsi2, "G")).await.unwrap();
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn pages_stop_at_one_megabyte() {
    let table = Scratch::new();
    // Each item is a quarter of a page exactly: PK (3) + SK (2 + 3) + "big" (3) + value.
    let quarter = PAGE_SIZE / 4;
    for i in 0..5 {
        let sk = format!("s{i:02}");
        put(
            &table,
            item(&k("P", &sk), [("big", Value::S("x".repeat(quarter - 11)))]),
        )
        .await;
    }
    let page = table.query(&Query::table("P")).await.unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.last_key, Some(k("P", "s03").to_item()));
    let page = table
        .query(&Query::table("P").start(page.last_key))
        .await
        .unwrap();
    assert_eq!(sks(&page), ["s04"]);
    assert_eq!(page.last_key, None);
    // Cut by size at the partition's end: nothing more to read, so no key.
    let page = table
        .query(&Query::table("P").start(Some(k("P", "s00").to_item())))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.last_key, None);
}

#[tokio::test]
async fn concurrent_writes_serialise() {
    let table = Arc::new(Scratch::new());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let table = table.clone();
        tasks.push(tokio::spawn(async move {
            table
                .update(Update::new(k("C", "C")).add("n", 1), Returns::Nothing)
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let item = table
        .get(&k("C", "C"), Read::Consistent)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item["n"], Value::N(50));
}

#[tokio::test]
async fn expired_items_stay_a_day() {
    let table = Scratch::new();
    let now = 1_000_000;
    put(
        &table,
        item(&k("T", "old"), [("ttl", Value::N(now - 86_401))]),
    )
    .await;
    put(
        &table,
        item(&k("T", "recent"), [("ttl", Value::N(now - 10))]),
    )
    .await;
    put(
        &table,
        item(&k("T", "text"), [("ttl", Value::S("1".into()))]),
    )
    .await;
    assert_eq!(table.purge_expired(now).unwrap(), 1);
    let page = table.query(&Query::table("T")).await.unwrap();
    assert_eq!(sks(&page), ["recent", "text"]);
}

#[tokio::test]
async fn the_queue_hides_received_messages() {
    let table = Scratch::new();
    let job = Job::security("a@example.com", SecurityEvent::PasswordChanged, 0);
    table.send(&job).await.unwrap();
    let now = crate::clock::now_ms() + 1;
    let received = table
        .receive(Queue::Telegram, now, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].receive_count, 1);
    assert_eq!(Job::from_json(&received[0].body).unwrap().id, job.id);
    assert!(
        table
            .receive(Queue::Email, now, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        table
            .receive(Queue::Telegram, now, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = table
        .receive(Queue::Telegram, now + 1_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(again[0].receive_count, 2);
    let id = &again[0].message_id;
    table.retry_message(id, now + 5_000, "later").await.unwrap();
    assert!(
        table
            .receive(Queue::Telegram, now + 4_999, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(table.queue_depth(Queue::Telegram).await.unwrap(), (1, 0));
    table.dead_letter(id, "gave up").await.unwrap();
    assert!(
        table
            .receive(Queue::Telegram, now + 9_999, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(table.queue_depth(Queue::Telegram).await.unwrap(), (0, 1));
    table.delete_message(id).await.unwrap();
    assert_eq!(table.queue_depth(Queue::Telegram).await.unwrap(), (0, 0));
    table.close().await.unwrap();
}
