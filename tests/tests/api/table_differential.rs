//! The embedded engine held to DynamoDB: generated sequences of table operations run against
//! the SQLite engine and against DynamoDB Local (AWS's own emulator), and every answer must be
//! the same: equal values, or errors of the same `TableError` variant (`ConditionFailed` with the
//! same action indexes). After each case the whole contents of every partition the case used
//! (table and indexes) are compared too, so a silent divergence is caught, and so is every
//! change each engine's stream carried (DynamoDB Streams; the embedded engine's change log):
//! for every item, the same changes with the same old and new images, in the same order.
//!
//! Runs on the emulator `scripts/test` starts (`AWS_ENDPOINT_URL_DYNAMODB`); without it the test
//! fails and says how to start one. By hand:
//!
//! ```text
//! scripts/dynamodb-local 8125 &
//! AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8125 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test \
//!   AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
//!   cargo test -p api-tests --test api table_differential -- --nocapture
//! ```
//!
//! The seed is fixed (`SEED`) so every run tries the same cases. To look further:
//! `PROPTEST_CASES=2000` runs more cases, `PROPTEST_RNG_SEED=<any u64>` other ones, and
//! `TABLE_DIFF_OPS=<n>` makes each case up to n operations long. A failure prints the first
//! operation whose answers differ, both answers, and the shrunk sequence of operations that still
//! shows it; a new one belongs below as a hand-written regression test named after the behaviour.
//!
//! What is generated, kept small so shrinking finds minimal cases:
//! - keys from three partitions (and a fourth that stays empty) and six sort keys with shared
//!   prefixes, so operations collide; rarely an empty sort key (invalid on DynamoDB);
//! - attributes projected by the indexes (`schema::LISTED_ATTRIBUTES`: status, title, version)
//!   and not (a, b, n), a TTL in the future or of a type DynamoDB's TTL ignores, and index keys
//!   for all three indexes (present or not, so entries come and go); rarely an index key of the
//!   wrong type or empty (invalid);
//! - values S (ASCII, two-byte and four-byte UTF-8, empty), N, Bool, Null and L (nested once),
//!   so type mismatches and missing attributes meet every kind of condition (Exists, Absent,
//!   Compare with each operator, Between, In, BeginsWith, And, Or, Not; rarely an And, Or or In
//!   of nothing), on puts, updates, deletes, transaction actions and query filters;
//! - updates of 1–3 actions (Set, SetIfAbsent, Remove, Add), each returning New, Old or Nothing;
//!   rarely none, two on one attribute, or one on a key attribute (invalid);
//! - transactions of 1–6 puts, updates, deletes and checks on different items, whose failing
//!   conditions must be named alike; occasionally none, or two actions on one item (invalid);
//! - queries on the table and each index, every sort range (rarely an empty bound, or a
//!   `Between` out of order), both directions, limits 1–5 or none (rarely 0), in both read
//!   modes, a filter sometimes (rarely on a key, or on an attribute the index does not
//!   project), an attribute list sometimes, sometimes a start key of their own (rarely in
//!   another partition), followed page by page to the end;
//! - gets in both read modes and batch gets (compared as sets) with and without an attribute
//!   list, duplicate keys occasionally.
//!
//! Ties: DynamoDB leaves the order of index entries with equal sort keys unspecified (DynamoDB
//! Local orders them neither by table key nor by insertion), so no two items share an index
//! sort key here: a generated index sort key is a stem (`a`, `a#1`, `b`, `c`) followed by the
//! item's own key (`a|p0/b#1`), unique per item, while sort ranges and start keys are still
//! chosen from stems and stem prefixes.
//!
//! Isolation: one DynamoDB table for the whole run; each case (and each shrinking step) writes
//! under its own key prefix, prepended to every table partition key and index partition value
//! (the same prefix on both engines, so answers compare as they are), and a fresh SQLite file.
//!
//! Not generated:
//! - TTLs in the past: DynamoDB deletes expired items at a time of its choosing, so both
//!   answers would be right;
//! - more than one refused index-key value in one write: which one DynamoDB Local reports
//!   follows the order it checks its indexes in (GSI2, GSI1, GSI3), and the kind of error with
//!   it (an invalid request, or a cancellation that a failed condition elsewhere in the same
//!   transaction takes over), which is no rule to copy;
//! - an `Add` past `i64::MAX`: the embedded engine refuses it, DynamoDB (38 digits) stores a
//!   number the interface cannot read back; the store's numbers (counts, versions, epoch ms)
//!   never come near (see `table::Value`);
//! - an empty attribute list, numbers beyond a few digits, key and item sizes near DynamoDB's limits, more than 100 actions or keys, and
//!   attribute names other than the store's (all checked by hand, alike on both engines).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use shared::store::table::dynamodb::{self, DynamoTable, StreamFeed};
use shared::store::table::schema::key_names;
use shared::store::table::sqlite::{ChangeLog, SqliteTable};
use shared::store::table::{
    Action, Change, Check, Compare, Condition, Delete, Index, Item, Key, Put, Query, QueryPage,
    Read, Returns, SortRange, Table, TableError, Update, UpdateAction, Value,
};

/// The seed every run starts from (override with `PROPTEST_RNG_SEED`).
const SEED: u64 = 0x7ab1_e0d1_ff00_0001;
/// Cases per run (override with `PROPTEST_CASES`).
const CASES: u32 = 256;
/// The most operations in one case (override with `TABLE_DIFF_OPS`).
const OPS: usize = 40;
/// Pages one query may take before the test calls it a loop.
const MAX_PAGES: usize = 40;

// ---------------------------------------------------------------------------------------------
// The engines
// ---------------------------------------------------------------------------------------------

/// The DynamoDB endpoint the test command exported (DynamoDB Local). Never skipped: without one
/// the test fails and says how to start it.
fn emulator_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: run scripts/test, which starts DynamoDB Local \
             (or start it by hand: scripts/dynamodb-local 8125, then \
             AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8125 AWS_REGION=us-east-1 \
             AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test)"
        )
    })
}

async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    emulator_endpoint();
    aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await)
}

/// The one table every test of this file writes to (each under its own prefix).
static TABLE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
/// Distinguishes the prefixes of one run.
static NEXT_PREFIX: AtomicU64 = AtomicU64::new(0);

async fn shared_table(client: &aws_sdk_dynamodb::Client) -> String {
    TABLE
        .get_or_init(|| async {
            let name = format!("differential-{}", uuid::Uuid::new_v4().simple());
            dynamodb::create_table(client, &name)
                .await
                .expect("table created on DynamoDB Local");
            name
        })
        .await
        .clone()
}

/// The shared table's stream, read forward once, its changes kept by the case prefix of their
/// item's key until that case asks for them.
struct SharedStream {
    feed: StreamFeed,
    by_prefix: BTreeMap<String, Vec<Change>>,
}

static STREAM: tokio::sync::OnceCell<tokio::sync::Mutex<SharedStream>> =
    tokio::sync::OnceCell::const_new();

/// Each item's changes, in order: (old image, new image).
type ChangesByItem = BTreeMap<Key, Vec<(Option<Item>, Option<Item>)>>;

