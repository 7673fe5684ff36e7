//! DynamoDB's rules for a request; each breach is `TableError::Validation`. Most are checked
//! before anything is read. Those on the item an update leaves (`index_keys`, `size`), an
//! update of the key (`key_unchanged`) and a put's number-valued index key (`index_keys`) are
//! checked by the write once it has read the item, in the order DynamoDB checks them.

use std::collections::HashSet;

use super::super::schema::{
    GSI1, GSI2, GSI3, LISTED_ATTRIBUTES, PARTITION_KEY, SORT_KEY, index_def, key_names,
};
use super::super::{
    Action, Compare, Condition, Index, Item, Key, Query, SortRange, TableError, Update,
    UpdateAction, Value, check_transaction, item_size,
};

/// DynamoDB's item size limit, 400 KB by `item_size`.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;
/// The longest partition key value, in UTF-8 bytes (table and indexes).
pub const MAX_PARTITION_KEY: usize = 2048;
/// The longest sort key value, in UTF-8 bytes (table and indexes).
pub const MAX_SORT_KEY: usize = 1024;
/// The most values one `In` condition may list.
const MAX_IN_VALUES: usize = 100;

type Result<T = ()> = std::result::Result<T, TableError>;

fn invalid(message: impl Into<String>) -> TableError {
    TableError::Validation(message.into())
}

/// A table key: both parts non-empty and within their size limits.
pub fn key(key: &Key) -> Result {
    key_value(PARTITION_KEY, &key.pk, MAX_PARTITION_KEY)?;
    key_value(SORT_KEY, &key.sk, MAX_SORT_KEY)
}

fn key_value(name: &str, value: &str, max: usize) -> Result {
    if value.is_empty() {
        return Err(invalid(format!(
            "the value of key attribute {name} cannot be an empty string"
        )));
    }
    if value.len() > max {
        return Err(invalid(format!("key attribute {name} exceeds {max} bytes")));
    }
    Ok(())
}

/// An item as a put writes it: the table key present as strings and valid, named attributes,
/// index key attributes that are strings or numbers and, as strings, non-empty and within the
/// key size limits, and the whole item within the item size limit. (An index key that is a
/// number is refused too, but as the put's own breach: see `index_keys`.)
pub fn item(item: &Item) -> Result {
    for name in [PARTITION_KEY, SORT_KEY] {
        match item.get(name) {
            Some(Value::S(_)) => {}
            Some(_) => return Err(invalid(format!("type mismatch for key attribute {name}"))),
            None => return Err(invalid(format!("the item has no key attribute {name}"))),
        }
    }
    key(&Key::of(item)?)?;
    if item.keys().any(String::is_empty) {
        return Err(invalid("empty attribute name"));
    }
    if let Err(Breach::Request(e)) = index_keys(item) {
        return Err(e);
    }
    size(item)
}

/// How a rule an item breaks fails a transaction (DynamoDB's answers differ by rule).
#[derive(Debug)]
pub enum Breach {
    /// The whole request is refused, whatever else fails.
    Request(TableError),
    /// Only this action is refused: if another action's condition fails, the transaction is
    /// cancelled for that condition instead (DynamoDB cancels it with a reason per action).
    Action(TableError),
}

/// The index key attributes an item has: non-empty strings within the key size limits. The
/// first one that is not decides how the write fails: a number breaches the action, anything
/// else the whole request. "First" is DynamoDB Local's order, which the differential test holds
/// us to: GSI2, GSI1, GSI3 (its map of index names), each index's partition key before its
/// sort key.
pub fn index_keys(item: &Item) -> std::result::Result<(), Breach> {
    for def in [GSI2, GSI1, GSI3] {
        for (name, max) in [
            (def.partition_key, MAX_PARTITION_KEY),
            (def.sort_key, MAX_SORT_KEY),
        ] {
            match item.get(name) {
                None => {}
                Some(Value::S(value)) => key_value(name, value, max).map_err(Breach::Request)?,
                Some(Value::N(_)) => {
                    return Err(Breach::Action(invalid(format!(
                        "type mismatch for index key {name}"
                    ))));
                }
                Some(_) => {
                    return Err(Breach::Request(invalid(format!(
                        "invalid attribute value type for index key {name}"
                    ))));
                }
            }
        }
    }
    Ok(())
}

