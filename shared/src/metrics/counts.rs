//! What each change adds to the dashboard's counters. The `counts` consumer reads them off the
//! table's stream (`of_change`), so no request writes a counter, and applies each change's
//! deltas once however often the stream delivers it (`MetricsStore::add_counts`).

use crate::domain::{AuditAction, AuditEvent, AuditOutcome, Post, PostStatus, User};
use crate::store::Changed;

/// Counter names. Per-day counters are bucketed by UTC date (`2026-11-25`), totals by `total`.
pub const USERS: &str = "users";
pub const SIGNUPS: &str = "signups";
pub const ACTIVE_USERS: &str = "active-users";
pub const POSTS: &str = "posts";
pub const POSTS_CREATED: &str = "posts-created";
pub const POSTS_PUBLISHED: &str = "posts-published";
pub const FAILED_LOGINS: &str = "failed-logins";
pub const LOCKOUTS: &str = "lockouts";
pub const TOTAL: &str = "total";

/// Counters bucketed per day, in the order the dashboard lists them.
pub const DAILY: &[&str] = &[
    SIGNUPS,
    ACTIVE_USERS,
    POSTS_CREATED,
    POSTS_PUBLISHED,
    FAILED_LOGINS,
    LOCKOUTS,
];

/// The total counter of posts in one status.
pub fn posts_in(status: PostStatus) -> String {
    format!("{POSTS}-in-{}", status.as_str())
}

/// Every total counter.
pub fn totals() -> Vec<String> {
    let mut names = vec![USERS.to_owned(), POSTS.to_owned()];
    names.extend(
        [
            PostStatus::Draft,
            PostStatus::Published,
            PostStatus::Archived,
        ]
        .into_iter()
        .map(posts_in),
    );
    names
}

/// One change to one counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub name: String,
    pub bucket: String,
    pub by: i64,
}

impl Delta {
    fn total(name: impl Into<String>, by: i64) -> Self {
        Self {
            name: name.into(),
            bucket: TOTAL.to_owned(),
            by,
        }
    }

    fn on_day(name: &str, at: i64) -> Self {
        Self {
            name: name.to_owned(),
            bucket: day_of(at),
            by: 1,
        }
    }
}

/// The UTC date of an epoch-milliseconds instant, `YYYY-MM-DD`.
pub fn day_of(ms: i64) -> String {
    crate::clock::rfc3339(ms)[..10].to_owned()
}

pub fn user_created(user: &User) -> Vec<Delta> {
    vec![
        Delta::total(USERS, 1),
        Delta::on_day(SIGNUPS, user.created_at),
    ]
}

pub fn user_deleted() -> Vec<Delta> {
    vec![Delta::total(USERS, -1)]
}

pub fn post_created(post: &Post) -> Vec<Delta> {
    let mut deltas = vec![
        Delta::total(POSTS, 1),
        Delta::total(posts_in(post.status), 1),
        Delta::on_day(POSTS_CREATED, post.created_at),
    ];
    if let Some(at) = post.published_at {
        deltas.push(Delta::on_day(POSTS_PUBLISHED, at));
    }
    deltas
}

pub fn post_changed(previous: &Post, next: &Post) -> Vec<Delta> {
    let mut deltas = Vec::new();
    if previous.status != next.status {
        deltas.push(Delta::total(posts_in(previous.status), -1));
        deltas.push(Delta::total(posts_in(next.status), 1));
    }
    if let (None, Some(at)) = (previous.published_at, next.published_at) {
        deltas.push(Delta::on_day(POSTS_PUBLISHED, at));
    }
    deltas
}

pub fn post_deleted(post: &Post) -> Vec<Delta> {
    vec![
        Delta::total(POSTS, -1),
        Delta::total(posts_in(post.status), -1),
    ]
}

/// Failed logins and lockouts are counted with their audit events.
pub fn audited(event: &AuditEvent) -> Vec<Delta> {
    match (event.action, event.outcome) {
        (AuditAction::Login, AuditOutcome::Failure) => vec![Delta::on_day(FAILED_LOGINS, event.at)],
        (AuditAction::Lockout, _) => vec![Delta::on_day(LOCKOUTS, event.at)],
        _ => Vec::new(),
    }
}

/// A user's first active-day marker of `day`.
pub fn became_active(day: &str) -> Delta {
    Delta {
        name: ACTIVE_USERS.to_owned(),
        bucket: day.to_owned(),
        by: 1,
    }
}

/// What one change in the table adds to the counters. A user counts while active; a post
/// while it exists and its author's clean-up has not hidden it.
#[allow(clippy::borrowed_box)] // the filters take what `Option<Box<_>>::as_ref` gives
pub fn of_change(changed: &Changed) -> Vec<Delta> {
    match changed {
        Changed::User { before, after } => {
            let active = |user: &Option<Box<User>>| user.as_ref().is_some_and(|u| u.is_active());
            match (
                before.as_ref().filter(|_| active(before)),
                after.as_ref().filter(|_| active(after)),
            ) {
                (None, Some(user)) => user_created(user),
                (Some(_), None) => user_deleted(),
                _ => Vec::new(),
            }
        }
        Changed::Post { before, after } => {
            let counted = |post: &&Box<Post>| !post.author_deleted;
            match (
                before.as_ref().filter(counted),
                after.as_ref().filter(counted),
            ) {
                (None, Some(post)) => post_created(post),
                (Some(post), None) => post_deleted(post),
                (Some(previous), Some(next)) => post_changed(previous, next),
                (None, None) => Vec::new(),
            }
        }
        Changed::BecameActive { day } => vec![became_active(day)],
        Changed::Audited(event) => audited(event),
        Changed::JobWaiting(_) | Changed::Other => Vec::new(),
    }
}
