//! Conditions evaluated against an item, and updates applied to one, as DynamoDB does (see
//! `condition.rs`). Requests reach here validated (`validate`): every operand is of a type its
//! operator accepts.

use std::cmp::Ordering;

use super::super::{Compare, Condition, Item, Key, TableError, UpdateAction, Value};

/// Whether `item` satisfies `condition`; a missing item is an empty one.
pub fn matches(condition: &Condition, item: Option<&Item>) -> bool {
    let empty = Item::new();
    holds(condition, item.unwrap_or(&empty))
}

fn holds(condition: &Condition, item: &Item) -> bool {
    match condition {
        Condition::Exists(name) => item.contains_key(name),
        Condition::Absent(name) => !item.contains_key(name),
        Condition::Compare(name, op, operand) => compare(item.get(name), *op, operand),
        Condition::Between(name, low, high) => item.get(name).is_some_and(|value| {
            order(value, low).is_some_and(Ordering::is_ge)
                && order(value, high).is_some_and(Ordering::is_le)
        }),
        Condition::In(name, values) => item.get(name).is_some_and(|v| values.contains(v)),
        Condition::BeginsWith(name, prefix) => {
            matches!(item.get(name), Some(Value::S(s)) if s.starts_with(prefix.as_str()))
        }
        Condition::And(all) => all.iter().all(|c| holds(c, item)),
        Condition::Or(any) => any.iter().any(|c| holds(c, item)),
        Condition::Not(inner) => !holds(inner, item),
    }
}

fn compare(value: Option<&Value>, op: Compare, operand: &Value) -> bool {
    match op {
        Compare::Eq => value == Some(operand),
        Compare::Ne => value != Some(operand),
        Compare::Lt => value
            .and_then(|v| order(v, operand))
            .is_some_and(Ordering::is_lt),
        Compare::Le => value
            .and_then(|v| order(v, operand))
            .is_some_and(Ordering::is_le),
        Compare::Gt => value
            .and_then(|v| order(v, operand))
            .is_some_and(Ordering::is_gt),
        Compare::Ge => value
            .and_then(|v| order(v, operand))
            .is_some_and(Ordering::is_ge),
    }
}