/// The item within the item size limit.
pub fn size(item: &Item) -> Result {
    if item_size(item) > MAX_ITEM_SIZE {
        return Err(invalid("item size has exceeded the maximum allowed size"));
    }
    Ok(())
}

/// An update may not change the table key (refused once its condition has passed).
pub fn key_unchanged(update: &Update) -> Result {
    for action in &update.actions {
        let (UpdateAction::Set(name, _)
        | UpdateAction::SetIfAbsent(name, _)
        | UpdateAction::Remove(name)
        | UpdateAction::Add(name, _)) = action;
        if name == PARTITION_KEY || name == SORT_KEY {
            return Err(invalid(format!(
                "cannot update attribute {name}: this attribute is part of the key"
            )));
        }
    }
    Ok(())
}

/// A condition's operands: ordering comparisons and `Between` on strings or numbers only,
/// `Between` bounds of one type and in order, `In` with at most 100 values, and no empty
/// attribute name. An `And` of nothing is true, an `Or` or `In` of nothing false.
pub fn condition(condition: &Condition) -> Result {
    match condition {
        Condition::Exists(name) | Condition::Absent(name) | Condition::BeginsWith(name, _) => {
            attribute_name(name)
        }
        Condition::Compare(name, op, operand) => {
            attribute_name(name)?;
            if *op != Compare::Eq && *op != Compare::Ne {
                ordered(operand, "comparison")?;
            }
            Ok(())
        }
        Condition::Between(name, low, high) => {
            attribute_name(name)?;
            ordered(low, "BETWEEN")?;
            ordered(high, "BETWEEN")?;
            match (low, high) {
                (Value::S(low), Value::S(high)) if low.as_bytes() <= high.as_bytes() => Ok(()),
                (Value::N(low), Value::N(high)) if low <= high => Ok(()),
                (Value::S(_), Value::S(_)) | (Value::N(_), Value::N(_)) => Err(invalid(
                    "the BETWEEN operator requires upper bound to be greater than or equal to lower bound",
                )),
                _ => Err(invalid(
                    "the BETWEEN operator requires same data type for lower and upper bounds",
                )),
            }
        }
        // An `In` of no values is never true (`Condition::In` of nothing, like `Or`).
        Condition::In(_, values) if values.is_empty() => Ok(()),
        Condition::In(name, values) => {
            attribute_name(name)?;
            if values.len() > MAX_IN_VALUES {
                return Err(invalid(format!(
                    "the IN operator takes at most {MAX_IN_VALUES} operands, not {}",
                    values.len()
                )));
            }
            Ok(())
        }
        Condition::And(all) | Condition::Or(all) => all.iter().try_for_each(self::condition),
        Condition::Not(inner) => self::condition(inner),
    }
}

fn ordered(operand: &Value, operator: &str) -> Result {
    match operand {
        Value::S(_) | Value::N(_) => Ok(()),
        other => Err(invalid(format!(
            "incorrect operand type for operator or function {operator}: {other:?}"
        ))),
    }
}

fn attribute_name(name: &str) -> Result {
    if name.is_empty() {
        return Err(invalid("empty attribute name"));
    }
    Ok(())
}

/// Every attribute name a condition reads, as DynamoDB sees it: an `And`, `Or` or `In` of
/// nothing has no expression of its own, and the DynamoDB engine writes its constant value
/// with `PK` (so a table query may not filter on one, and the engines agree).
fn names(condition: &Condition, into: &mut Vec<String>) {
    match condition {
        Condition::In(_, none) if none.is_empty() => into.push(PARTITION_KEY.to_owned()),
        Condition::And(none) | Condition::Or(none) if none.is_empty() => {
            into.push(PARTITION_KEY.to_owned())
        }
        Condition::Exists(name)
        | Condition::Absent(name)
        | Condition::BeginsWith(name, _)
        | Condition::Compare(name, _, _)
        | Condition::Between(name, _, _)
        | Condition::In(name, _) => into.push(name.clone()),
        Condition::And(all) | Condition::Or(all) => all.iter().for_each(|c| names(c, into)),
        Condition::Not(inner) => names(inner, into),
    }
}

fn optional_condition(condition: Option<&Condition>) -> Result {
    condition.map_or(Ok(()), self::condition)
}

