//! Errors as the table reports them, and writes as DynamoDB runs them under contention: a write
//! refused only because the service is busy (throttling, another transaction on the same items)
//! is tried again after a jittered, growing pause; a failed condition is reported with the
//! actions it failed on; anything else is an error with its cause kept.

use std::error::Error;
use std::fmt::Debug;
use std::future::Future;

use crate::store::table::back_off;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::store::table::TableError;

/// How many times a write is sent before it is reported as `Throttled`.
pub(super) const ATTEMPTS: u32 = 5;

/// Error codes that mean "the service is busy", not that the request is wrong.
const TRANSIENT_CODES: &[&str] = &[
    "TransactionConflictException",
    "TransactionInProgressException",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Cancellation reasons that another try may get past.
const TRANSIENT_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

#[derive(Debug, PartialEq)]
pub(super) enum Outcome {
    /// The conditions of these actions failed.
    Condition(Vec<usize>),
    Transient,
    Unavailable,
    Validation(String),
    Fatal,
}

impl Outcome {
    /// The error an attempt that ended this way is reported as.
    pub fn into_error<E, R>(self, e: SdkError<E, R>) -> TableError
    where
        E: Error + Send + Sync + 'static,
        R: Debug + Send + Sync + 'static,
    {
        match self {
            Outcome::Condition(actions) => TableError::ConditionFailed(actions),
            Outcome::Transient => TableError::Throttled(Box::new(e)),
            Outcome::Unavailable => TableError::Unavailable(Box::new(e)),
            Outcome::Validation(message) => TableError::Validation(message),
            Outcome::Fatal => TableError::Backend(Box::new(e)),
        }
    }
}

/// What a failed request (other than a transaction) means; a failed condition is action 0's.
pub(super) fn classify<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Outcome {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Outcome::Unavailable,
        SdkError::ServiceError(service) => {
            let service = service.err();
            match service.code() {
                Some("ConditionalCheckFailedException") => Outcome::Condition(vec![0]),
                Some("ValidationException") => {
                    Outcome::Validation(service.message().unwrap_or("ValidationException").into())
                }
                Some(code) if TRANSIENT_CODES.contains(&code) => Outcome::Transient,
                _ => Outcome::Fatal,
            }
        }
        _ => Outcome::Fatal,
    }
}

/// What a failed transaction means: a cancellation by its reasons (one per action, in order),
/// anything else as any other request.
pub(super) fn classify_transaction<R>(e: &SdkError<TransactWriteItemsError, R>) -> Outcome {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = e.as_service_error()
    else {
        return classify(e);
    };
    let reasons = cancel.cancellation_reasons();
    let code = |i: usize| reasons[i].code().unwrap_or("None");
    let failed: Vec<usize> = (0..reasons.len())
        .filter(|&i| code(i) == "ConditionalCheckFailed")
        .collect();
    if !failed.is_empty() {
        return Outcome::Condition(failed);
    }
    if let Some(invalid) = reasons.iter().find(|r| r.code() == Some("ValidationError")) {
        let message = invalid
            .message()
            .or(cancel.message())
            .unwrap_or("ValidationError");
        return Outcome::Validation(message.to_owned());
    }
    let others: Vec<&str> = (0..reasons.len())
        .map(code)
        .filter(|c| *c != "None")
        .collect();
    if !others.is_empty() && others.iter().all(|c| TRANSIENT_REASONS.contains(c)) {
        Outcome::Transient
    } else {
        Outcome::Fatal
    }
}

/// The error a failed request is reported as, without retrying it (reads, table creation).
pub(super) fn request_error<E, R>(e: SdkError<E, R>) -> TableError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    classify(&e).into_error(e)
}

/// Sends a request (`send` builds and sends it afresh each time) until it succeeds, fails for
/// a reason other than a transient one, or has been tried `ATTEMPTS` times.
pub(super) async fn retrying<T, E, R, Fut>(
    mut send: impl FnMut() -> Fut,
    classify: fn(&SdkError<E, R>) -> Outcome,
) -> Result<T, TableError>
where
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let mut attempt = 0;
    loop {
        let e = match send().await {
            Ok(output) => return Ok(output),
            Err(e) => e,
        };
        match classify(&e) {
            Outcome::Transient if attempt + 1 < ATTEMPTS => {
                tracing::debug!(attempt, error = %e, "write contended or throttled; retrying");
                back_off(attempt).await;
                attempt += 1;
            }
            outcome => return Err(outcome.into_error(e)),
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
            .map(|c| {
                CancellationReason::builder()
                    .code(*c)
                    .message(format!("{c}!"))
                    .build()
            })
            .collect();
        let e = TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons))
            .build();
        SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(e), ())
    }

    #[test]
    fn only_failed_conditions_are_conflicts_and_only_contention_is_retried() {
        assert_eq!(
            classify_transaction(&cancelled(&["None", "ConditionalCheckFailed"])),
            Outcome::Condition(vec![1])
        );
        assert_eq!(
            classify_transaction(&cancelled(&[
                "ConditionalCheckFailed",
                "None",
                "ConditionalCheckFailed"
            ])),
            Outcome::Condition(vec![0, 2])
        );
        assert_eq!(
            classify_transaction(&cancelled(&["TransactionConflict", "None"])),
            Outcome::Transient
        );
        assert_eq!(
            classify_transaction(&cancelled(&["ThrottlingError"])),
            Outcome::Transient
        );
        assert_eq!(
            classify_transaction(&cancelled(&["ValidationError", "None"])),
            Outcome::Validation("ValidationError!".to_owned())
        );
        assert_eq!(
            classify_transaction(&cancelled(&[
                "TransactionConflict",
                "ItemCollectionSizeLimitExceeded"
            ])),
            Outcome::Fatal
        );
        assert_eq!(classify_transaction(&cancelled(&[])), Outcome::Fatal);
    }
}
