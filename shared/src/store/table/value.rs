//! What an item holds: named attributes of a few types, the ones the store writes.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::TableError;
use super::schema::{PARTITION_KEY, SORT_KEY};

/// One attribute's value. Numbers are 64-bit integers: the store keeps counts, versions and
/// epoch milliseconds, never fractions, and never near `i64::MAX` (an `Add` past it is refused by
/// the embedded engine, while DynamoDB would store a number that no longer reads back).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    S(String),
    N(i64),
    Bool(bool),
    Null,
    L(Vec<Value>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::S(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::S(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::S(v.clone())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::N(v as i64)
            }
        }
    )*};
}
number!(i64, i32, u32, u64, usize);

/// An item: attribute name to value, in name order (so two engines' answers compare as equal).
pub type Item = BTreeMap<String, Value>;

/// The table key of one item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key as the two attributes an item carries.
    pub fn to_item(&self) -> Item {
        Item::from([
            (PARTITION_KEY.to_owned(), Value::S(self.pk.clone())),
            (SORT_KEY.to_owned(), Value::S(self.sk.clone())),
        ])
    }

    /// The key of a stored item.
    pub fn of(item: &Item) -> Result<Self, TableError> {
        Ok(Self {
            pk: get_s(item, PARTITION_KEY)?,
            sk: get_s(item, SORT_KEY)?,
        })
    }
}

/// An item with this key and these attributes.
pub fn item<const N: usize>(key: &Key, attributes: [(&str, Value); N]) -> Item {
    let mut item = key.to_item();
    for (name, value) in attributes {
        item.insert(name.to_owned(), value);
    }
    item
}

fn malformed(name: &str) -> TableError {
    TableError::Backend(format!("stored item has a missing or malformed `{name}`").into())
}

pub fn get_s(item: &Item, name: &str) -> Result<String, TableError> {
    match item.get(name) {
        Some(Value::S(v)) => Ok(v.clone()),
        _ => Err(malformed(name)),
    }
}

pub fn get_opt_s(item: &Item, name: &str) -> Result<Option<String>, TableError> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(malformed(name)),
    }
}

pub fn get_n<T: TryFrom<i64>>(item: &Item, name: &str) -> Result<T, TableError> {
    get_opt_n(item, name)?.ok_or_else(|| malformed(name))
}

pub fn get_opt_n<T: TryFrom<i64>>(item: &Item, name: &str) -> Result<Option<T>, TableError> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::N(v)) => T::try_from(*v).map(Some).map_err(|_| malformed(name)),
        Some(_) => Err(malformed(name)),
    }
}

/// A flag; absent reads as false.
pub fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(Value::Bool(true)))
}

/// A list of strings; absent reads as empty.
pub fn get_strings(item: &Item, name: &str) -> Result<Vec<String>, TableError> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::L(values)) => values
            .iter()
            .map(|v| match v {
                Value::S(s) => Ok(s.clone()),
                _ => Err(malformed(name)),
            })
            .collect(),
        Some(_) => Err(malformed(name)),
    }
}

/// A stored text parsed into its type (`corrupt` when it no longer parses).
pub fn get_parsed<T: FromStr>(item: &Item, name: &str) -> Result<T, TableError> {
    get_s(item, name)?.parse().map_err(|_| malformed(name))
}

/// The TTL attribute is in seconds; the store keeps milliseconds elsewhere.
pub fn ttl_from_ms(ms: i64) -> Value {
    Value::N(ms.div_euclid(1000) + 1)
}

/// The size DynamoDB counts for an item: each attribute's name and value, in UTF-8 bytes
/// (a number counts as its digits, roughly: one byte per two digits plus one).
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::S(s) => s.len(),
        Value::N(n) => n.unsigned_abs().to_string().len().div_ceil(2) + 1,
        Value::Bool(_) | Value::Null => 1,
        Value::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
    }
}