/// The order of two values of one ordered type (strings by UTF-8 bytes, numbers by value);
/// `None` for any other pair, which no ordering comparison satisfies.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// The item `actions` leave: applied to `current`, or to a new item holding only `key` when
/// there is none (an update creates what it does not find). Adding to a non-number is
/// refused.
pub fn apply(
    key: &Key,
    current: Option<&Item>,
    actions: &[UpdateAction],
) -> Result<Item, TableError> {
    let mut item = current.cloned().unwrap_or_else(|| key.to_item());
    for action in actions {
        match action {
            UpdateAction::Set(name, value) => {
                item.insert(name.clone(), value.clone());
            }
            UpdateAction::SetIfAbsent(name, value) => {
                item.entry(name.clone()).or_insert_with(|| value.clone());
            }
            UpdateAction::Remove(name) => {
                item.remove(name);
            }
            UpdateAction::Add(name, by) => {
                let sum = match item.get(name) {
                    None => *by,
                    Some(Value::N(n)) => n.checked_add(*by).ok_or_else(|| {
                        TableError::Validation(format!("adding {by} to `{name}` overflows"))
                    })?,
                    Some(_) => {
                        return Err(TableError::Validation(
                            "An operand in the update expression has an incorrect data type"
                                .to_owned(),
                        ));
                    }
                };
                item.insert(name.clone(), Value::N(sum));
            }
        }
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Item {
        Item::from([
            ("PK".to_owned(), Value::S("P".into())),
            ("SK".to_owned(), Value::S("S".into())),
            ("s".to_owned(), Value::S("b".into())),
            ("n".to_owned(), Value::N(5)),
            ("t".to_owned(), Value::Bool(true)),
            ("z".to_owned(), Value::Null),
            (
                "l".to_owned(),
                Value::L(vec![Value::N(1), Value::S("x".into())]),
            ),
        ])
    }

    fn check(condition: Condition) -> bool {
        matches(&condition, Some(&sample()))
    }

    #[test]
    fn comparisons_by_type() {
        assert!(check(Condition::eq("n", 5)));
        assert!(check(Condition::lt("n", 6)));
        assert!(check(Condition::le("n", 5)));
        assert!(!check(Condition::gt("n", 5)));
        assert!(check(Condition::ge("n", 5)));
        assert!(check(Condition::gt("n", -100)));
        assert!(check(Condition::gt("s", "a")));
        assert!(check(Condition::lt("s", "ba")));
        assert!(check(Condition::eq("t", true)));
        assert!(check(Condition::Compare(
            "z".into(),
            Compare::Eq,
            Value::Null
        )));
        assert!(!check(Condition::Compare(
            "z".into(),
            Compare::Ne,
            Value::Null
        )));
        assert!(check(Condition::Compare(
            "l".into(),
            Compare::Eq,
            Value::L(vec![Value::N(1), Value::S("x".into())])
        )));
    }

    #[test]
    fn another_type_never_compares_but_is_not_equal() {
        assert!(!check(Condition::eq("n", "5")));
        assert!(!check(Condition::lt("n", "6")));
        assert!(!check(Condition::ge("s", 0)));
        assert!(!check(Condition::between("s", 0, 10)));
        assert!(check(Condition::ne("n", "5")));
    }

    #[test]
    fn missing_attribute() {
        for condition in [
            Condition::eq("x", 1),
            Condition::lt("x", 1),
            Condition::le("x", 1),
            Condition::gt("x", 1),
            Condition::ge("x", 1),
            Condition::between("x", 0, 2),
            Condition::one_of("x", [Value::N(1)]),
            Condition::begins_with("x", ""),
            Condition::exists("x"),
        ] {
            assert!(!check(condition.clone()), "{condition:?}");
            assert!(check(condition.not()));
        }
        assert!(check(Condition::ne("x", 1)));
        assert!(check(Condition::absent("x")));
    }

    #[test]
    fn strings_compare_by_utf8_bytes() {
        // U+FFFF is one UTF-16 unit above a surrogate pair, but below U+1F600 in UTF-8.
        let item = Item::from([("s".to_owned(), Value::S("\u{ffff}".into()))]);
        assert!(matches(&Condition::lt("s", "\u{1F600}"), Some(&item)));
        assert!(matches(&Condition::gt("s", "\u{e9}"), Some(&item)));
        assert!(matches(&Condition::gt("s", ""), Some(&item)));
    }

    #[test]
    fn between_in_begins_with() {
        assert!(check(Condition::between("n", 5, 5)));
        assert!(check(Condition::between("n", 1, 9)));
        assert!(!check(Condition::between("n", 6, 9)));
        assert!(check(Condition::between("s", "a", "b")));
        assert!(check(Condition::one_of(
            "n",
            [Value::S("5".into()), Value::N(5)]
        )));
        assert!(!check(Condition::one_of("n", [Value::N(4), Value::Null])));
        assert!(check(Condition::begins_with("s", "b")));
        assert!(check(Condition::begins_with("s", "")));
        assert!(!check(Condition::begins_with("s", "bb")));
        assert!(!check(Condition::begins_with("n", "5")));
    }

    #[test]
    fn logic() {
        let yes = Condition::exists("n");
        let no = Condition::exists("x");
        assert!(check(yes.clone().and(yes.clone())));
        assert!(!check(yes.clone().and(no.clone())));
        assert!(check(no.clone().or(yes.clone())));
        assert!(!check(no.clone().or(no.clone())));
        assert!(check(no.clone().not()));
        assert!(!check(yes.clone().not().not().not()));
    }

    #[test]
    fn a_missing_item_has_no_attributes() {
        assert!(matches(&Condition::item_absent(), None));
        assert!(!matches(&Condition::item_exists(), None));
        assert!(matches(&Condition::ne("n", 1), None));
        assert!(!matches(&Condition::eq("n", 1), None));
        assert!(matches(&Condition::item_exists(), Some(&sample())));
    }

    #[test]
    fn updates_apply_in_place() {
        let key = Key::new("P", "S");
        let actions = [
            UpdateAction::Set("s".into(), Value::S("new".into())),
            UpdateAction::SetIfAbsent("n".into(), Value::N(99)),
            UpdateAction::SetIfAbsent("fresh".into(), Value::Bool(false)),
            UpdateAction::Remove("t".into()),
            UpdateAction::Remove("never".into()),
            UpdateAction::Add("count".into(), 3),
        ];
        let item = apply(&key, Some(&sample()), &actions).unwrap();
        let mut expected = sample();
        expected.insert("s".into(), Value::S("new".into()));
        expected.insert("fresh".into(), Value::Bool(false));
        expected.remove("t");
        expected.insert("count".into(), Value::N(3));
        assert_eq!(item, expected);
        let item = apply(&key, Some(&item), &[UpdateAction::Add("count".into(), -5)]).unwrap();
        assert_eq!(item["count"], Value::N(-2));
    }

    #[test]
    fn an_update_on_a_missing_item_creates_it_from_the_key() {
        let key = Key::new("P", "S");
        assert_eq!(
            apply(&key, None, &[UpdateAction::Remove("x".into())]).unwrap(),
            key.to_item()
        );
        let item = apply(
            &key,
            None,
            &[
                UpdateAction::Add("n".into(), 2),
                UpdateAction::SetIfAbsent("v".into(), Value::N(1)),
            ],
        )
        .unwrap();
        assert_eq!(item["n"], Value::N(2));
        assert_eq!(item["v"], Value::N(1));
        assert_eq!(item.len(), 4);
    }

    #[test]
    fn add_needs_a_number() {
        let key = Key::new("P", "S");
        for name in ["s", "t", "z", "l"] {
            let result = apply(&key, Some(&sample()), &[UpdateAction::Add(name.into(), 1)]);
            assert!(matches!(result, Err(TableError::Validation(_))), "{name}");
        }
        let result = apply(
            &key,
            Some(&sample()),
            &[UpdateAction::Add("n".into(), i64::MAX)],
        );
        assert!(matches!(result, Err(TableError::Validation(_))));
    }
}