fn by_item(changes: Vec<Change>) -> ChangesByItem {
    let mut by_item: ChangesByItem = BTreeMap::new();
    for change in changes {
        let key = Key::of(change.item().expect("a change has an image")).expect("a keyed image");
        by_item
            .entry(key)
            .or_default()
            .push((change.old, change.new));
    }
    by_item
}

/// The case prefix (`t<n>-`) of a change's item.
fn prefix_of(change: &Change) -> String {
    let pk = change
        .item()
        .and_then(|item| Key::of(item).ok())
        .map(|key| key.pk)
        .unwrap_or_default();
    match pk.split_once('-') {
        Some((case, _)) => format!("{case}-"),
        None => pk,
    }
}

/// Both engines, empty as far as this prefix goes.
struct Pair {
    dynamo: DynamoTable,
    sqlite: SqliteTable,
    /// The embedded engine's change log, as this test reads it.
    changes: ChangeLog,
    /// Prepended to every table partition key and index partition value.
    prefix: String,
    _dir: tempfile::TempDir,
}

impl Pair {
    async fn new() -> Self {
        let client = dynamo_client().await;
        let table = shared_table(&client).await;
        Self::on(client, table)
    }

    fn on(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteTable::open(&dir.path().join("table.db")).expect("SQLite table opens");
        let changes = sqlite.change_log("differential").expect("change log");
        let n = NEXT_PREFIX.fetch_add(1, Ordering::Relaxed);
        Self {
            dynamo: DynamoTable::new(client, table),
            sqlite,
            changes,
            prefix: format!("t{n}-"),
            _dir: dir,
        }
    }

