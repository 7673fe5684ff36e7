//! Rate limits kept in the store, so they hold across every Lambda instance and restart:
//! fixed-window counters (one item per subject and window, removed by TTL after it) taken with
//! a conditional add, before any expensive work such as a password hash. API Gateway's
//! throttles (template.yaml) sit in front of these.

mod counters;
mod login;
mod quota;

pub use crate::config::{RateLimits, Rule};
pub use counters::{Limits, Taken, counter, ip_subject, subject, too_many};
pub use login::{LoginAttempt, Logins, account_key};
pub use quota::{Quota, with_quota};
