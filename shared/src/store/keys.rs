//! Every key the store writes, in one place: table keys (`PK`/`SK`) and index partitions.
//! `table::schema` shows the whole layout; an entity module builds its keys only from here.

use super::table::Key;
use crate::domain::{Email, PostStatus, Role, Tag};

// ---- users -------------------------------------------------------------------------------

pub fn user(id: &str) -> Key {
    Key::new(format!("USER#{id}"), "PROFILE")
}

/// The marker that makes an active user's address unique.
pub fn email_marker(email: &Email) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}

/// Every active user (GSI1 by e-mail, GSI3 by name).
pub const USERS: &str = "USERS";

/// Active users holding `role` (GSI2, by e-mail).
pub fn users_with_role(role: Role) -> String {
    format!("USERS#{role}")
}

// ---- sessions ----------------------------------------------------------------------------

pub fn session(user_id: &str, session_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), format!("SESSION#{session_id}"))
}

pub fn refresh_token(hash: &str) -> Key {
    Key::new(format!("REFRESH#{hash}"), "REFRESH")
}

// ---- account tokens ----------------------------------------------------------------------

pub const TOKEN_PREFIX: &str = "TOKEN#";

pub fn account_token(hash: &str) -> Key {
    Key::new(format!("{TOKEN_PREFIX}{hash}"), "TOKEN")
}

// ---- posts -------------------------------------------------------------------------------

pub fn post_partition(id: &str) -> String {
    format!("POST#{id}")
}

pub fn post(id: &str) -> Key {
    Key::new(post_partition(id), "POST")
}

/// A post's entry for one of its tags (listing fields only).
pub fn post_tag(id: &str, tag: &Tag) -> Key {
    Key::new(post_partition(id), format!("TAG#{}", tag.as_str()))
}

/// Posts with a status, newest first (GSI1).
pub fn posts_with_status(status: PostStatus) -> String {
    format!("STATUS#{status}")
}

/// An author's visible posts (GSI2).
pub fn posts_by_author(author_id: &str) -> String {
    format!("AUTHOR#{author_id}")
}

/// An author's posts with a status (GSI3).
pub fn posts_by_author_with_status(author_id: &str, status: PostStatus) -> String {
    format!("AUTHOR#{author_id}#{status}")
}

/// Tag entries with a status (GSI1).
pub fn tagged(tag: &Tag, status: PostStatus) -> String {
    format!("TAG#{}#{status}", tag.as_str())
}

/// Tag entries with a status by one author (GSI2).
pub fn tagged_by_author(tag: &Tag, status: PostStatus, author_id: &str) -> String {
    format!("TAG#{}#{status}#AUTHOR#{author_id}", tag.as_str())
}

// ---- outbox ------------------------------------------------------------------------------

/// Jobs waiting for their queue (GSI1, oldest first).
pub const OUTBOX: &str = "OUTBOX";
/// Outbox rows that could not be read (GSI1, oldest first).
pub const OUTBOX_DEAD: &str = "OUTBOX_DEAD";

pub fn outbox_job(job_id: &str) -> Key {
    Key::new(format!("{OUTBOX}#{job_id}"), OUTBOX)
}

pub fn outbox_dead(job_id: &str) -> Key {
    Key::new(format!("{OUTBOX_DEAD}#{job_id}"), OUTBOX_DEAD)
}

/// Time-ordered index sort key: zero-padded epoch ms, then the id.
pub fn time_sort_key(at: i64, id: &str) -> String {
    format!("{at:013}#{id}")
}

// ---- job records -------------------------------------------------------------------------

pub fn job_record(job_id: &str) -> Key {
    Key::new(format!("JOB#{job_id}"), "JOB")
}

// ---- leads -------------------------------------------------------------------------------

/// Every lead, newest first (GSI1).
pub const LEADS: &str = "LEADS";

pub fn lead(id: &str) -> Key {
    Key::new(format!("LEAD#{id}"), "LEAD")
}

// ---- limits ------------------------------------------------------------------------------

pub fn limit_counter(counter_key: &str) -> Key {
    Key::new(format!("LIMIT#{counter_key}"), "LIMIT")
}

pub fn login_lock(account: &str) -> Key {
    Key::new(format!("LOGIN#{account}"), "LOCK")
}

// ---- audit -------------------------------------------------------------------------------

pub fn audit_event(id: &str) -> Key {
    Key::new(format!("AUDIT#{id}"), "AUDIT")
}

/// One of the shards every event is spread over (GSI1).
pub fn audit_shard(shard: u32) -> String {
    format!("AUDIT#{shard}")
}

/// Events by one actor (GSI2).
pub fn audit_by_actor(actor: &str) -> String {
    format!("AUDIT#ACTOR#{actor}")
}

/// Events about one target (GSI3).
pub fn audit_about_target(target: &str) -> String {
    format!("AUDIT#TARGET#{target}")
}

// ---- metrics -----------------------------------------------------------------------------

/// One shard of a dashboard counter; the sort key is the bucket (a date or `total`).
pub fn counter_shard(name: &str, shard: u32) -> String {
    format!("COUNTER#{name}#{shard}")
}

pub fn counter(name: &str, shard: u32, bucket: &str) -> Key {
    Key::new(counter_shard(name, shard), bucket)
}

/// Marks a user active on a day (counted once).
pub fn active_marker(day: &str, user_id: &str) -> Key {
    Key::new(format!("ACTIVE#{day}#{user_id}"), "ACTIVE")
}

/// The partition of the metrics job's snapshots; the sort key is the bucket.
pub const SNAPSHOTS: &str = "SNAPSHOT";

/// The snapshot of one bucket (epoch ms, zero-padded so sort order is time order).
pub fn snapshot(bucket: i64) -> Key {
    Key::new(SNAPSHOTS, format!("{bucket:015}"))
}
