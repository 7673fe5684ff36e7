//! `Value` to `AttributeValue` and back. Only the types the table writes are read back; any
//! other (a set, a map, binary, a fraction) is a backend error.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::table::{Item, Key, TableError, Value};

pub(super) type Attributes = HashMap<String, AttributeValue>;

pub(super) fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::L(values) => AttributeValue::L(values.iter().map(to_attribute).collect()),
    }
}

pub(super) fn from_attribute(name: &str, value: AttributeValue) -> Result<Value, TableError> {
    Ok(match value {
        AttributeValue::S(s) => Value::S(s),
        AttributeValue::N(n) => Value::N(n.parse().map_err(|_| {
            TableError::backend(format!("`{name}` holds {n}, not a 64-bit integer"))
        })?),
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(values) => Value::L(
            values
                .into_iter()
                .map(|v| from_attribute(name, v))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(TableError::backend(format!(
                "`{name}` holds an unsupported type: {other:?}"
            )));
        }
    })
}

pub(super) fn to_attributes(item: &Item) -> Attributes {
    item.iter()
        .map(|(name, value)| (name.clone(), to_attribute(value)))
        .collect()
}

pub(super) fn from_attributes(attributes: Attributes) -> Result<Item, TableError> {
    item_of(attributes, from_attribute)
}

/// An item from named attributes in any of DynamoDB's shapes (the SDK's, a stream event's
/// JSON, the streams SDK's), each read with `read`.
pub(super) fn item_of<V>(
    attributes: impl IntoIterator<Item = (String, V)>,
    read: impl Fn(&str, V) -> Result<Value, TableError>,
) -> Result<Item, TableError> {
    attributes
        .into_iter()
        .map(|(name, value)| {
            let value = read(&name, value)?;
            Ok((name, value))
        })
        .collect()
}

pub(super) fn key_attributes(key: &Key) -> Attributes {
    to_attributes(&key.to_item())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let item = Item::from([
            ("s".to_owned(), Value::S("x".to_owned())),
            ("n".to_owned(), Value::N(i64::MIN)),
            ("b".to_owned(), Value::Bool(true)),
            ("z".to_owned(), Value::Null),
            (
                "l".to_owned(),
                Value::L(vec![Value::N(-3), Value::L(vec![Value::S(String::new())])]),
            ),
        ]);
        assert_eq!(from_attributes(to_attributes(&item)).unwrap(), item);
        assert_eq!(
            to_attribute(&Value::N(42)),
            AttributeValue::N("42".to_owned())
        );
    }

    #[test]
    fn fractions_overflow_and_other_types_are_backend_errors() {
        for value in [
            AttributeValue::N("1.5".to_owned()),
            AttributeValue::N("9223372036854775808".to_owned()),
            AttributeValue::Ss(vec!["a".to_owned()]),
            AttributeValue::M(HashMap::new()),
            AttributeValue::L(vec![AttributeValue::N("1e3".to_owned())]),
        ] {
            let result = from_attribute("a", value);
            assert!(matches!(result, Err(TableError::Backend(_))), "{result:?}");
        }
    }
}