    /// A table partition key under this pair's prefix.
    fn pk(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn key(&self, pk: &str, sk: &str) -> Key {
        Key::new(self.pk(pk), sk)
    }

    /// Runs `call` on both engines: both answers if they agree, a description if not.
    async fn check(&self, call: &Call) -> Result<Outcome, String> {
        let dynamo = run(&self.dynamo, call).await;
        let sqlite = run(&self.sqlite, call).await;
        if same(&dynamo, &sqlite) {
            Ok(Outcome::of(&dynamo))
        } else {
            Err(format!(
                "the engines disagree on\n  {call:?}\nDynamoDB Local: {}\nSQLite:         {}",
                show(&dynamo),
                show(&sqlite)
            ))
        }
    }

    /// Every page of `query` on both engines, compared page by page (items, `scanned` and
    /// `last_key`), following `last_key` to the end.
    async fn query_all(&self, query: &Query) -> Result<(Outcome, usize, Vec<Item>), String> {
        let mut query = query.clone();
        let mut items = Vec::new();
        for page in 1..=MAX_PAGES {
            let outcome = self
                .check(&Call::Query(query.clone()))
                .await
                .map_err(|e| format!("page {page}: {e}"))?;
            let Outcome::Ok(Answer::Page(QueryPage {
                items: got,
                last_key,
                ..
            })) = outcome
            else {
                return Ok((outcome, page, items));
            };
            items.extend(got);
            match last_key {
                None => return Ok((Outcome::Ok(Answer::Done), page, items)),
                Some(last) => query.start = Some(last),
            }
        }
        Err(format!("{query:?} still had pages after {MAX_PAGES}"))
    }

    /// The changes each engine's stream carried for this case: DynamoDB Local's stream of the
    /// shared table (this prefix's share) and the SQLite change log, item by item.
    async fn compare_changes(&self) -> Result<(), String> {
        let sqlite = by_item(crate::support::read_all(&self.changes).await);
        let stream = STREAM
            .get_or_try_init(|| async {
                let sdk = aws_config::load_from_env().await;
                let table = shared_table(&dynamo_client().await).await;
                let feed = StreamFeed::of_table(&sdk, &table).await?;
                Ok::<_, TableError>(tokio::sync::Mutex::new(SharedStream {
                    feed,
                    by_prefix: BTreeMap::new(),
                }))
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut stream = stream.lock().await;
        let mut dynamo = Vec::new();
        // A record can reach the stream a moment after its write answered: read again briefly
        // before calling a difference one.
        for attempt in 0..5 {
            for change in crate::support::read_all(&stream.feed).await {
                stream
                    .by_prefix
                    .entry(prefix_of(&change))
                    .or_default()
                    .push(change);
            }
            dynamo.extend(stream.by_prefix.remove(&self.prefix).unwrap_or_default());
            if by_item(dynamo.clone()) == sqlite || attempt == 4 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let dynamo = by_item(dynamo);
        if dynamo == sqlite {
            return Ok(());
        }
        for key in dynamo.keys().chain(sqlite.keys()) {
            if dynamo.get(key) != sqlite.get(key) {
                return Err(format!(
                    "the streams disagree on {key:?}\nDynamoDB Local: {:?}\nSQLite:         {:?}",
                    dynamo.get(key),
                    sqlite.get(key)
                ));
            }
        }
        unreachable!("different maps differ at some key")
    }

    /// Whole contents under this prefix: every table partition and every index partition the
    /// generator uses, read to the end on both engines (consistent on the table).
    async fn compare_contents(&self) -> Result<(), String> {
        let mut queries: Vec<Query> = (0..TABLE_PARTITIONS)
            .map(|p| Query::table(self.pk(&format!("p{p}"))).consistent())
            .collect();
        for index in [Index::Gsi1, Index::Gsi2, Index::Gsi3] {
            for g in 0..GSI_PARTITIONS {
                queries.push(Query::on(index, self.pk(&format!("g{g}"))));
            }
        }
        for query in queries {
            self.query_all(&query)
                .await
                .map_err(|e| format!("after the case, reading the contents: {e}"))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Calls and answers
// ---------------------------------------------------------------------------------------------

/// One request to an engine.
#[derive(Debug, Clone)]
enum Call {
    Put(Put),
    Update(Update, Returns),
    Delete(Delete),
    Get(Key, Read),
    GetMany(Vec<Key>, Read, Option<Vec<String>>),
    Transact(Vec<Action>),
    Query(Query),
}

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Done,
    Item(Option<Item>),
    /// Sorted: a batch get answers in no particular order.
    Items(Vec<Item>),
    Page(QueryPage),
}

/// What both engines answered (they agreed).
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok(Answer),
    ConditionFailed(Vec<usize>),
    Validation,
    Other(&'static str),
}

impl Outcome {
    fn of(result: &Result<Answer, TableError>) -> Self {
        match result {
            Ok(answer) => Outcome::Ok(answer.clone()),
            Err(TableError::ConditionFailed(failed)) => Outcome::ConditionFailed(failed.clone()),
            Err(TableError::Validation(_)) => Outcome::Validation,
            Err(e) => Outcome::Other(variant(e)),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::ConditionFailed(_) => "condition failed",
            Outcome::Validation => "validation",
            Outcome::Other(variant) => variant,
        }
    }
}

fn variant(e: &TableError) -> &'static str {
    match e {
        TableError::ConditionFailed(_) => "ConditionFailed",
        TableError::Throttled(_) => "Throttled",
        TableError::Unavailable(_) => "Unavailable",
        TableError::Validation(_) => "Validation",
        TableError::Backend(_) => "Backend",
    }
}

fn same(a: &Result<Answer, TableError>, b: &Result<Answer, TableError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b,
        (Err(TableError::ConditionFailed(a)), Err(TableError::ConditionFailed(b))) => a == b,
        (Err(a), Err(b)) => variant(a) == variant(b),
        _ => false,
    }
}

fn show(result: &Result<Answer, TableError>) -> String {
    match result {
        Ok(answer) => format!("Ok({answer:?})"),
        Err(TableError::ConditionFailed(failed)) => format!("Err(ConditionFailed({failed:?}))"),
        Err(e) => {
            let mut text = format!("Err({}: {e}", variant(e));
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text + ")"
        }
    }
}

async fn run(table: &dyn Table, call: &Call) -> Result<Answer, TableError> {
    Ok(match call {
        Call::Put(put) => {
            table.put(put.clone()).await?;
            Answer::Done
        }
        Call::Update(update, returns) => {
            Answer::Item(table.update(update.clone(), *returns).await?)
        }
        Call::Delete(delete) => {
            table.delete(delete.clone()).await?;
            Answer::Done
        }
        Call::Get(key, read) => Answer::Item(table.get(key, *read).await?),
        Call::GetMany(keys, read, attributes) => {
            let names: Option<Vec<&str>> = attributes
                .as_ref()
                .map(|names| names.iter().map(String::as_str).collect());
            let mut items = table.get_many(keys, *read, names.as_deref()).await?;
            items.sort();
            Answer::Items(items)
        }
        Call::Transact(actions) => {
            table.transact(actions.clone()).await?;
            Answer::Done
        }
        Call::Query(query) => Answer::Page(table.query(query).await?),
    })
}

// ---------------------------------------------------------------------------------------------
// What is generated
// ---------------------------------------------------------------------------------------------

/// Table partitions written (`p0`..); one more is queried and stays empty.
const TABLE_PARTITIONS: u8 = 4;
const WRITTEN_PARTITIONS: u8 = 3;
const SORT_KEYS: &[&str] = &["a", "a#1", "a#2", "b", "b#1", "c"];
/// Index partitions (`g0`, `g1`).
const GSI_PARTITIONS: u8 = 2;
/// Index sort keys are one of these followed by `|` and the item's key.
const GSI_STEMS: &[&str] = &["a", "a#1", "b", "c"];
const GSI_PK: [&str; 3] = ["GSI1PK", "GSI2PK", "GSI3PK"];
const GSI_SK: [&str; 3] = ["GSI1SK", "GSI2SK", "GSI3SK"];
/// Plain attributes (`a`, `b`, `n`) and ones the indexes project (`status`, `title`, `version`).
const ATTRIBUTES: &[&str] = &["a", "b", "n", "status", "title", "version"];
const TTL: &str = "ttl";
/// 2100-01-01 in epoch seconds: a TTL no run will see expire.
const TTL_BASE: i64 = 4_102_444_800;
/// What conditions look at (`b` is often missing; `PK` and `SK` are always there).
const CONDITION_NAMES: &[&str] = &["PK", "SK", "a", "b", "n", "status", "ttl", "GSI1PK"];
/// What query filters look at: never a key of the table or of an index.
const FILTER_NAMES: &[&str] = &["a", "b", "n", "status", "title", "version", "ttl"];
/// What index query filters look at: projected attributes (a filter on another one is refused).
const INDEX_FILTER_NAMES: &[&str] = &["status", "title", "version"];
/// What attribute lists name.
const PROJECTION_NAMES: &[&str] = &[
    "PK", "SK", "a", "n", "status", "title", "ttl", "GSI1PK", "GSI1SK", "GSI2SK",
];
/// What attribute lists of index queries name: what every index projects (another attribute
/// is refused).
const INDEX_PROJECTION_NAMES: &[&str] = &["PK", "SK", "status", "title", "version"];
const STRINGS: &[&str] = &["", "a", "a#1", "ab", "b", "é", "😀"];
const NUMBERS: &[i64] = &[-1, 0, 1, 2, 10];
const PREFIXES: &[&str] = &["", "a", "a#", "b", "t"];
/// Sort-key bounds of table queries.
const TABLE_BOUNDS: &[&str] = &["a", "a#", "a#1", "a#2", "b", "b#1", "c", "0", "z"];
/// Sort-key bounds of index queries.
const GSI_BOUNDS: &[&str] = &["a", "a#1", "a|", "a|p1", "b", "b|p0/a", "c", "z"];

/// A key before the prefix: partition `p<p>`, sort key `s`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct K {
    p: u8,
    s: &'static str,
}

impl std::fmt::Debug for K {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{}/{:?}", self.p, self.s)
    }
}

/// A value before the prefix.
#[derive(Clone, Debug)]
enum Val {
    V(Value),
    /// The index partition `g<n>` (prefixed).
    GsiPart(u8),
    /// An index sort key: the stem, `|` and the item's key (unique per item).
    GsiSort(&'static str),
    /// `TTL_BASE` plus this.
    Ttl(i64),
}

#[derive(Clone, Debug)]
enum Act {
    Set(&'static str, Val),
    SetIfAbsent(&'static str, Val),
    Remove(&'static str),
    Add(&'static str, i64),
}

impl Act {
    fn name(&self) -> &'static str {
        match self {
            Act::Set(name, _)
            | Act::SetIfAbsent(name, _)
            | Act::Remove(name)
            | Act::Add(name, _) => name,
        }
    }
}

#[derive(Clone, Debug)]
struct PutSpec {
    key: K,
    fields: Vec<(&'static str, Val)>,
    when: Option<Condition>,
}

#[derive(Clone, Debug)]
struct UpdateSpec {
    key: K,
    actions: Vec<Act>,
    when: Option<Condition>,
}

#[derive(Clone, Debug)]
struct DeleteSpec {
    key: K,
    when: Option<Condition>,
}

#[derive(Clone, Debug)]
enum TxSpec {
    Put(PutSpec),
    Update(UpdateSpec),
    Delete(DeleteSpec),
    Check(K, Condition),
}

impl TxSpec {
    fn key(&self) -> &K {
        match self {
            TxSpec::Put(put) => &put.key,
            TxSpec::Update(update) => &update.key,
            TxSpec::Delete(delete) => &delete.key,
            TxSpec::Check(key, _) => key,
        }
    }
}

#[derive(Clone, Debug)]
struct QuerySpec {
    index: Index,
    /// `p<n>` on the table, `g<n>` on an index.
    partition: u8,
    sort: SortRange,
    filter: Option<Condition>,
    forward: bool,
    limit: Option<u32>,
    read: Read,
    attributes: Option<Vec<&'static str>>,
    start: Option<StartSpec>,
}

/// Where a query starts without a page before it: after the table key `key`, in the queried
/// partition unless `elsewhere` (refused by DynamoDB); on an index, after the entry that key
/// would have there with the index sort-key stem `stem` (so never a tie with another entry).
#[derive(Clone, Debug)]
struct StartSpec {
    key: K,
    stem: &'static str,
    elsewhere: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Put(PutSpec),
    Update(UpdateSpec, Returns),
    Delete(DeleteSpec),
    Get(K, Read),
    GetMany(Vec<K>, Read, Option<Vec<&'static str>>),
    Transact(Vec<TxSpec>),
    Query(QuerySpec),
}

impl Op {
    fn kind(&self) -> String {
        let when = |c: &Option<Condition>| if c.is_some() { " with condition" } else { "" };
        match self {
            Op::Put(put) => format!("put{}", when(&put.when)),
            Op::Update(update, returns) => {
                format!("update{} returning {returns:?}", when(&update.when))
            }
            Op::Delete(delete) => format!("delete{}", when(&delete.when)),
            Op::Get(_, read) => format!("get {read:?}"),
            Op::GetMany(_, _, names) => format!(
                "get_many{}",
                if names.is_some() {
                    " with attributes"
                } else {
                    ""
                }
            ),
            Op::Transact(actions) => format!("transact of {}", actions.len()),
            Op::Query(query) => format!(
                "query {:?}{}",
                query.index,
                if query.filter.is_some() {
                    " filtered"
                } else {
                    ""
                }
            ),
        }
    }
}

// Materialising: the same request for both engines, under the pair's prefix.
impl Pair {
    fn k(&self, key: &K) -> Key {
        self.key(&format!("p{}", key.p), key.s)
    }

    fn val(&self, key: &K, val: &Val) -> Value {
        match val {
            Val::V(value) => value.clone(),
            Val::GsiPart(g) => Value::S(self.pk(&format!("g{g}"))),
            Val::GsiSort(stem) => Value::S(format!("{stem}|p{}/{}", key.p, key.s)),
            Val::Ttl(d) => Value::N(TTL_BASE + d),
        }
    }

    fn put_of(&self, spec: &PutSpec) -> Put {
        let mut item = self.k(&spec.key).to_item();
        for (name, val) in &spec.fields {
            item.insert((*name).to_owned(), self.val(&spec.key, val));
        }
        Put {
            item,
            condition: spec.when.clone(),
        }
    }

    fn update_of(&self, spec: &UpdateSpec) -> Update {
        let actions = spec
            .actions
            .iter()
            .map(|act| match act {
                Act::Set(name, val) => UpdateAction::Set((*name).into(), self.val(&spec.key, val)),
                Act::SetIfAbsent(name, val) => {
                    UpdateAction::SetIfAbsent((*name).into(), self.val(&spec.key, val))
                }
                Act::Remove(name) => UpdateAction::Remove((*name).into()),
                Act::Add(name, by) => UpdateAction::Add((*name).into(), *by),
            })
            .collect();
        Update {
            key: self.k(&spec.key),
            actions,
            condition: spec.when.clone(),
        }
    }

    fn delete_of(&self, spec: &DeleteSpec) -> Delete {
        Delete {
            key: self.k(&spec.key),
            condition: spec.when.clone(),
        }
    }

    fn query_of(&self, spec: &QuerySpec) -> Query {
        let partition = |n: u8| match spec.index {
            Index::Table => self.pk(&format!("p{n}")),
            _ => self.pk(&format!("g{n}")),
        };
        let start = spec.start.as_ref().map(|start| {
            let n = if start.elsewhere {
                spec.partition + 1
            } else {
                spec.partition
            };
            let (pk_name, sk_name) = key_names(spec.index);
            let mut item = self.k(&start.key).to_item();
            item.insert(pk_name.to_owned(), Value::S(partition(n)));
            if spec.index != Index::Table {
                item.insert(
                    sk_name.to_owned(),
                    self.val(&start.key, &Val::GsiSort(start.stem)),
                );
            }
            item
        });
        let partition = partition(spec.partition);
        Query {
            index: spec.index,
            partition,
            sort: spec.sort.clone(),
            filter: spec.filter.clone(),
            forward: spec.forward,
            limit: spec.limit,
            start,
            read: spec.read,
            attributes: spec
                .attributes
                .as_ref()
                .map(|names| names.iter().map(|n| (*n).to_owned()).collect()),
        }
    }

    fn call_of(&self, op: &Op) -> Call {
        match op {
            Op::Put(spec) => Call::Put(self.put_of(spec)),
            Op::Update(spec, returns) => Call::Update(self.update_of(spec), *returns),
            Op::Delete(spec) => Call::Delete(self.delete_of(spec)),
            Op::Get(key, read) => Call::Get(self.k(key), *read),
            Op::GetMany(keys, read, names) => Call::GetMany(
                keys.iter().map(|k| self.k(k)).collect(),
                *read,
                names
                    .as_ref()
                    .map(|names| names.iter().map(|n| (*n).to_owned()).collect()),
            ),
            Op::Transact(actions) => Call::Transact(
                actions
                    .iter()
                    .map(|action| match action {
                        TxSpec::Put(spec) => Action::Put(self.put_of(spec)),
                        TxSpec::Update(spec) => Action::Update(self.update_of(spec)),
                        TxSpec::Delete(spec) => Action::Delete(self.delete_of(spec)),
                        TxSpec::Check(key, condition) => Action::Check(Check {
                            key: self.k(key),
                            condition: condition.clone(),
                        }),
                    })
                    .collect(),
            ),
            Op::Query(spec) => Call::Query(self.query_of(spec)),
        }
    }
}

fn key() -> impl Strategy<Value = K> {
    let sort = prop_oneof![60 => select(SORT_KEYS), 1 => Just("")];
    (0..WRITTEN_PARTITIONS, sort).prop_map(|(p, s)| K { p, s })
}

fn string() -> impl Strategy<Value = Value> + Clone {
    select(STRINGS).prop_map(|s| Value::S(s.to_owned()))
}

fn number() -> impl Strategy<Value = Value> + Clone {
    select(NUMBERS).prop_map(Value::N)
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => string(),
        4 => number(),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
    .boxed()
}

fn value() -> BoxedStrategy<Value> {
    let list = vec(scalar(), 0..=2).prop_map(Value::L);
    prop_oneof![
        16 => scalar(),
        2 => list.clone(),
        1 => vec(prop_oneof![scalar(), list], 1..=2).prop_map(Value::L),
    ]
    .boxed()
}

/// A condition's operand: mostly one that orders (S, N), sometimes any.
fn operand() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => string(),
        3 => number(),
        1 => value(),
    ]
    .boxed()
}

fn ordered(pair: (Value, Value)) -> (Value, Value) {
    if pair.0 <= pair.1 {
        pair
    } else {
        (pair.1, pair.0)
    }
}

/// Between's bounds: mostly two of one type in order, sometimes anything (invalid on DynamoDB
/// when out of order or of different types).
fn bounds() -> BoxedStrategy<(Value, Value)> {
    prop_oneof![
        3 => (string(), string()).prop_map(ordered),
        3 => (number(), number()).prop_map(ordered),
        1 => (operand(), operand()),
    ]
    .boxed()
}

fn compare() -> impl Strategy<Value = Compare> {
    select(
        &[
            Compare::Eq,
            Compare::Ne,
            Compare::Lt,
            Compare::Le,
            Compare::Gt,
            Compare::Ge,
        ][..],
    )
}

/// One to three of `values`, or rarely none.
fn some<S>(values: S) -> BoxedStrategy<Vec<S::Value>>
where
    S: Strategy + 'static,
    S::Value: Clone,
{
    prop_oneof![16 => vec(values, 1..=3), 1 => Just(Vec::new())].boxed()
}

fn condition_on(names: &'static [&'static str]) -> BoxedStrategy<Condition> {
    let name = move || select(names).prop_map(str::to_owned);
    let leaf = prop_oneof![
        2 => name().prop_map(Condition::Exists),
        2 => name().prop_map(Condition::Absent),
        6 => (name(), compare(), operand()).prop_map(|(n, op, v)| Condition::Compare(n, op, v)),
        2 => (name(), bounds()).prop_map(|(n, (low, high))| Condition::Between(n, low, high)),
        2 => (name(), some(operand())).prop_map(|(n, values)| Condition::In(n, values)),
        2 => (name(), select(PREFIXES))
            .prop_map(|(n, prefix)| Condition::BeginsWith(n, prefix.to_owned())),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            1 => some(inner.clone()).prop_map(Condition::And),
            1 => some(inner.clone()).prop_map(Condition::Or),
            1 => inner.prop_map(|c| Condition::Not(Box::new(c))),
        ]
    })
    .boxed()
}

fn condition() -> BoxedStrategy<Condition> {
    condition_on(CONDITION_NAMES)
}

fn maybe_condition() -> impl Strategy<Value = Option<Condition>> {
    prop::option::weighted(0.5, condition())
}

/// A key attribute's value DynamoDB refuses (empty, or not a string).
fn bad_key_value() -> impl Strategy<Value = Val> {
    select(vec![
        Val::V(Value::S(String::new())),
        Val::V(Value::N(1)),
        Val::V(Value::Null),
        Val::V(Value::Bool(true)),
    ])
}

/// An attribute to write and its value.
fn field() -> BoxedStrategy<(&'static str, Val)> {
    let gsi_part = prop_oneof![
        30 => (0..GSI_PARTITIONS).prop_map(Val::GsiPart),
        1 => bad_key_value(),
    ];
    let gsi_sort = prop_oneof![
        30 => select(GSI_STEMS).prop_map(Val::GsiSort),
        1 => bad_key_value(),
    ];
    prop_oneof![
        8 => (select(ATTRIBUTES), value().prop_map(Val::V)),
        2 => prop_oneof![
            3 => (0..3i64).prop_map(Val::Ttl),
            1 => Just(Val::V(Value::S("soon".into()))),
        ]
        .prop_map(|v| (TTL, v)),
        3 => (0..3usize, gsi_part).prop_map(|(i, v)| (GSI_PK[i], v)),
        3 => (0..3usize, gsi_sort).prop_map(|(i, v)| (GSI_SK[i], v)),
    ]
    .boxed()
}

/// An index key given a value DynamoDB refuses (one not generated by `Val::GsiPart` or
/// `Val::GsiSort`; `Add` makes a number).
fn refused_index_value(name: &str, val: Option<&Val>) -> bool {
    let index_key = GSI_PK.contains(&name) || GSI_SK.contains(&name);
    index_key && matches!(val, None | Some(Val::V(_)))
}

/// Keeps the first of several refused index-key values in one write: which one DynamoDB Local
/// reports depends on the order it checks its indexes in (GSI2, GSI1, GSI3), and the answer
/// with it (an invalid request, or a cancellation that a failed condition elsewhere in the
/// transaction takes over) is no rule an engine should copy.
fn at_most_one_refused<T>(items: &mut Vec<T>, refused: impl Fn(&T) -> bool) {
    let mut seen = false;
    items.retain(|item| {
        if !refused(item) {
            return true;
        }
        !std::mem::replace(&mut seen, true)
    });
}

fn put_spec() -> impl Strategy<Value = PutSpec> {
    (key(), vec(field(), 0..=5), maybe_condition()).prop_map(|(key, mut fields, when)| {
        at_most_one_refused(&mut fields, |(name, val)| {
            refused_index_value(name, Some(val))
        });
        PutSpec { key, fields, when }
    })
}

fn update_action() -> BoxedStrategy<Act> {
    let every_name = prop_oneof![
        6 => select(ATTRIBUTES),
        1 => Just(TTL),
        2 => select(&GSI_PK[..]),
        2 => select(&GSI_SK[..]),
    ];
    // Adding to an index key is refused (it is a string, or becomes a number).
    let add_name = prop_oneof![
        10 => select(ATTRIBUTES),
        1 => Just(TTL),
        1 => select(&GSI_PK[..]),
        1 => select(&GSI_SK[..]),
    ];
    prop_oneof![
        18 => field().prop_map(|(n, v)| Act::Set(n, v)),
        6 => field().prop_map(|(n, v)| Act::SetIfAbsent(n, v)),
        9 => every_name.prop_map(Act::Remove),
        9 => (add_name, -2..=3i64).prop_map(|(n, by)| Act::Add(n, by)),
        // A key attribute: refused by DynamoDB.
        1 => select(&["PK", "SK"][..]).prop_map(|n| Act::Set(n, Val::V(Value::S("x".into())))),
    ]
    .boxed()
}

fn update_spec() -> impl Strategy<Value = UpdateSpec> {
    let actions = prop_oneof![
        // Two actions on one attribute (refused by DynamoDB) only when asked for.
        24 => vec(update_action(), 1..=3).prop_map(|mut actions| {
            let mut seen = Vec::new();
            actions.retain(|a| {
                let fresh = !seen.contains(&a.name());
                seen.push(a.name());
                fresh
            });
            actions
        }),
        1 => vec(update_action(), 2..=3),
        1 => Just(Vec::new()),
    ];
    (key(), actions, maybe_condition()).prop_map(|(key, mut actions, when)| {
        at_most_one_refused(&mut actions, |action| match action {
            Act::Set(name, val) | Act::SetIfAbsent(name, val) => {
                refused_index_value(name, Some(val))
            }
            Act::Add(name, _) => refused_index_value(name, None),
            Act::Remove(_) => false,
        });
        UpdateSpec { key, actions, when }
    })
}

fn delete_spec() -> impl Strategy<Value = DeleteSpec> {
    (key(), maybe_condition()).prop_map(|(key, when)| DeleteSpec { key, when })
}

fn tx_action() -> BoxedStrategy<TxSpec> {
    // Fewer conditions than single writes, so that longer transactions still go through.
    let rarely = |c: Option<Condition>, keep: bool| c.filter(|_| keep);
    prop_oneof![
        3 => (put_spec(), prop::bool::weighted(0.5))
            .prop_map(move |(s, keep)| TxSpec::Put(PutSpec { when: rarely(s.when, keep), ..s })),
        4 => (update_spec(), prop::bool::weighted(0.5)).prop_map(move |(s, keep)| {
            TxSpec::Update(UpdateSpec { when: rarely(s.when, keep), ..s })
        }),
        2 => (delete_spec(), prop::bool::weighted(0.5)).prop_map(move |(s, keep)| {
            TxSpec::Delete(DeleteSpec { when: rarely(s.when, keep), ..s })
        }),
        2 => (key(), condition()).prop_map(|(k, c)| TxSpec::Check(k, c)),
    ]
    .boxed()
}

fn transaction() -> impl Strategy<Value = Vec<TxSpec>> {
    prop_oneof![
        1 => Just(Vec::new()),
        // Each action on its own item.
        20 => vec(tx_action(), 1..=6).prop_map(|mut actions| {
            let mut seen = Vec::new();
            actions.retain(|a| {
                let fresh = !seen.contains(a.key());
                seen.push(a.key().clone());
                fresh
            });
            actions
        }),
        // Two on one item (refused by DynamoDB).
        2 => (vec(tx_action(), 1..=4), tx_action(), any::<prop::sample::Index>()).prop_map(
            |(mut actions, mut twin, at)| {
                let victim = at.get(&actions).key().clone();
                match &mut twin {
                    TxSpec::Put(s) => s.key = victim,
                    TxSpec::Update(s) => s.key = victim,
                    TxSpec::Delete(s) => s.key = victim,
                    TxSpec::Check(k, _) => *k = victim,
                }
                actions.push(twin);
                actions
            }
        ),
    ]
}

fn sort_range(bounds: &'static [&'static str]) -> BoxedStrategy<SortRange> {
    // An empty bound is refused by DynamoDB.
    let bound = move || prop_oneof![40 => select(bounds), 1 => Just("")].prop_map(str::to_owned);
    prop_oneof![
        2 => Just(SortRange::All),
        1 => bound().prop_map(SortRange::Eq),
        1 => bound().prop_map(SortRange::Lt),
        1 => bound().prop_map(SortRange::Le),
        1 => bound().prop_map(SortRange::Gt),
        1 => bound().prop_map(SortRange::Ge),
        2 => (bound(), bound(), prop::bool::weighted(0.85)).prop_map(|(low, high, in_order)| {
            if in_order && low > high {
                SortRange::Between(high, low)
            } else {
                SortRange::Between(low, high)
            }
        }),
        2 => bound().prop_map(SortRange::Prefix),
    ]
    .boxed()
}

fn read() -> impl Strategy<Value = Read> {
    prop_oneof![Just(Read::Consistent), Just(Read::Eventual)]
}

fn attribute_list() -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop::option::weighted(0.3, subsequence(PROJECTION_NAMES, 1..=3))
}

fn index_attribute_list() -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop::option::weighted(
        0.3,
        prop_oneof![
            6 => subsequence(INDEX_PROJECTION_NAMES, 1..=3),
            1 => subsequence(PROJECTION_NAMES, 1..=3),
        ],
    )
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    // On a key attribute: refused by DynamoDB.
    let key_filter = || condition_on(&["PK", "SK", "GSI1PK", "GSI1SK"]);
    let on_table = (
        Just(Index::Table),
        0..TABLE_PARTITIONS,
        sort_range(TABLE_BOUNDS),
        prop::option::weighted(
            0.35,
            prop_oneof![12 => condition_on(FILTER_NAMES), 1 => key_filter()],
        ),
        attribute_list(),
    );
    let on_index = (
        select(&[Index::Gsi1, Index::Gsi2, Index::Gsi3][..]),
        0..GSI_PARTITIONS,
        sort_range(GSI_BOUNDS),
        prop::option::weighted(
            0.35,
            prop_oneof![
                12 => condition_on(INDEX_FILTER_NAMES),
                // On an attribute the index does not project: refused by DynamoDB.
                2 => condition_on(FILTER_NAMES),
                1 => key_filter(),
            ],
        ),
        index_attribute_list(),
    );
    let start =
        (key(), select(GSI_STEMS), prop::bool::weighted(0.1)).prop_map(|(key, stem, elsewhere)| {
            StartSpec {
                key,
                stem,
                elsewhere,
            }
        });
    (
        prop_oneof![on_table, on_index],
        prop::option::weighted(0.15, start),
        any::<bool>(),
        // A limit of 0 is refused by DynamoDB.
        prop::option::weighted(0.8, prop_oneof![40 => 1..=5u32, 1 => Just(0)]),
        read(),
    )
        .prop_map(
            |((index, partition, sort, filter, attributes), start, forward, limit, read)| {
                QuerySpec {
                    index,
                    partition,
                    sort,
                    filter,
                    forward,
                    limit,
                    read,
                    attributes,
                    start,
                }
            },
        )
}

