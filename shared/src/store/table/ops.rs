//! The operations of the table: reads, writes and transactions, typed.

use super::condition::Condition;
use super::value::{Item, Key, Value};

/// Which copy a query reads: the table or one of its global secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
    Gsi3,
}

/// A read that sees every write acknowledged before it (DynamoDB: `ConsistentRead`). Index
/// reads are always eventually consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Consistent,
    Eventual,
}

/// Which sort keys of the partition a query reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SortRange {
    #[default]
    All,
    Eq(String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
    /// Both ends included.
    Between(String, String),
    Prefix(String),
}

/// One `Query`: a partition of the table or of an index, read in sort-key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub partition: String,
    pub sort: SortRange,
    /// Items read that do not match are left out of the page (but count against `limit`).
    pub filter: Option<Condition>,
    /// Ascending sort keys when true.
    pub forward: bool,
    /// Items to read (before `filter`), at most 1,000; `None` reads up to 1 MB.
    pub limit: Option<u32>,
    /// Resume after this key (a page's `last_key`).
    pub start: Option<Item>,
    pub read: Read,
    /// Return only these attributes (and nothing else); `None` returns whole items (an index
    /// returns what it projects).
    pub attributes: Option<Vec<String>>,
}

impl Query {
    /// Every item of the table partition `partition`, in ascending order.
    pub fn table(partition: impl Into<String>) -> Self {
        Self::on(Index::Table, partition)
    }

    /// Every entry of the index partition `partition`, in ascending order.
    pub fn on(index: Index, partition: impl Into<String>) -> Self {
        Self {
            index,
            partition: partition.into(),
            sort: SortRange::All,
            filter: None,
            forward: true,
            limit: None,
            start: None,
            read: Read::Eventual,
            attributes: None,
        }
    }

    pub fn sort(self, sort: SortRange) -> Self {
        Self { sort, ..self }
    }

    pub fn filter(self, filter: Option<Condition>) -> Self {
        Self { filter, ..self }
    }

    pub fn backward(self) -> Self {
        Self {
            forward: false,
            ..self
        }
    }

    pub fn limit(self, limit: u32) -> Self {
        Self {
            limit: Some(limit),
            ..self
        }
    }

    pub fn start(self, start: Option<Item>) -> Self {
        Self { start, ..self }
    }

    pub fn consistent(self) -> Self {
        Self {
            read: Read::Consistent,
            ..self
        }
    }

    pub fn attributes(self, names: &[&str]) -> Self {
        Self {
            attributes: Some(names.iter().map(|n| n.to_string()).collect()),
            ..self
        }
    }
}

/// What one query request returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryPage {
    pub items: Vec<Item>,
    /// Items read, matching the filter or not.
    pub scanned: u32,
    /// Where the next request resumes; `None` when the partition was read to its end.
    pub last_key: Option<Item>,
}

/// One change an update makes to an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    Set(String, Value),
    /// Sets the attribute unless it is present.
    SetIfAbsent(String, Value),
    Remove(String),
    /// Adds to a number (an absent attribute counts as zero).
    Add(String, i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Put {
    pub item: Item,
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub key: Key,
    pub actions: Vec<UpdateAction>,
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub key: Key,
    pub condition: Option<Condition>,
}

/// A condition on an item that the transaction does not write.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub key: Key,
    pub condition: Condition,
}

/// One action of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Put(Put),
    Update(Update),
    Delete(Delete),
    Check(Check),
}

/// What a single update answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    Nothing,
    /// The item as the update left it.
    New,
    /// The item as it was before (`None` when there was none).
    Old,
}

impl Put {
    pub fn new(item: Item) -> Self {
        Self {
            item,
            condition: None,
        }
    }

    /// A put that fails if an item with its key exists.
    pub fn if_absent(item: Item) -> Self {
        Self::new(item).when(Condition::item_absent())
    }

    pub fn when(self, condition: Condition) -> Self {
        Self {
            condition: Some(condition),
            ..self
        }
    }
}

impl Update {
    pub fn new(key: Key) -> Self {
        Self {
            key,
            actions: Vec::new(),
            condition: None,
        }
    }

    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.actions
            .push(UpdateAction::Set(name.to_owned(), value.into()));
        self
    }

    pub fn set_if_absent(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.actions
            .push(UpdateAction::SetIfAbsent(name.to_owned(), value.into()));
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.actions.push(UpdateAction::Remove(name.to_owned()));
        self
    }

    pub fn add(mut self, name: &str, by: i64) -> Self {
        self.actions.push(UpdateAction::Add(name.to_owned(), by));
        self
    }

    /// Adds `condition` to the update's (both must hold).
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(match self.condition.take() {
            Some(existing) => existing.and(condition),
            None => condition,
        });
        self
    }
}

impl Delete {
    pub fn new(key: Key) -> Self {
        Self {
            key,
            condition: None,
        }
    }

    pub fn when(self, condition: Condition) -> Self {
        Self {
            condition: Some(condition),
            ..self
        }
    }
}

impl From<Put> for Action {
    fn from(v: Put) -> Self {
        Action::Put(v)
    }
}

impl From<Update> for Action {
    fn from(v: Update) -> Self {
        Action::Update(v)
    }
}

impl From<Delete> for Action {
    fn from(v: Delete) -> Self {
        Action::Delete(v)
    }
}

impl From<Check> for Action {
    fn from(v: Check) -> Self {
        Action::Check(v)
    }
}

impl Action {
    /// The key of the item the action is on.
    pub fn key(&self) -> Result<Key, super::TableError> {
        match self {
            Action::Put(put) => Key::of(&put.item),
            Action::Update(update) => Ok(update.key.clone()),
            Action::Delete(delete) => Ok(delete.key.clone()),
            Action::Check(check) => Ok(check.key.clone()),
        }
    }
}

/// What every transaction must be, on either engine (DynamoDB's rules): at most
/// `MAX_TRANSACTION_ACTIONS` actions, each on a different item, no update without actions.
pub(crate) fn check_transaction(actions: &[Action]) -> Result<(), super::TableError> {
    let invalid = |message: String| Err(super::TableError::Validation(message));
    if actions.len() > super::MAX_TRANSACTION_ACTIONS {
        return invalid(format!(
            "a transaction holds at most {} actions, not {}",
            super::MAX_TRANSACTION_ACTIONS,
            actions.len()
        ));
    }
    let mut keys = std::collections::HashSet::new();
    for action in actions {
        // A transaction's update needs an update expression (a lone update does not).
        if matches!(action, Action::Update(update) if update.actions.is_empty()) {
            return invalid("an update in a transaction needs at least one action".into());
        }
        if !keys.insert(action.key()?) {
            return invalid(
                "transaction request cannot include multiple operations on one item".into(),
            );
        }
    }
    Ok(())
}
