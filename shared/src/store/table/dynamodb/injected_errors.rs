//! Retries and error mapping against service errors the emulator never raises: transaction
//! cancellations, contention, throttling, validation failures and unprocessed keys, injected as
//! DynamoDB's own HTTP error bodies so they go through the SDK's deserializer as in production.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::json;

use super::DynamoTable;
use super::retry::ATTEMPTS;
use crate::store::table::{
    Action, Check, Condition, Item, Key, Put, Query, Read, Returns, Table, TableError, Update,
    Value, item,
};

const TABLE: &str = "app";
const ATTEMPTS_MADE: usize = ATTEMPTS as usize;

/// A table whose client answers from `rules`. The SDK's own retries are off so that every call
/// a rule counts is one the engine made.
fn table(rules: &[&Rule]) -> DynamoTable {
    let client: Client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |c| {
        c.retry_config(RetryConfig::disabled())
    });
    DynamoTable::new(client, TABLE)
}

/// A DynamoDB error body as the service sends it (with a 400 status).
fn error_body(kind: &str, mut fields: serde_json::Value) -> String {
    fields["__type"] = json!(format!("com.amazonaws.dynamodb.v20120810#{kind}"));
    fields["message"] = json!(format!("injected {kind}"));
    fields.to_string()
}

/// A `TransactionCanceledException` with one reason code per action, in action order.
fn cancelled(codes: &[&str]) -> String {
    let reasons: Vec<_> = codes
        .iter()
        .map(|code| json!({ "Code": code, "Message": format!("reason {code}") }))
        .collect();
    error_body(
        "TransactionCanceledException",
        json!({ "CancellationReasons": reasons }),
    )
}

fn plain(kind: &str) -> String {
    error_body(kind, json!({}))
}

fn key(id: &str) -> Key {
    Key::new(format!("USER#{id}"), "PROFILE")
}

fn user(id: &str) -> Item {
    item(
        &key(id),
        [("name", Value::from("Ada")), ("version", Value::N(1))],
    )
}

/// A new user and its e-mail marker, both only if absent, and a check on a third item.
fn three_actions() -> Vec<Action> {
    vec![
        Put::if_absent(user("u1")).into(),
        Put::if_absent(item(&Key::new("EMAIL#ada@example.com", "EMAIL"), [])).into(),
        Check {
            key: key("admin"),
            condition: Condition::eq("role", "admin"),
        }
        .into(),
    ]
}

#[tokio::test]
async fn a_contended_transaction_is_retried_with_one_token_until_it_commits() {
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = tokens.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            let token = req.client_request_token().unwrap_or_default().to_owned();
            seen.lock().unwrap().push(token);
            req.transact_items().len() == 3
        })
        .sequence()
        .http_status(
            400,
            Some(cancelled(&["TransactionConflict", "None", "None"])),
        )
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();

    table(&[&rule]).transact(three_actions()).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 3);
    assert!(!tokens[0].is_empty());
    assert!(tokens.iter().all(|t| t == &tokens[0]), "{tokens:?}");
}

#[tokio::test]
async fn a_throttled_transaction_is_throttled_after_the_attempt_limit() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(
            400,
            Some(cancelled(&["ThrottlingError", "None", "ThrottlingError"])),
        )
        .repeatedly()
        .build();

    let result = table(&[&rule]).transact(three_actions()).await;
    assert!(
        matches!(result, Err(TableError::Throttled(_))),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), ATTEMPTS_MADE);
}

#[tokio::test]
async fn a_throttled_update_is_throttled_after_the_attempt_limit() {
    let rule = mock!(Client::update_item)
        .sequence()
        .http_status(400, Some(plain("ThrottlingException")))
        .repeatedly()
        .build();

    let update = Update::new(key("u1")).add("version", 1);
    let result = table(&[&rule]).update(update, Returns::Nothing).await;
    assert!(
        matches!(result, Err(TableError::Throttled(_))),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), ATTEMPTS_MADE);
}

