//! Reading and writing attribute maps.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The TTL attribute is in seconds; the store keeps milliseconds elsewhere.
pub fn ttl_from_ms(ms: i64) -> AttributeValue {
    n(ms.div_euclid(1000) + 1)
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

fn malformed(name: &str) -> StoreError {
    StoreError::backend(format!("stored item has a missing or malformed `{name}`"))
}

pub fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(malformed(name)),
    }
}

pub fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    get_opt_n(item, name)?.ok_or_else(|| malformed(name))
}

pub fn get_opt_n<T: FromStr>(item: &Item, name: &str) -> Result<Option<T>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| malformed(name)),
        Some(_) => Err(malformed(name)),
    }
}

/// A stored text that no longer parses as its domain type.
pub fn corrupt(e: crate::domain::Invalid) -> StoreError {
    StoreError::backend(format!("stored item holds an invalid value: {}", e.message))
}