/// An update as requested: a valid key, each attribute named once, and values that fit in an
/// item. (An update of a key attribute is refused too, but only once its condition has passed:
/// `key_unchanged`.)
pub fn update(update: &Update) -> Result {
    key(&update.key)?;
    let mut seen = HashSet::new();
    let mut written = update.key.to_item();
    for action in &update.actions {
        let name = match action {
            UpdateAction::Set(name, value) | UpdateAction::SetIfAbsent(name, value) => {
                written.insert(name.clone(), value.clone());
                name
            }
            UpdateAction::Remove(name) | UpdateAction::Add(name, _) => name,
        };
        attribute_name(name)?;
        if !seen.insert(name.as_str()) {
            return Err(invalid(format!(
                "two document paths overlap with each other: [{name}]"
            )));
        }
    }
    if item_size(&written) > MAX_ITEM_SIZE {
        return Err(invalid(
            "item size to update has exceeded the maximum allowed size",
        ));
    }
    optional_condition(update.condition.as_ref())
}

/// One write (or check) as requested.
pub fn action(action: &Action) -> Result {
    match action {
        Action::Put(put) => {
            item(&put.item)?;
            optional_condition(put.condition.as_ref())
        }
        Action::Update(update) => self::update(update),
        Action::Delete(delete) => {
            key(&delete.key)?;
            optional_condition(delete.condition.as_ref())
        }
        Action::Check(check) => {
            key(&check.key)?;
            condition(&check.condition)
        }
    }
}

/// A transaction: its shape (`check_transaction`), and each action valid.
pub fn transaction(actions: &[Action]) -> Result {
    check_transaction(actions)?;
    actions.iter().try_for_each(action)
}

/// The keys of one `get_many`: each valid (one named twice is read once).
pub fn keys(keys: &[Key]) -> Result {
    keys.iter().try_for_each(key)
}

/// A projection: at least one name, none empty, none twice.
pub fn projection<S: AsRef<str>>(attributes: &[S]) -> Result {
    if attributes.is_empty() {
        return Err(invalid("an empty projection"));
    }
    let mut seen = HashSet::new();
    for name in attributes {
        let name = name.as_ref();
        attribute_name(name)?;
        if !seen.insert(name) {
            return Err(invalid(format!(
                "two document paths overlap with each other: [{name}]"
            )));
        }
    }
    Ok(())
}

/// Whether `index` projects the attribute `name` (the table projects everything).
pub fn projects(index: Index, name: &str) -> bool {
    match index_def(index) {
        None => true,
        Some(def) => {
            [PARTITION_KEY, SORT_KEY, def.partition_key, def.sort_key].contains(&name)
                || LISTED_ATTRIBUTES.contains(&name)
        }
    }
}

/// A query: a non-empty partition, sort bounds non-empty and within the sort key limit (and in
/// order), a limit of at least one, a filter on projected non-key attributes, a projection of
/// projected attributes, and a start key that is one of the query's own. (A consistent read of
/// an index reads it like any other: `Read` promises no more of an index.)
pub fn query(query: &Query) -> Result {
    let index = query.index;
    let (partition_name, sort_name) = key_names(index);
    if query.partition.is_empty() {
        return Err(invalid(format!(
            "the value of key attribute {partition_name} cannot be an empty string"
        )));
    }
    sort_range(sort_name, &query.sort)?;
    if query.limit == Some(0) {
        return Err(invalid("limit must be at least 1"));
    }
    if let Some(filter) = &query.filter {
        condition(filter)?;
        let mut read = Vec::new();
        names(filter, &mut read);
        for name in &read {
            if name == partition_name || name == sort_name {
                return Err(invalid(format!(
                    "filter expression can only contain non-primary key attributes: {name}"
                )));
            }
            if !projects(index, name) {
                return Err(invalid(format!(
                    "the index does not project the filter attribute {name}"
                )));
            }
        }
    }
    if let Some(attributes) = &query.attributes {
        projection(attributes)?;
        if let Some(name) = attributes.iter().find(|name| !projects(index, name)) {
            return Err(invalid(format!("the index does not project {name}")));
        }
    }
    if let Some(start) = &query.start {
        start_key(query, start)?;
    }
    Ok(())
}