fn get_many_keys() -> impl Strategy<Value = Vec<K>> {
    prop_oneof![
        8 => vec(key(), 0..=5).prop_map(|mut keys| {
            keys.sort();
            keys.dedup();
            keys
        }),
        // The same key twice (refused by DynamoDB).
        1 => vec(key(), 1..=3).prop_map(|mut keys| {
            keys.push(keys[0].clone());
            keys
        }),
    ]
}

fn op() -> BoxedStrategy<Op> {
    prop_oneof![
        5 => put_spec().prop_map(Op::Put),
        6 => (
            update_spec(),
            select(&[Returns::Nothing, Returns::New, Returns::Old][..])
        )
            .prop_map(|(spec, returns)| Op::Update(spec, returns)),
        2 => delete_spec().prop_map(Op::Delete),
        2 => (key(), read()).prop_map(|(k, r)| Op::Get(k, r)),
        2 => (get_many_keys(), read(), attribute_list())
            .prop_map(|(keys, r, names)| Op::GetMany(keys, r, names)),
        3 => transaction().prop_map(Op::Transact),
        5 => query_spec().prop_map(Op::Query),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// Tallies of one run: operations by kind and what both engines answered.
#[derive(Default)]
struct Tally {
    cases: u64,
    ops: u64,
    requests: u64,
    by_kind: BTreeMap<String, BTreeMap<&'static str, u64>>,
}

static TALLY: LazyLock<Mutex<Tally>> = LazyLock::new(Default::default);

/// Runs one case on a fresh pair; the first disagreement, described.
async fn run_case(pair: &Pair, ops: &[Op]) -> Result<(Vec<(String, &'static str)>, u64), String> {
    let mut seen = Vec::new();
    let mut requests = 0;
    for (i, op) in ops.iter().enumerate() {
        let call = pair.call_of(op);
        let outcome = match &call {
            Call::Query(query) => {
                let (outcome, pages, _) = pair
                    .query_all(query)
                    .await
                    .map_err(|e| format!("operation {i} ({}): {e}", op.kind()))?;
                requests += pages as u64;
                outcome
            }
            _ => {
                requests += 1;
                pair.check(&call)
                    .await
                    .map_err(|e| format!("operation {i} ({}): {e}", op.kind()))?
            }
        };
        seen.push((op.kind(), outcome.label()));
    }
    pair.compare_contents().await?;
    pair.compare_changes().await?;
    Ok((seen, requests))
}

#[test]
fn sqlite_answers_as_dynamodb_does() {
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime"),
    );
    let (client, table) = runtime.block_on(async {
        let client = dynamo_client().await;
        let table = shared_table(&client).await;
        (client, table)
    });

    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    config.failure_persistence = None;
    config.max_shrink_iters = 4096;
    let ops: usize = std::env::var("TABLE_DIFF_OPS")
        .ok()
        .map(|n| n.parse().expect("TABLE_DIFF_OPS is a number"))
        .unwrap_or(OPS);
    let (cases, seed) = (config.cases, config.rng_seed);

    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&vec(op(), 1..=ops), |case| {
        let pair = Pair::on(client.clone(), table.clone());
        let (seen, requests) = runtime
            .block_on(run_case(&pair, &case))
            .map_err(TestCaseError::fail)?;
        let mut tally = TALLY.lock().unwrap();
        tally.cases += 1;
        tally.ops += seen.len() as u64;
        tally.requests += requests;
        for (kind, label) in seen {
            *tally
                .by_kind
                .entry(kind)
                .or_default()
                .entry(label)
                .or_default() += 1;
        }
        Ok(())
    });
    let elapsed = started.elapsed();

    let tally = TALLY.lock().unwrap();
    println!(
        "table differential: {} passing case runs (config: {cases} cases of up to {ops} operations, \
         seed {seed:?}), {} operations, {} requests to each engine (every query page counted, \
         the closing reads of each case not), {:.1} s",
        tally.cases,
        tally.ops,
        tally.requests,
        elapsed.as_secs_f64()
    );
    for (kind, labels) in &tally.by_kind {
        let total: u64 = labels.values().sum();
        let detail: Vec<String> = labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
        println!("  {kind:<42} {total:>5}  ({})", detail.join(", "));
    }
    drop(tally);

    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, ops)) => {
            panic!(
                "{reason}\n\nminimal failing sequence ({} operations):\n{ops:#?}",
                ops.len()
            )
        }
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: discrepancies found by the generator, one behaviour each
// ---------------------------------------------------------------------------------------------

