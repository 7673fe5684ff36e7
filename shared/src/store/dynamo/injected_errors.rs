//! The adapter's retry and error mapping against service errors the emulator never raises:
//! transaction cancellations, contention, throttling and validation failures, injected as
//! DynamoDB's own HTTP error bodies so they go through the SDK's deserializer as in production.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::json;

use super::DynamoStore;
use super::item::{Item, n, s};
use crate::store::{RefreshRecord, Session, SessionStore, StoreError, UserStore};

const TABLE: &str = "app";
/// `retry::ATTEMPTS`: how many times the store sends a write before giving up.
const ATTEMPTS: usize = 5;

/// A store whose client answers from `rule`. The SDK's own retries are off so that every call
/// the rule counts is one the store made.
fn store(rule: &Rule) -> DynamoStore {
    let client: Client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [rule], |c| {
        c.retry_config(RetryConfig::disabled())
    });
    DynamoStore::new(client, TABLE)
}

/// A DynamoDB error body as the service sends it (with a 400 status).
fn error_body(kind: &str, mut fields: serde_json::Value) -> String {
    fields["__type"] = json!(format!("com.amazonaws.dynamodb.v20120810#{kind}"));
    fields["message"] = json!(format!("injected {kind}"));
    fields.to_string()
}

/// A `TransactionCanceledException` with one reason code per item, in item order.
fn cancelled(codes: &[&str]) -> String {
    let reasons: Vec<_> = codes.iter().map(|code| json!({ "Code": code })).collect();
    error_body(
        "TransactionCanceledException",
        json!({ "CancellationReasons": reasons }),
    )
}

fn plain(kind: &str) -> String {
    error_body(kind, json!({}))
}

fn session() -> Session {
    Session {
        id: "s1".to_owned(),
        user_id: "u1".to_owned(),
        generation: 0,
        created_at: 1_000,
        expires_at: 2_000_000_000_000,
        revoked_at: None,
    }
}

fn refresh_token() -> RefreshRecord {
    RefreshRecord {
        hash: "h1".to_owned(),
        user_id: "u1".to_owned(),
        session_id: "s1".to_owned(),
        created_at: 1_000,
        expires_at: 2_000_000_000_000,
        spent_at: None,
        successor: None,
    }
}

/// `create_session` is a two-item transaction (session, refresh token).
async fn create_session(store: &DynamoStore) -> Result<(), StoreError> {
    store.create_session(&session(), &refresh_token()).await
}

/// The profile as `UpdateItem` returns it with `ReturnValues=ALL_NEW`.
fn updated_profile() -> Item {
    Item::from([
        ("PK".to_owned(), s("USER#u1")),
        ("SK".to_owned(), s("PROFILE")),
        ("id".to_owned(), s("u1")),
        ("email".to_owned(), s("ada@example.com")),
        ("name".to_owned(), s("Ada")),
        ("role".to_owned(), s("user")),
        ("passwordHash".to_owned(), s("$argon2id$stub")),
        ("createdAt".to_owned(), n(1_000)),
        ("updatedAt".to_owned(), n(5_000)),
        ("version".to_owned(), n(3)),
        ("sessionGeneration".to_owned(), n(2)),
    ])
}

