//! An item as stored in the `item` column: a JSON object of attribute name to a tagged value
//! (`{"S": "…"}`, `{"N": 7}`, `{"BOOL": true}`, `{"NULL": true}`, `{"L": […]}`), so every
//! `Value` comes back as exactly the type and value it was written with.

use serde_json::{Map, Value as Json};

use super::super::{Item, TableError, Value};

pub fn encode(item: &Item) -> String {
    let object: Map<String, Json> = item
        .iter()
        .map(|(name, value)| (name.clone(), encode_value(value)))
        .collect();
    Json::Object(object).to_string()
}

pub fn decode(text: &str) -> Result<Item, TableError> {
    let Json::Object(object) = serde_json::from_str(text).map_err(TableError::backend)? else {
        return Err(corrupt());
    };
    object
        .into_iter()
        .map(|(name, value)| Ok((name, decode_value(value)?)))
        .collect()
}

fn encode_value(value: &Value) -> Json {
    let (tag, inner) = match value {
        Value::S(s) => ("S", Json::String(s.clone())),
        Value::N(n) => ("N", Json::from(*n)),
        Value::Bool(b) => ("BOOL", Json::Bool(*b)),
        Value::Null => ("NULL", Json::Bool(true)),
        Value::L(values) => ("L", Json::Array(values.iter().map(encode_value).collect())),
    };
    Json::Object(Map::from_iter([(tag.to_owned(), inner)]))
}

fn decode_value(json: Json) -> Result<Value, TableError> {
    let Json::Object(object) = json else {
        return Err(corrupt());
    };
    let mut entries = object.into_iter();
    let (Some((tag, inner)), None) = (entries.next(), entries.next()) else {
        return Err(corrupt());
    };
    Ok(match (tag.as_str(), inner) {
        ("S", Json::String(s)) => Value::S(s),
        ("N", Json::Number(n)) => Value::N(n.as_i64().ok_or_else(corrupt)?),
        ("BOOL", Json::Bool(b)) => Value::Bool(b),
        ("NULL", Json::Bool(true)) => Value::Null,
        ("L", Json::Array(values)) => Value::L(
            values
                .into_iter()
                .map(decode_value)
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(corrupt()),
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