#[tokio::test]
async fn a_failed_condition_names_its_actions_without_retry() {
    for failed in 0..3 {
        let mut codes = ["None"; 3];
        codes[failed] = "ConditionalCheckFailed";
        let rule = mock!(Client::transact_write_items)
            .sequence()
            .http_status(400, Some(cancelled(&codes)))
            .repeatedly()
            .build();
        let result = table(&[&rule]).transact(three_actions()).await;
        assert_eq!(result.unwrap_err().failed_actions(), Some(&[failed][..]));
        assert_eq!(rule.num_calls(), 1);
    }

    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(
            400,
            Some(cancelled(&[
                "ConditionalCheckFailed",
                "TransactionConflict",
                "ConditionalCheckFailed",
            ])),
        )
        .repeatedly()
        .build();
    let result = table(&[&rule]).transact(three_actions()).await;
    assert_eq!(result.unwrap_err().failed_actions(), Some(&[0, 2][..]));

    let rule = mock!(Client::put_item)
        .sequence()
        .http_status(400, Some(plain("ConditionalCheckFailedException")))
        .repeatedly()
        .build();
    let result = table(&[&rule]).put(Put::if_absent(user("u1"))).await;
    assert_eq!(result.unwrap_err().failed_actions(), Some(&[0][..]));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_put_over_provisioned_throughput_is_retried_until_it_applies() {
    let rule = mock!(Client::put_item)
        .match_requests(|req| {
            req.table_name() == Some(TABLE)
                && req.condition_expression() == Some("attribute_not_exists(#n0)")
                && req.expression_attribute_names().and_then(|n| n.get("#n0"))
                    == Some(&"PK".to_owned())
                && req.expression_attribute_values().is_none()
                && req.item().and_then(|i| i.get("version"))
                    == Some(&AttributeValue::N("1".to_owned()))
        })
        .sequence()
        .http_status(400, Some(plain("ProvisionedThroughputExceededException")))
        .times(2)
        .output(|| PutItemOutput::builder().build())
        .build();

    table(&[&rule])
        .put(Put::if_absent(user("u1")))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn invalid_requests_are_validation_errors_without_retry() {
    let rule = mock!(Client::update_item)
        .sequence()
        .http_status(400, Some(plain("ValidationException")))
        .repeatedly()
        .build();
    let update = Update::new(key("u1")).set("name", "Ada");
    let result = table(&[&rule]).update(update, Returns::New).await;
    assert!(
        matches!(&result, Err(TableError::Validation(m)) if m == "injected ValidationException"),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1);

    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(cancelled(&["None", "ValidationError", "None"])))
        .repeatedly()
        .build();
    let result = table(&[&rule]).transact(three_actions()).await;
    assert!(
        matches!(&result, Err(TableError::Validation(m)) if m == "reason ValidationError"),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn too_many_actions_are_refused_before_any_request() {
    let rule = mock!(Client::transact_write_items)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let actions: Vec<Action> = (0..101)
        .map(|i| Put::new(user(&i.to_string())).into())
        .collect();
    let result = table(&[&rule]).transact(actions).await;
    assert!(
        matches!(result, Err(TableError::Validation(_))),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn reads_map_throttling_without_retry() {
    let rule = mock!(Client::query)
        .sequence()
        .http_status(400, Some(plain("ProvisionedThroughputExceededException")))
        .repeatedly()
        .build();
    let result = table(&[&rule]).query(&Query::table("USER#u1")).await;
    assert!(
        matches!(result, Err(TableError::Throttled(_))),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}

fn attributes(item: &Item) -> HashMap<String, AttributeValue> {
    super::convert::to_attributes(item)
}

fn unprocessed(ids: &[&str]) -> KeysAndAttributes {
    KeysAndAttributes::builder()
        .set_keys(Some(
            ids.iter()
                .map(|id| super::convert::key_attributes(&key(id)))
                .collect(),
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn unprocessed_keys_are_read_again_until_none_are_left() {
    let rule = mock!(Client::batch_get_item)
        .sequence()
        .output(|| {
            BatchGetItemOutput::builder()
                .responses(TABLE, vec![attributes(&user("u1"))])
                .unprocessed_keys(TABLE, unprocessed(&["u2"]))
                .build()
        })
        .output(|| {
            BatchGetItemOutput::builder()
                .responses(TABLE, vec![attributes(&user("u2"))])
                .build()
        })
        .build();

    let keys = [key("u1"), key("u2"), key("u1")];
    let mut items = table(&[&rule])
        .get_many(&keys, Read::Consistent, None)
        .await
        .unwrap();
    items.sort();
    assert_eq!(items, [user("u1"), user("u2")]);
    assert_eq!(rule.num_calls(), 2);

    let rule = mock!(Client::batch_get_item)
        .sequence()
        .output(|| {
            BatchGetItemOutput::builder()
                .unprocessed_keys(TABLE, unprocessed(&["u1"]))
                .build()
        })
        .repeatedly()
        .build();
    let result = table(&[&rule]).get_many(&keys, Read::Eventual, None).await;
    assert!(
        matches!(result, Err(TableError::Throttled(_))),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), ATTEMPTS_MADE);
}
