//! Rate limits kept in the store, so they hold across every Lambda instance and restart:
//! fixed-window counters (one item per subject and window, removed by TTL after it) taken with
//! a conditional add, before any expensive work such as a password hash. API Gateway's
//! throttles (template.yaml) sit in front of these.

mod counters;
mod login;
mod quota;
mod rules;

pub use counters::{
    Taken, count_request, counter, ip_subject, subject, take_all, take_shared_budget, too_many,
};
pub use login::{LoginAttempt, account_key, admit_login, unlock_login, verify_current_password};
pub use quota::{Quota, with_quota};
pub use rules::{RateLimits, Rule};