/// Runs `call` on both engines and answers what they agreed on (panics if they did not).
async fn agreed(pair: &Pair, call: Call) -> Outcome {
    pair.check(&call).await.unwrap_or_else(|e| panic!("{e}"))
}

/// Both engines' answers to every page of `query`, which must agree; the items of all pages.
async fn agreed_query(pair: &Pair, query: Query) -> Vec<Item> {
    match pair.query_all(&query).await {
        Ok((Outcome::Ok(_), _, items)) => items,
        Ok((outcome, ..)) => panic!("{query:?} failed on both engines: {outcome:?}"),
        Err(e) => panic!("{e}"),
    }
}

/// `Read` promises that index reads are eventually consistent, whatever the query asks:
/// DynamoDB refuses a consistent read of a global secondary index, so the DynamoDB engine sends
/// none, and a consistent query of an index reads it like any other.
#[tokio::test]
async fn a_consistent_query_of_an_index_reads_it_eventually() {
    let pair = Pair::new().await;
    let key = pair.key("p0", "a");
    let item = shared::store::table::item(
        &key,
        [
            ("GSI1PK", Value::S(pair.pk("g0"))),
            ("GSI1SK", Value::S("a|p0/a".into())),
            ("status", Value::S("live".into())),
        ],
    );
    agreed(&pair, Call::Put(Put::new(item))).await;
    let items = agreed_query(&pair, Query::on(Index::Gsi1, pair.pk("g0")).consistent()).await;
    assert_eq!(items.len(), 1);
}

