//! The DynamoDB Streams event a Lambda event source mapping delivers, read as `Change`s, and the
//! partial-failure answer it takes back (`ReportBatchItemFailures`).

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::convert::item_of;
use crate::store::table::{Change, Item, TableError, Value};

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventID")]
    event_id: String,
    dynamodb: StreamRecord,
}

#[derive(Deserialize)]
struct StreamRecord {
    #[serde(rename = "SequenceNumber")]
    sequence_number: String,
    #[serde(rename = "OldImage")]
    old_image: Option<Map<String, Json>>,
    #[serde(rename = "NewImage")]
    new_image: Option<Map<String, Json>>,
}

/// The changes of a stream event, in the order delivered.
pub fn changes_of_event(event: Json) -> Result<Vec<Change>, TableError> {
    let event: Event = serde_json::from_value(event)
        .map_err(|e| TableError::backend(format!("not a DynamoDB stream event: {e}")))?;
    event
        .records
        .into_iter()
        .map(|record| {
            Ok(Change {
                id: record.event_id,
                sequence: record.dynamodb.sequence_number,
                old: record.dynamodb.old_image.map(image).transpose()?,
                new: record.dynamodb.new_image.map(image).transpose()?,
            })
        })
        .collect()
}

/// What the handler answers: the changes from `first_failed` on are delivered again.
pub fn batch_response(first_failed: Option<&Change>) -> Json {
    let failures: Vec<Json> = first_failed
        .map(|change| serde_json::json!({ "itemIdentifier": change.sequence }))
        .into_iter()
        .collect();
    serde_json::json!({ "batchItemFailures": failures })
}

fn image(attributes: Map<String, Json>) -> Result<Item, TableError> {
    item_of(attributes, attribute)
}

/// One attribute in DynamoDB's JSON (`{"S": "…"}`, `{"N": "7"}`, …); only the types the table
/// writes.
fn attribute(name: &str, value: Json) -> Result<Value, TableError> {
    let unsupported = || TableError::backend(format!("`{name}` holds an unsupported value"));
    let Json::Object(tagged) = value else {
        return Err(unsupported());
    };
    let Some((tag, inner)) = tagged.into_iter().next() else {
        return Err(unsupported());
    };
    Ok(match (tag.as_str(), inner) {
        ("S", Json::String(s)) => Value::S(s),
        ("N", Json::String(n)) => Value::N(n.parse().map_err(|_| unsupported())?),
        ("BOOL", Json::Bool(b)) => Value::Bool(b),
        ("NULL", _) => Value::Null,
        ("L", Json::Array(values)) => Value::L(
            values
                .into_iter()
                .map(|v| attribute(name, v))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_modify_record_with_both_images() {
        let event = serde_json::json!({"Records": [{
            "eventID": "e1", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": {"pk": {"S": "USER#1"}, "sk": {"S": "PROFILE"}},
                "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES",
                "OldImage": {"pk": {"S": "USER#1"}, "version": {"N": "1"}},
                "NewImage": {"pk": {"S": "USER#1"}, "version": {"N": "2"},
                    "tags": {"L": [{"S": "a"}]}, "gone": {"BOOL": false}, "x": {"NULL": true}}
            }
        }]});
        let changes = changes_of_event(event).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].id, "e1");
        assert_eq!(changes[0].sequence, "111");
        let old = changes[0].old.as_ref().unwrap();
        assert_eq!(old["version"], Value::N(1));
        let new = changes[0].new.as_ref().unwrap();
        assert_eq!(new["tags"], Value::L(vec![Value::S("a".into())]));
        assert_eq!(new["gone"], Value::Bool(false));
        assert_eq!(new["x"], Value::Null);
        assert_eq!(
            batch_response(Some(&changes[0])),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "111"}]})
        );
        assert_eq!(
            batch_response(None),
            serde_json::json!({"batchItemFailures": []})
        );
    }

    #[test]
    fn refuses_what_is_not_a_stream_event_or_a_type_the_table_writes() {
        assert!(changes_of_event(serde_json::json!({"Records": [{"x": 1}]})).is_err());
        let set = serde_json::json!({"Records": [{"eventID": "e", "dynamodb": {
            "SequenceNumber": "1", "NewImage": {"s": {"SS": ["a"]}}}}]});
        assert!(changes_of_event(set).is_err());
        assert!(changes_of_event(serde_json::json!({})).unwrap().is_empty());
    }
}