#[tokio::test]
async fn contended_transaction_is_retried_until_it_commits() {
    let rule = mock!(Client::transact_write_items)
        .match_requests(|req| req.transact_items().len() == 2)
        .sequence()
        .http_status(400, Some(cancelled(&["TransactionConflict", "None"])))
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();

    create_session(&store(&rule)).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

/// A registration counts the user in the same transaction. Retried after contention, every
/// attempt is the same transaction with the same client request token, so DynamoDB applies it
/// (and its counter updates) once, even if an earlier attempt's answer was lost after it
/// committed.
#[tokio::test]
async fn a_retried_transaction_carries_its_counts_and_token_unchanged() {
    use std::sync::{Arc, Mutex};
    /// Per attempt: the client request token and the keys of the counters it updates.
    type Attempt = (String, Vec<String>);
    let seen: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let record = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            let counters = req
                .transact_items()
                .iter()
                .filter_map(|item| item.update())
                .map(|update| format!("{:?}", update.key().get("PK")))
                .collect();
            let token = req.client_request_token().unwrap_or_default().to_owned();
            record.lock().unwrap().push((token, counters));
            true
        })
        .sequence()
        .http_status(
            400,
            Some(cancelled(&["TransactionConflict", "None", "None", "None"])),
        )
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let user = crate::domain::User::new(
        crate::domain::Email::parse("ada@example.com").unwrap(),
        crate::domain::DisplayName::parse("Ada").unwrap(),
        "$argon2id$stub".into(),
        1_795_543_200_000,
    );
    store(&rule)
        .create_user(&user, &crate::store::Effects::default())
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(!seen[0].0.is_empty());
    assert!(seen.iter().all(|attempt| attempt == &seen[0]), "{seen:?}");
    // The user total and the day's signups: one update each per attempt.
    assert_eq!(seen[0].1.len(), 2, "{seen:?}");
}

#[tokio::test]
async fn failed_transaction_condition_is_a_conflict_without_retry() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(cancelled(&["None", "ConditionalCheckFailed"])))
        .repeatedly()
        .build();

    let result = create_session(&store(&rule)).await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn invalid_transaction_is_a_backend_error_without_retry() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(cancelled(&["ValidationError", "None"])))
        .repeatedly()
        .build();

    let result = create_session(&store(&rule)).await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn throttled_transaction_is_unavailable_after_the_attempt_limit() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(
            400,
            Some(cancelled(&["ThrottlingError", "ThrottlingError"])),
        )
        .repeatedly()
        .build();

    let result = create_session(&store(&rule)).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), ATTEMPTS);
}

#[tokio::test]
async fn contended_update_is_retried_until_it_applies() {
    let rule = mock!(Client::update_item)
        .match_requests(|req| req.table_name() == Some(TABLE))
        .sequence()
        .http_status(400, Some(plain("TransactionConflictException")))
        .times(2)
        .output(|| {
            UpdateItemOutput::builder()
                .set_attributes(Some(updated_profile()))
                .build()
        })
        .build();

    store(&rule).end_all_sessions("u1", 5_000).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn failed_update_condition_is_the_methods_mapping_without_retry() {
    // No active user to end the sessions of.
    let rule = mock!(Client::update_item)
        .sequence()
        .http_status(400, Some(plain("ConditionalCheckFailedException")))
        .repeatedly()
        .build();
    let result = store(&rule).end_all_sessions("u1", 5_000).await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(rule.num_calls(), 1);

    // A session that no longer exists needs no revoking.
    let rule = mock!(Client::update_item)
        .sequence()
        .http_status(400, Some(plain("ConditionalCheckFailedException")))
        .repeatedly()
        .build();
    store(&rule)
        .revoke_session("u1", "s1", 5_000)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn invalid_update_is_a_backend_error_without_retry() {
    let rule = mock!(Client::update_item)
        .sequence()
        .http_status(400, Some(plain("ValidationException")))
        .repeatedly()
        .build();

    let result = store(&rule).revoke_session("u1", "s1", 5_000).await;
    let Err(StoreError::Backend(cause)) = result else {
        panic!("expected a backend error, got {result:?}");
    };
    // The service's error stays in the chain for the logs.
    assert!(
        format!("{cause:?}").contains("ValidationException"),
        "{cause:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn throttled_update_is_unavailable_after_the_attempt_limit() {
    let rule = mock!(Client::update_item)
        .sequence()
        .http_status(400, Some(plain("ThrottlingException")))
        .repeatedly()
        .build();

    let result = store(&rule).revoke_session("u1", "s1", 5_000).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), ATTEMPTS);
}