/// Two actions on one item make a transaction invalid (`TableError::Validation`), whether or
/// not a condition of either would fail: the rule is about the request, checked before any
/// item is read. (DynamoDB Local answers a failed condition on one of the two instead.)
#[tokio::test]
async fn two_actions_on_one_item_are_invalid_even_when_a_condition_fails() {
    let pair = Pair::new().await;
    let key = pair.key("p0", "a");
    let fails = Condition::exists("missing");
    let transactions: Vec<Vec<Action>> = vec![
        vec![
            Put::new(key.to_item()).into(),
            Delete::new(key.clone()).when(fails.clone()).into(),
        ],
        vec![
            Check {
                key: key.clone(),
                condition: fails.clone(),
            }
            .into(),
            Put::new(key.to_item()).into(),
        ],
        vec![
            Put::new(key.to_item()).when(fails.clone()).into(),
            Delete::new(key.clone()).when(fails).into(),
        ],
        vec![
            Put::new(key.to_item()).into(),
            Delete::new(key.clone()).into(),
        ],
    ];
    for actions in transactions {
        let outcome = agreed(&pair, Call::Transact(actions.clone())).await;
        assert_eq!(outcome, Outcome::Validation, "{actions:?}");
    }
}

/// DynamoDB requires an update expression in a transaction's update, so an update of no
/// actions there is invalid (a single `update` of none is not: it creates the bare item).
/// The request is refused as a whole, before any condition is looked at.
#[tokio::test]
async fn a_transaction_update_of_no_actions_is_invalid() {
    let pair = Pair::new().await;
    let empty: Action = Update::new(pair.key("p0", "a")).into();
    let outcome = agreed(&pair, Call::Transact(vec![empty.clone()])).await;
    assert_eq!(outcome, Outcome::Validation);
    let failing: Action = Put::new(pair.key("p0", "b").to_item())
        .when(Condition::exists("missing"))
        .into();
    let outcome = agreed(&pair, Call::Transact(vec![empty, failing])).await;
    assert_eq!(outcome, Outcome::Validation);
    let contents = agreed_query(&pair, Query::table(pair.pk("p0")).consistent()).await;
    assert!(contents.is_empty(), "{contents:?}");
}

