//! What an item change in the table's stream means to the consumers (the dashboard's counts,
//! the outbox relay), read back as the entity the item stores (`entities::read_change`).

use crate::domain::{AuditEvent, Post, User};

use super::OutboxRow;

#[derive(Debug, Clone, PartialEq)]
pub enum Changed {
    /// A user's item, before and after (`None`: it did not exist / no longer exists).
    User {
        before: Option<Box<User>>,
        after: Option<Box<User>>,
    },
    /// A post's main item, before and after.
    Post {
        before: Option<Box<Post>>,
        after: Option<Box<Post>>,
    },
    /// A user's first active-day marker of a day (`YYYY-MM-DD`) was written.
    BecameActive { day: String },
    /// An audit event was recorded.
    Audited(Box<AuditEvent>),
    /// An outbox row was written or rewritten: its job waits to be relayed.
    JobWaiting(Box<OutboxRow>),
    /// Anything else (sessions, tokens, markers, counters...): nothing to do.
    Other,
}
