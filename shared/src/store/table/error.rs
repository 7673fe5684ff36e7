use crate::BoxError;
use crate::store::StoreError;

/// Why a table operation did not happen. Both engines answer with the same variant for the
/// same cause (the differential test holds them to it).
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A condition did not hold: the indexes of the actions whose condition failed (a single
    /// write is action 0). Nothing was written.
    #[error("condition failed on action(s) {0:?}")]
    ConditionFailed(Vec<usize>),
    /// Throttled, or contended by other transactions, after the engine's retries.
    #[error("the table is throttling or contended")]
    Throttled(#[source] BoxError),
    /// No answer in time, or the service is down: worth retrying later.
    #[error("the table is unavailable")]
    Unavailable(#[source] BoxError),
    /// The request breaks one of DynamoDB's rules (a key or item too large, an empty key, two
    /// actions on one item in a transaction, more than 100 actions). A bug, not bad luck.
    #[error("invalid request: {0}")]
    Validation(String),
    #[error("table backend error")]
    Backend(#[source] BoxError),
}

impl TableError {
    pub fn backend(cause: impl Into<BoxError>) -> Self {
        Self::Backend(cause.into())
    }

    /// True when the (single) write's condition failed.
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, TableError::ConditionFailed(_))
    }

    /// The failed actions of a cancelled transaction, if that is what this is.
    pub fn failed_actions(&self) -> Option<&[usize]> {
        match self {
            TableError::ConditionFailed(failed) => Some(failed),
            _ => None,
        }
    }
}

/// A failed condition, seen from the entity stores, is someone else writing first.
impl From<TableError> for StoreError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::ConditionFailed(_) => StoreError::Conflict,
            TableError::Throttled(cause) | TableError::Unavailable(cause) => {
                StoreError::Unavailable(cause)
            }
            TableError::Validation(message) => StoreError::backend(message),
            TableError::Backend(cause) => StoreError::Backend(cause),
        }
    }
}
