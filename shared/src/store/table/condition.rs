//! Typed conditions: what must hold of an item for a write to apply, or for a query to return
//! it (a filter). Engines render or evaluate them; nothing above the table writes an expression.
//!
//! Semantics are DynamoDB's: a comparison with a missing attribute, or with a value of another
//! type, is false (`Ne` with a missing attribute is true); strings compare by UTF-8 bytes,
//! numbers by value. A condition on an item that does not exist sees no attributes.

use super::schema::PARTITION_KEY;
use super::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The attribute is present (any type, `Null` included).
    Exists(String),
    /// The attribute is absent.
    Absent(String),
    Compare(String, Compare, Value),
    /// `low <= attribute <= high`.
    Between(String, Value, Value),
    /// Equal to one of the values (at most 100).
    In(String, Vec<Value>),
    /// A string attribute starting with the prefix.
    BeginsWith(String, String),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// The item exists.
    pub fn item_exists() -> Self {
        Self::Exists(PARTITION_KEY.to_owned())
    }

    /// No item has this key yet.
    pub fn item_absent() -> Self {
        Self::Absent(PARTITION_KEY.to_owned())
    }

    pub fn exists(name: &str) -> Self {
        Self::Exists(name.to_owned())
    }

    pub fn absent(name: &str) -> Self {
        Self::Absent(name.to_owned())
    }

    pub fn eq(name: &str, value: impl Into<Value>) -> Self {
        Self::Compare(name.to_owned(), Compare::Eq, value.into())
    }

    pub fn ne(name: &str, value: impl Into<Value>) -> Self {
        Self::Compare(name.to_owned(), Compare::Ne, value.into())
    }

    pub fn lt(name: &str, value: impl Into<Value>) -> Self {
        Self::Compare(name.to_owned(), Compare::Lt, value.into())
    }

    pub fn le(name: &str, value: impl Into<Value>) -> Self {
        Self::Compare(name.to_owned(), Compare::Le, value.into())
    }

    pub fn gt(name: &str, value: impl Into<Value>) -> Self {
        Self::Compare(name.to_owned(), Compare::Gt, value.into())
    }

    pub fn ge(name: &str, value: impl Into<Value>) -> Self {
        Self::Compare(name.to_owned(), Compare::Ge, value.into())
    }

    pub fn between(name: &str, low: impl Into<Value>, high: impl Into<Value>) -> Self {
        Self::Between(name.to_owned(), low.into(), high.into())
    }

    pub fn one_of(name: &str, values: impl IntoIterator<Item = Value>) -> Self {
        Self::In(name.to_owned(), values.into_iter().collect())
    }

    pub fn begins_with(name: &str, prefix: impl Into<String>) -> Self {
        Self::BeginsWith(name.to_owned(), prefix.into())
    }

    /// This and `other` (flattening nested ands).
    pub fn and(self, other: Condition) -> Self {
        match (self, other) {
            (Self::And(mut all), Self::And(more)) => {
                all.extend(more);
                Self::And(all)
            }
            (Self::And(mut all), other) => {
                all.push(other);
                Self::And(all)
            }
            (this, other) => Self::And(vec![this, other]),
        }
    }

    pub fn or(self, other: Condition) -> Self {
        Self::Or(vec![self, other])
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Self::Not(Box::new(self))
    }

    /// All of `conditions` (none: `None`).
    pub fn all(conditions: impl IntoIterator<Item = Condition>) -> Option<Self> {
        conditions.into_iter().reduce(Condition::and)
    }
}