fn sort_range(name: &str, range: &SortRange) -> Result {
    let bounds: Vec<&String> = match range {
        SortRange::All => vec![],
        SortRange::Eq(v)
        | SortRange::Lt(v)
        | SortRange::Le(v)
        | SortRange::Gt(v)
        | SortRange::Ge(v)
        | SortRange::Prefix(v) => vec![v],
        SortRange::Between(low, high) => {
            if low.as_bytes() > high.as_bytes() {
                return Err(invalid(
                    "the BETWEEN operator requires upper bound to be greater than or equal to lower bound",
                ));
            }
            vec![low, high]
        }
    };
    for bound in bounds {
        if bound.is_empty() {
            return Err(invalid(format!(
                "the value of key attribute {name} cannot be an empty string"
            )));
        }
        if bound.len() > MAX_SORT_KEY {
            return Err(invalid(format!(
                "a sort key condition on {name} exceeds {MAX_SORT_KEY} bytes"
            )));
        }
    }
    Ok(())
}

/// Whether a sort key value is within the range.
pub fn in_range(range: &SortRange, value: &str) -> bool {
    let v = value.as_bytes();
    match range {
        SortRange::All => true,
        SortRange::Eq(b) => v == b.as_bytes(),
        SortRange::Lt(b) => v < b.as_bytes(),
        SortRange::Le(b) => v <= b.as_bytes(),
        SortRange::Gt(b) => v > b.as_bytes(),
        SortRange::Ge(b) => v >= b.as_bytes(),
        SortRange::Between(low, high) => low.as_bytes() <= v && v <= high.as_bytes(),
        SortRange::Prefix(p) => value.starts_with(p.as_str()),
    }
}

/// A start key holds exactly the key attributes of the table and of the queried index, as
/// valid key values, in the queried partition and sort range, and not at the range's closed
/// far end (`closed_end`: no page ends there with a key, and DynamoDB refuses to start there).
fn start_key(query: &Query, start: &Item) -> Result {
    let (partition_name, sort_name) = key_names(query.index);
    let mut expected = vec![(PARTITION_KEY, MAX_PARTITION_KEY), (SORT_KEY, MAX_SORT_KEY)];
    if query.index != Index::Table {
        expected.extend([
            (partition_name, MAX_PARTITION_KEY),
            (sort_name, MAX_SORT_KEY),
        ]);
    }
    let starting_key =
        |e: TableError| invalid(format!("the provided starting key is invalid: {e}"));
    if start.len() != expected.len() {
        return Err(invalid("the provided starting key is invalid"));
    }
    for (name, max) in expected {
        match start.get(name) {
            Some(Value::S(value)) => key_value(name, value, max).map_err(starting_key)?,
            _ => return Err(invalid("the provided starting key is invalid")),
        }
    }
    let (Some(Value::S(partition)), Some(Value::S(sort))) =
        (start.get(partition_name), start.get(sort_name))
    else {
        return Err(invalid("the provided starting key is invalid"));
    };
    if *partition != query.partition
        || !in_range(&query.sort, sort)
        || closed_end(query) == Some(sort.as_str())
    {
        return Err(invalid(
            "the provided starting key does not match the range key predicate",
        ));
    }
    Ok(())
}

