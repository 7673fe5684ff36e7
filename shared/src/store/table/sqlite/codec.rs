//! An item as stored in the `item` column: a JSON object of attribute name to a tagged value
//! (`{"S": "…"}`, `{"N": 7}`, `{"BOOL": true}`, `{"NULL": true}`, `{"L": […]}`), so every
//! `Value` comes back as exactly the type and value it was written with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::{Item, TableError, Value};

/// A value as stored: serde writes and reads these tags directly, with no JSON tree between.
#[derive(Serialize)]
enum Stored<'a> {
    S(&'a str),
    N(i64),
    #[serde(rename = "BOOL")]
    Bool(bool),
    #[serde(rename = "NULL")]
    Null(bool),
    L(Vec<Stored<'a>>),
}

#[derive(Deserialize)]
enum Read {
    S(String),
    N(i64),
    #[serde(rename = "BOOL")]
    Bool(bool),
    #[serde(rename = "NULL")]
    Null(bool),
    L(Vec<Read>),
}

pub fn encode(item: &Item) -> String {
    let stored: BTreeMap<&str, Stored> = item
        .iter()
        .map(|(name, value)| (name.as_str(), stored(value)))
        .collect();
    serde_json::to_string(&stored).expect("an attribute map always serialises")
}

pub fn decode(text: &str) -> Result<Item, TableError> {
    let read: BTreeMap<String, Read> = serde_json::from_str(text).map_err(|_| corrupt())?;
    read.into_iter()
        .map(|(name, value)| Ok((name, value_of(value)?)))
        .collect()
}

fn stored(value: &Value) -> Stored<'_> {
    match value {
        Value::S(s) => Stored::S(s),
        Value::N(n) => Stored::N(*n),
        Value::Bool(b) => Stored::Bool(*b),
        Value::Null => Stored::Null(true),
        Value::L(values) => Stored::L(values.iter().map(stored).collect()),
    }
}

fn value_of(read: Read) -> Result<Value, TableError> {
    Ok(match read {
        Read::S(s) => Value::S(s),
        Read::N(n) => Value::N(n),
        Read::Bool(b) => Value::Bool(b),
        Read::Null(true) => Value::Null,
        Read::Null(false) => return Err(corrupt()),
        Read::L(values) => Value::L(values.into_iter().map(value_of).collect::<Result<_, _>>()?),
    })
}

fn corrupt() -> TableError {
    TableError::backend("stored item is not a valid attribute map")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_type_round_trips() {
        let item = Item::from([
            ("PK".to_owned(), Value::S("USER#1".into())),
            ("SK".to_owned(), Value::S("".into())),
            (
                "unicode".to_owned(),
                Value::S("é\u{0}\u{ffff}\u{1F600}\"\\".into()),
            ),
            ("max".to_owned(), Value::N(i64::MAX)),
            ("min".to_owned(), Value::N(i64::MIN)),
            ("zero".to_owned(), Value::N(0)),
            ("yes".to_owned(), Value::Bool(true)),
            ("no".to_owned(), Value::Bool(false)),
            ("nothing".to_owned(), Value::Null),
            ("empty".to_owned(), Value::L(vec![])),
            (
                "nested".to_owned(),
                Value::L(vec![
                    Value::N(1),
                    Value::S("a".into()),
                    Value::L(vec![Value::Null, Value::Bool(false)]),
                ]),
            ),
            ("".to_owned(), Value::S("odd name".into())),
        ]);
        assert_eq!(decode(&encode(&item)).unwrap(), item);
    }

    #[test]
    fn malformed_text_is_a_backend_error() {
        for text in [
            "",
            "[]",
            r#"{"a": 1}"#,
            r#"{"a": {"N": 1.5}}"#,
            r#"{"a": {"S": "x", "N": 1}}"#,
        ] {
            assert!(
                matches!(decode(text), Err(TableError::Backend(_))),
                "{text}"
            );
        }
    }
}