/// A batch get may name a key twice: the item comes back once (DynamoDB refuses such a
/// request, so the DynamoDB engine sends each key once).
#[tokio::test]
async fn a_batch_get_naming_a_key_twice_answers_the_item_once() {
    let pair = Pair::new().await;
    let key = pair.key("p0", "a");
    agreed(&pair, Call::Put(Put::new(key.to_item()))).await;
    for read in [Read::Consistent, Read::Eventual] {
        let outcome = agreed(
            &pair,
            Call::GetMany(vec![key.clone(), key.clone()], read, None),
        )
        .await;
        assert_eq!(outcome, Outcome::Ok(Answer::Items(vec![key.to_item()])));
    }
    let missing = pair.key("p0", "b");
    let outcome = agreed(
        &pair,
        Call::GetMany(vec![missing.clone(), missing], Read::Consistent, None),
    )
    .await;
    assert_eq!(outcome, Outcome::Ok(Answer::Items(vec![])));
}

/// A page of a table query that ends on the sort key its range includes last in the direction
/// read (`Le` or `Between`'s high end forward, `Ge` or `Between`'s low end backward) is the last
/// page: DynamoDB answers no `last_key` there (sort keys are unique in a table partition). An
/// `Eq` range, an open end, and an index (whose sort keys may repeat) still answer one.
#[tokio::test]
async fn a_table_page_ending_on_the_last_sort_key_its_range_includes_is_the_last() {
    let pair = Pair::new().await;
    for sk in ["b", "c"] {
        agreed(&pair, Call::Put(Put::new(pair.key("p0", sk).to_item()))).await;
    }
    let s = |v: &str| v.to_owned();
    // (range, forward, limit, sort key of the last_key answered)
    let cases = [
        (SortRange::Le(s("c")), true, 2, None),
        (SortRange::Between(s("a"), s("c")), true, 2, None),
        (SortRange::Between(s("b"), s("c")), true, 2, None),
        (SortRange::Ge(s("b")), false, 2, None),
        (SortRange::Between(s("b"), s("d")), false, 2, None),
        (SortRange::Between(s("b"), s("c")), false, 2, None),
        (SortRange::Le(s("c")), true, 1, Some("b")),
        (SortRange::Le(s("c")), false, 2, Some("b")),
        (SortRange::Lt(s("d")), true, 2, Some("c")),
        (SortRange::All, true, 2, Some("c")),
        (SortRange::Eq(s("c")), true, 1, Some("c")),
        (SortRange::Prefix(s("c")), true, 1, Some("c")),
    ];
    for (sort, forward, limit, last) in cases {
        let query = Query {
            forward,
            ..Query::table(pair.pk("p0"))
                .sort(sort)
                .limit(limit)
                .consistent()
        };
        let Outcome::Ok(Answer::Page(page)) = agreed(&pair, Call::Query(query.clone())).await
        else {
            panic!("{query:?} failed");
        };
        let answered = page.last_key.map(|key| key["SK"].clone());
        assert_eq!(answered, last.map(Value::from), "{query:?}");
    }
}