/// The sort key a table query's range includes last in the direction read, when the range
/// names it (`Le` or `Between`'s high end forward, `Ge` or `Between`'s low end backward): no
/// row can follow it. Sort keys are unique in a table partition only, so an index has none.
pub fn closed_end(query: &Query) -> Option<&str> {
    if query.index != Index::Table {
        return None;
    }
    match (&query.sort, query.forward) {
        (SortRange::Le(end) | SortRange::Between(_, end), true)
        | (SortRange::Ge(end) | SortRange::Between(end, _), false) => Some(end),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{Check, Delete, Put, item as make_item};
    use super::*;

    fn is_invalid(result: Result) -> bool {
        matches!(result, Err(TableError::Validation(_)))
    }

    fn k() -> Key {
        Key::new("P", "S")
    }

    #[test]
    fn keys_are_non_empty_strings_within_limits() {
        assert!(key(&k()).is_ok());
        assert!(key(&Key::new("p".repeat(2048), "s".repeat(1024))).is_ok());
        assert!(is_invalid(key(&Key::new("", "S"))));
        assert!(is_invalid(key(&Key::new("P", ""))));
        assert!(is_invalid(key(&Key::new("p".repeat(2049), "S"))));
        assert!(is_invalid(key(&Key::new("P", "s".repeat(1025)))));
        // Bytes, not characters: 513 two-byte characters are 1,026 bytes.
        assert!(is_invalid(key(&Key::new("P", "é".repeat(513)))));
    }

    #[test]
    fn items_need_their_key_as_strings() {
        assert!(item(&k().to_item()).is_ok());
        let mut no_sort = k().to_item();
        no_sort.remove(SORT_KEY);
        assert!(is_invalid(item(&no_sort)));
        let mut number_key = k().to_item();
        number_key.insert(PARTITION_KEY.into(), Value::N(1));
        assert!(is_invalid(item(&number_key)));
        assert!(is_invalid(item(&make_item(&k(), [("", Value::N(1))]))));
    }

    #[test]
    fn index_keys_are_non_empty_strings_when_present() {
        for (name, value) in [
            ("GSI1PK", Value::S("a".into())),
            ("GSI2SK", Value::S("s".repeat(1024))),
            ("GSI3PK", Value::S("p".repeat(2048))),
        ] {
            let good = make_item(&k(), [(name, value)]);
            assert!(item(&good).is_ok() && index_keys(&good).is_ok(), "{name}");
        }
        for (name, value) in [
            ("GSI1PK", Value::S(String::new())),
            ("GSI1SK", Value::S(String::new())),
            ("GSI3SK", Value::Null),
            ("GSI1SK", Value::Bool(true)),
            ("GSI2PK", Value::L(vec![])),
            ("GSI2SK", Value::S("s".repeat(1025))),
            ("GSI3PK", Value::S("p".repeat(2049))),
        ] {
            let bad = make_item(&k(), [(name, value.clone())]);
            assert!(is_invalid(item(&bad)), "{name}");
            assert!(
                matches!(index_keys(&bad), Err(Breach::Request(_))),
                "{name}"
            );
        }
        // A number breaches the action only, so `item` leaves it to the write.
        let number = make_item(&k(), [("GSI2PK", Value::N(1))]);
        assert!(item(&number).is_ok());
        assert!(matches!(index_keys(&number), Err(Breach::Action(_))));
        // With more than one, the first in DynamoDB Local's order decides.
        for (first, then, request) in [
            (("GSI1SK", Value::N(1)), ("GSI2PK", Value::Null), true),
            (("GSI1PK", Value::N(1)), ("GSI1SK", Value::Null), false),
            (("GSI2PK", Value::N(1)), ("GSI1SK", "".into()), false),
            (("GSI3SK", Value::N(1)), ("GSI2SK", Value::Null), true),
            (("GSI1SK", Value::N(1)), ("GSI3PK", Value::Null), false),
            (("GSI2SK", Value::N(1)), ("GSI2PK", "".into()), true),
        ] {
            let both = make_item(&k(), [first.clone(), then.clone()]);
            let found = index_keys(&both);
            assert_eq!(
                matches!(found, Err(Breach::Request(_))),
                request,
                "{first:?} {then:?}"
            );
            assert!(found.is_err());
        }
    }

    #[test]
    fn item_size_limit() {
        // PK (2 + 1) + SK (2 + 1) + "big" (3) = 9 bytes besides the value.
        let fits = make_item(&k(), [("big", Value::S("x".repeat(MAX_ITEM_SIZE - 9)))]);
        assert_eq!(item_size(&fits), MAX_ITEM_SIZE);
        assert!(item(&fits).is_ok());
        let over = make_item(&k(), [("big", Value::S("x".repeat(MAX_ITEM_SIZE - 8)))]);
        assert!(is_invalid(item(&over)));
    }

    #[test]
    fn condition_operands() {
        assert!(condition(&Condition::lt("a", 1)).is_ok());
        assert!(condition(&Condition::eq("a", Value::Null)).is_ok());
        assert!(condition(&Condition::eq("a", Value::L(vec![]))).is_ok());
        assert!(condition(&Condition::ne("a", true)).is_ok());
        assert!(condition(&Condition::between("a", 1, 1)).is_ok());
        assert!(condition(&Condition::one_of("a", [Value::Bool(true), Value::Null])).is_ok());
        assert!(condition(&Condition::begins_with("a", "")).is_ok());
        for bad in [
            Condition::lt("a", true),
            Condition::ge("a", Value::Null),
            Condition::gt("a", Value::L(vec![])),
            Condition::between("a", 2, 1),
            Condition::between("a", "b", "a"),
            Condition::between("a", 1, "x"),
            Condition::between("a", false, true),
            Condition::one_of("a", (0..101).map(Value::N)),
            Condition::exists(""),
            Condition::exists("a").and(Condition::lt("b", true)).not(),
        ] {
            assert!(is_invalid(condition(&bad)), "{bad:?}");
        }
        assert!(condition(&Condition::one_of("a", (0..100).map(Value::N))).is_ok());
        for empty in [
            Condition::one_of("", []),
            Condition::And(vec![]),
            Condition::Or(vec![]),
        ] {
            assert!(condition(&empty).is_ok(), "{empty:?}");
        }
    }

    #[test]
    fn updates() {
        assert!(update(&Update::new(k())).is_ok());
        assert!(update(&Update::new(k()).set("a", 1).remove("b").add("c", 1)).is_ok());
        for bad in [
            Update::new(k()).set("a", 1).remove("a"),
            Update::new(k()).add("a", 1).set_if_absent("a", 1),
            Update::new(k()).set("", 1),
            Update::new(Key::new("", "S")).set("a", 1),
            Update::new(k()).set("a", "x".repeat(MAX_ITEM_SIZE)),
            Update::new(k()).when(Condition::lt("a", false)),
        ] {
            assert!(is_invalid(update(&bad)), "{bad:?}");
        }
        // An index key set to an invalid value, or a key attribute updated, is refused only
        // once the condition has passed (as DynamoDB does), by `index_keys` and `key_unchanged`.
        assert!(update(&Update::new(k()).set("GSI1PK", "")).is_ok());
        assert!(update(&Update::new(k()).set("PK", "x")).is_ok());
        for bad in [
            Update::new(k()).set("PK", "x"),
            Update::new(k()).set("a", 1).remove("SK"),
            Update::new(k()).set_if_absent("SK", "x"),
            Update::new(k()).add("PK", 1),
        ] {
            assert!(is_invalid(key_unchanged(&bad)), "{bad:?}");
        }
        assert!(key_unchanged(&Update::new(k()).set("GSI1PK", "x").remove("a")).is_ok());
    }

    #[test]
    fn transactions() {
        let put = |sk: &str| Action::Put(Put::new(Key::new("P", sk).to_item()));
        assert!(transaction(&[put("a"), put("b")]).is_ok());
        assert!(transaction(&[]).is_ok());
        assert!(transaction(&(0..100).map(|i| put(&i.to_string())).collect::<Vec<_>>()).is_ok());
        assert!(is_invalid(transaction(
            &(0..101).map(|i| put(&i.to_string())).collect::<Vec<_>>()
        )));
        assert!(is_invalid(transaction(&[put("a"), put("a")])));
        let check = Action::Check(Check {
            key: Key::new("P", "a"),
            condition: Condition::item_exists(),
        });
        assert!(is_invalid(transaction(&[check, put("a")])));
        let delete = Action::Delete(Delete::new(Key::new("P", "")));
        assert!(is_invalid(transaction(&[put("a"), delete])));
        let empty = Action::Update(Update::new(Key::new("P", "u")));
        assert!(action(&empty).is_ok());
        assert!(is_invalid(transaction(&[put("a"), empty])));
    }

    #[test]
    fn get_many_keys() {
        assert!(keys(&[]).is_ok());
        assert!(keys(&[k(), Key::new("P", "T"), k()]).is_ok());
        assert!(is_invalid(keys(&[Key::new("P", "")])));
    }

    #[test]
    fn projections() {
        assert!(projection(&["a", "b"]).is_ok());
        assert!(is_invalid(projection::<&str>(&[])));
        assert!(is_invalid(projection(&["a", "a"])));
        assert!(is_invalid(projection(&[""])));
    }

    #[test]
    fn queries() {
        let table = || Query::table("P");
        let gsi = || Query::on(Index::Gsi1, "G");
        let ok = [
            table(),
            table().sort(SortRange::Between("a".into(), "a".into())),
            table().sort(SortRange::Le("s".repeat(1024))),
            Query::table("p".repeat(5000)),
            table().consistent(),
            gsi().consistent(),
            table().filter(Some(Condition::exists("GSI1PK"))),
            gsi().filter(Some(Condition::one_of("GSI1SK", []))),
            gsi().filter(Some(Condition::Or(vec![]))),
            gsi().filter(Some(Condition::one_of("body", []))),
            gsi().filter(Some(Condition::exists("PK"))),
            gsi().filter(Some(Condition::eq("title", "x"))),
            gsi().attributes(&["PK", "GSI1SK", "version"]),
            table().attributes(&["secret"]),
            table().start(Some(Key::new("P", "x").to_item())),
            table()
                .sort(SortRange::Prefix("x".into()))
                .start(Some(Key::new("P", "xy").to_item())),
            gsi().start(Some(make_item(
                &Key::new("other", "partition"),
                [("GSI1PK", "G".into()), ("GSI1SK", "k".into())],
            ))),
            // The near end of a range, the far end of an equality or of an index's range.
            table()
                .sort(SortRange::Ge("b".into()))
                .start(Some(Key::new("P", "b").to_item())),
            table()
                .sort(SortRange::Le("b".into()))
                .backward()
                .start(Some(Key::new("P", "b").to_item())),
            table()
                .sort(SortRange::Eq("b".into()))
                .start(Some(Key::new("P", "b").to_item())),
            gsi().sort(SortRange::Le("k".into())).start(Some(make_item(
                &Key::new("P", "x"),
                [("GSI1PK", "G".into()), ("GSI1SK", "k".into())],
            ))),
        ];
        for query in ok {
            assert!(self::query(&query).is_ok(), "{query:?}");
        }
        let bad = [
            Query::table(""),
            table().sort(SortRange::Eq(String::new())),
            table().sort(SortRange::Prefix(String::new())),
            table().sort(SortRange::Gt("s".repeat(1025))),
            table().sort(SortRange::Between("b".into(), "a".into())),
            table().limit(0),
            table().filter(Some(Condition::exists("PK"))),
            table().filter(Some(Condition::And(vec![]))),
            table().filter(Some(Condition::exists("a").or(Condition::one_of("b", [])))),
            table().filter(Some(Condition::exists("a").and(Condition::eq("SK", "x")))),
            gsi().filter(Some(Condition::eq("GSI1SK", "x"))),
            gsi().filter(Some(Condition::exists("passwordHash"))),
            gsi().attributes(&["body"]),
            gsi().attributes(&["GSI2PK"]),
            table().attributes(&[]),
            table().attributes(&["a", "a"]),
            table().start(Some(Key::new("Q", "x").to_item())),
            table()
                .sort(SortRange::Gt("m".into()))
                .start(Some(Key::new("P", "a").to_item())),
            table().start(Some(make_item(
                &Key::new("P", "x"),
                [("extra", Value::N(1))],
            ))),
            table().start(Some(Item::from([("PK".to_owned(), Value::S("P".into()))]))),
            gsi().start(Some(Key::new("P", "x").to_item())),
            gsi().start(Some(make_item(
                &Key::new("P", "x"),
                [("GSI1PK", "H".into()), ("GSI1SK", "k".into())],
            ))),
            // Empty key values.
            table().start(Some(Key::new("P", "").to_item())),
            gsi().start(Some(make_item(
                &Key::new("P", "x"),
                [("GSI1PK", "G".into()), ("GSI1SK", "".into())],
            ))),
            gsi().start(Some(make_item(
                &Key::new("", "x"),
                [("GSI1PK", "G".into()), ("GSI1SK", "k".into())],
            ))),
            // The closed far end of a table query's range.
            table()
                .sort(SortRange::Le("b".into()))
                .start(Some(Key::new("P", "b").to_item())),
            table()
                .sort(SortRange::Ge("b".into()))
                .backward()
                .start(Some(Key::new("P", "b").to_item())),
            table()
                .sort(SortRange::Between("a".into(), "b".into()))
                .start(Some(Key::new("P", "b").to_item())),
            table()
                .sort(SortRange::Between("a".into(), "b".into()))
                .backward()
                .start(Some(Key::new("P", "a").to_item())),
        ];
        for query in bad {
            assert!(is_invalid(self::query(&query)), "{query:?}");
        }
    }
}
