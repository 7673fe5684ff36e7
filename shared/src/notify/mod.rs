//! Outbound notifications and how a failed delivery should be retried.

use std::time::Duration;

pub mod html;
pub mod mail;
pub mod telegram;

/// Why a message was not delivered, sorted by what the caller should do next.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Rate limited: try again no sooner than this.
    #[error("rate limited; retry in {} s", .0.as_secs())]
    RetryAfter(Duration),
    /// Timeouts, connection failures and server errors: retry with back-off.
    #[error("delivery failed for now: {0}")]
    Transient(String),
    /// Rejected for a reason a retry cannot fix (bad token, unknown chat, bot blocked, ...).
    #[error("delivery rejected: {0}")]
    Permanent(String),
}
