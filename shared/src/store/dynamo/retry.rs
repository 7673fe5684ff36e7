//! Writes as DynamoDB runs them under contention: a transaction cancelled only because another
//! transaction touched the same items, or because of throttling, is tried again after a
//! jittered, growing pause; a failed condition is reported with the item it failed on; any other
//! cancellation reason is an error with the reason kept.

use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::{DynamoStore, TRANSIENT_CODES};
use crate::store::StoreError;

const ATTEMPTS: u32 = 5;
const BASE_DELAY_MS: u64 = 20;

/// Cancellation reasons that another try may get past.
const TRANSIENT_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Why a write did not happen.
#[derive(Debug)]
pub(super) enum WriteError {
    /// A condition did not hold; for a transaction, the indexes of the items whose did not.
    Condition(Vec<usize>),
    Store(StoreError),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for WriteError {
    fn from(e: aws_sdk_dynamodb::error::BuildError) -> Self {
        WriteError::Store(e.into())
    }
}

impl WriteError {
    /// Conditions failing means someone else wrote first.
    pub fn into_store_error(self) -> StoreError {
        match self {
            WriteError::Condition(_) => StoreError::Conflict,
            WriteError::Store(e) => e,
        }
    }
}

enum Outcome {
    Condition(Vec<usize>),
    Transient,
    Fatal,
}

fn classify<R>(e: &SdkError<TransactWriteItemsError, R>) -> Outcome {
    let Some(service) = e.as_service_error() else {
        return Outcome::Fatal;
    };
    if let TransactWriteItemsError::TransactionCanceledException(cancel) = service {
        let codes: Vec<&str> = cancel
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        let failed: Vec<usize> = codes
            .iter()
            .enumerate()
            .filter(|(_, code)| **code == "ConditionalCheckFailed")
            .map(|(i, _)| i)
            .collect();
        if !failed.is_empty() {
            return Outcome::Condition(failed);
        }
        let others: Vec<&&str> = codes.iter().filter(|c| **c != "None").collect();
        return if !others.is_empty() && others.iter().all(|c| TRANSIENT_REASONS.contains(c)) {
            Outcome::Transient
        } else {
            Outcome::Fatal
        };
    }
    if service.code().is_some_and(|c| TRANSIENT_CODES.contains(&c)) {
        Outcome::Transient
    } else {
        Outcome::Fatal
    }
}

/// A pause of about `BASE_DELAY_MS * 2^attempt`, jittered so racing writers spread out.
pub(super) async fn back_off(attempt: u32) {
    let ceiling = BASE_DELAY_MS << attempt.min(6);
    let mut byte = [0u8; 1];
    let _ = SystemRandom::new().fill(&mut byte);
    let delay = ceiling / 2 + ceiling * u64::from(byte[0]) / 512;
    tokio::time::sleep(Duration::from_millis(delay)).await;
}

impl DynamoStore {
    /// Runs a transaction, retrying contention and throttling with back-off. Every attempt
    /// carries the same client request token, so one whose answer was lost after it committed
    /// is not applied twice (DynamoDB answers a repeat within ten minutes with success).
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), WriteError> {
        let token = uuid::Uuid::new_v4().to_string();
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let Err(e) = result else {
                return Ok(());
            };
            match classify(&e) {
                Outcome::Condition(items) => return Err(WriteError::Condition(items)),
                Outcome::Transient if attempt + 1 < ATTEMPTS => {
                    tracing::debug!(attempt, "transaction contended; retrying");
                    back_off(attempt).await;
                    attempt += 1;
                }
                Outcome::Transient => {
                    return Err(WriteError::Store(StoreError::Unavailable(Box::new(e))));
                }
                Outcome::Fatal => {
                    let error = StoreError::from(e);
                    tracing::error!(error = ?error, "transaction failed");
                    return Err(WriteError::Store(error));
                }
            }
        }
    }

    /// Runs a conditional `UpdateItem`, retrying contention and throttling with back-off; a
    /// failed condition is `Condition(vec![0])`.
    pub(super) async fn update(
        &self,
        request: UpdateItemFluentBuilder,
    ) -> Result<UpdateItemOutput, WriteError> {
        let mut attempt = 0;
        loop {
            let e = match request.clone().send().await {
                Ok(output) => return Ok(output),
                Err(e) => e,
            };
            let service = e.as_service_error();
            if service.is_some_and(|s| s.is_conditional_check_failed_exception()) {
                return Err(WriteError::Condition(vec![0]));
            }
            let transient = service
                .and_then(|s| s.code())
                .is_some_and(|c| TRANSIENT_CODES.contains(&c));
            if !transient || attempt + 1 >= ATTEMPTS {
                return Err(WriteError::Store(e.into()));
            }
            back_off(attempt).await;
            attempt += 1;
        }
    }
}

impl DynamoStore {
    /// Runs a conditional `PutItem`, retrying contention and throttling with back-off; a
    /// failed condition is `Condition(vec![0])`.
    pub(super) async fn put(&self, request: PutItemFluentBuilder) -> Result<(), WriteError> {
        let mut attempt = 0;
        loop {
            let e = match request.clone().send().await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let service = e.as_service_error();
            if service.is_some_and(|s| s.is_conditional_check_failed_exception()) {
                return Err(WriteError::Condition(vec![0]));
            }
            let transient = service
                .and_then(|s| s.code())
                .is_some_and(|c| TRANSIENT_CODES.contains(&c));
            if !transient || attempt + 1 >= ATTEMPTS {
                return Err(WriteError::Store(e.into()));
            }
            back_off(attempt).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;

    fn cancelled(codes: &[&str]) -> SdkError<TransactWriteItemsError, ()> {
        let reasons = codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .collect();
        let e = TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons))
            .build();
        SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(e), ())
    }

    #[test]
    fn only_failed_conditions_are_conflicts_and_only_contention_is_retried() {
        assert!(matches!(
            classify(&cancelled(&["None", "ConditionalCheckFailed"])),
            Outcome::Condition(items) if items == vec![1]
        ));
        assert!(matches!(
            classify(&cancelled(&["TransactionConflict", "None"])),
            Outcome::Transient
        ));
        assert!(matches!(
            classify(&cancelled(&["ThrottlingError"])),
            Outcome::Transient
        ));
        assert!(matches!(
            classify(&cancelled(&["ValidationError", "None"])),
            Outcome::Fatal
        ));
        assert!(matches!(classify(&cancelled(&[])), Outcome::Fatal));
    }
}