/// The other side of the rule above: a query may not start at the sort key its range includes
/// last in the direction read (DynamoDB: "the provided starting key does not match the range
/// key predicate"), as no page ever ends there with a `last_key`; an `Eq` range may.
#[tokio::test]
async fn a_query_may_not_start_at_the_last_sort_key_its_range_includes() {
    let pair = Pair::new().await;
    for sk in ["a", "b", "c"] {
        agreed(&pair, Call::Put(Put::new(pair.key("p0", sk).to_item()))).await;
    }
    let s = |v: &str| v.to_owned();
    // (range, forward, start, sort keys answered, or None for a refusal)
    let cases = [
        (SortRange::Le(s("b")), true, "b", None),
        (SortRange::Ge(s("b")), false, "b", None),
        (SortRange::Between(s("b"), s("c")), true, "c", None),
        (SortRange::Between(s("b"), s("c")), false, "b", None),
        (SortRange::Between(s("a"), s("b")), true, "b", None),
        (SortRange::Between(s("a"), s("b")), false, "a", None),
        (SortRange::Le(s("b")), false, "b", Some(vec!["a"])),
        (SortRange::Ge(s("b")), true, "b", Some(vec!["c"])),
        (
            SortRange::Between(s("b"), s("c")),
            true,
            "b",
            Some(vec!["c"]),
        ),
        (SortRange::Eq(s("b")), true, "b", Some(vec![])),
        (SortRange::Prefix(s("b")), true, "b", Some(vec![])),
    ];
    for (sort, forward, start, answer) in cases {
        let query = Query {
            forward,
            ..Query::table(pair.pk("p0"))
                .sort(sort)
                .start(Some(pair.key("p0", start).to_item()))
                .consistent()
        };
        let expected = match answer {
            None => Outcome::Validation,
            Some(sort_keys) => Outcome::Ok(Answer::Page(QueryPage {
                items: sort_keys
                    .iter()
                    .map(|sk| pair.key("p0", sk).to_item())
                    .collect(),
                scanned: sort_keys.len() as u32,
                last_key: None,
            })),
        };
        assert_eq!(
            agreed(&pair, Call::Query(query.clone())).await,
            expected,
            "{query:?}"
        );
    }
}

/// A start key is a key: an empty string in any of its attributes is refused, as in any other
/// key (DynamoDB: "the provided starting key is invalid").
#[tokio::test]
async fn a_start_key_with_an_empty_key_value_is_refused() {
    let pair = Pair::new().await;
    let item = shared::store::table::item(
        &pair.key("p0", "a"),
        [
            ("GSI1PK", Value::S(pair.pk("g0"))),
            ("GSI1SK", Value::S("a|p0/a".into())),
        ],
    );
    agreed(&pair, Call::Put(Put::new(item.clone()))).await;
    let with = |name: &str| {
        let mut start = item.clone();
        start.insert(name.to_owned(), Value::S(String::new()));
        start
    };
    let queries = [
        Query::table(pair.pk("p0")).start(Some(pair.key("p0", "").to_item())),
        Query::on(Index::Gsi1, pair.pk("g0")).start(Some(with("GSI1SK"))),
        Query::on(Index::Gsi1, pair.pk("g0")).start(Some(with("SK"))),
        Query::on(Index::Gsi1, pair.pk("g0")).start(Some(with("PK"))),
    ];
    for query in queries {
        assert_eq!(
            agreed(&pair, Call::Query(query.clone())).await,
            Outcome::Validation,
            "{query:?}"
        );
    }
}

/// A transaction of no actions does nothing and succeeds (the interface bounds a transaction
/// at `MAX_TRANSACTION_ACTIONS`, not below; the DynamoDB engine sends no request for it).
#[tokio::test]
async fn an_empty_transaction_does_nothing() {
    let pair = Pair::new().await;
    assert_eq!(
        agreed(&pair, Call::Transact(Vec::new())).await,
        Outcome::Ok(Answer::Done)
    );
}

/// `And` of nothing holds, `Or` of nothing and `In` of no values do not, as a write's condition
/// and as an index query's filter; both engines answer alike as a table query's filter too
/// (where the DynamoDB engine's rendering names `PK`, which such a filter may not).
#[tokio::test]
async fn an_empty_and_holds_and_an_empty_or_or_in_does_not() {
    let pair = Pair::new().await;
    let key = pair.key("p0", "a");
    let item = shared::store::table::item(
        &key,
        [
            ("GSI1PK", Value::S(pair.pk("g0"))),
            ("GSI1SK", Value::S("a|p0/a".into())),
        ],
    );
    agreed(&pair, Call::Put(Put::new(item.clone()))).await;
    let cases = [
        (Condition::And(vec![]), true),
        (Condition::Or(vec![]), false),
        (Condition::In("status".into(), vec![]), false),
        (Condition::Not(Box::new(Condition::And(vec![]))), false),
        (
            Condition::Or(vec![Condition::And(vec![]), Condition::exists("status")]),
            true,
        ),
    ];
    for (condition, holds) in cases {
        let write = agreed(
            &pair,
            Call::Put(Put::new(item.clone()).when(condition.clone())),
        )
        .await;
        let expected = if holds {
            Outcome::Ok(Answer::Done)
        } else {
            Outcome::ConditionFailed(vec![0])
        };
        assert_eq!(write, expected, "{condition:?}");
        let index = Query::on(Index::Gsi1, pair.pk("g0")).filter(Some(condition.clone()));
        let found = agreed_query(&pair, index).await;
        assert_eq!(found.len(), usize::from(holds), "{condition:?}");
        let table = Query::table(pair.pk("p0")).filter(Some(condition.clone()));
        pair.query_all(&table)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
