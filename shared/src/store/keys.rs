//! Every key the store writes, in one place: table keys (`PK`/`SK`), index partitions and index
//! sort keys. `table::schema` shows the whole layout; an entity module builds its keys only from
//! here. Items already stored carry these strings: a builder's output must never change.

use super::table::Key;
use crate::domain::{AuditEvent, Email, Lead, Post, PostStatus, PostSummary, Role, Tag, User};

/// Time-ordered index sort key: zero-padded epoch ms, then the id, so text order is time order.
pub fn time_sort_key(at: i64, id: &str) -> String {
    format!("{at:013}#{id}")
}

// ---- shards ------------------------------------------------------------------------------

/// Which of `shards` partitions the item `id` goes to: a hash of the id, so an item always
/// lands in the same one and items spread evenly. Stored keys carry it: it must never change.
pub fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % shards.max(1)
}

/// How many partitions each global listing (every user, users of a role, posts of a status,
/// posts with a tag) is spread over (`LISTING_SHARDS`), so that no one index partition takes
/// every write of its kind. A listing reads all of them and merges them in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingShards(u32);

impl ListingShards {
    pub fn new(count: u32) -> Self {
        Self(count.max(1))
    }

    pub fn count(self) -> u32 {
        self.0
    }

    /// The shard the listing entries of item `id` go to.
    pub fn of(self, id: &str) -> u32 {
        shard_of(id, self.0)
    }

    /// Every shard, each read for a page.
    pub fn all(self) -> std::ops::Range<u32> {
        0..self.0
    }
}

// ---- users -------------------------------------------------------------------------------

pub fn user(id: &str) -> Key {
    Key::new(format!("USER#{id}"), "PROFILE")
}

/// The marker that makes an active user's address unique.
pub fn email_marker(email: &Email) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}

/// One shard of every active user (GSI1 by e-mail, GSI3 by name).
pub fn users(shard: u32) -> String {
    format!("USERS#{shard}")
}

/// One shard of the active users holding `role` (GSI2, by e-mail).
pub fn users_with_role(role: Role, shard: u32) -> String {
    format!("USERS#{role}#{shard}")
}

/// Sort key of the by-name listing (GSI3): the lower-cased name, then the id.
pub fn user_name_sort(user: &User) -> String {
    format!("{}#{}", user.name.as_str().to_lowercase(), user.id)
}

// ---- sessions ----------------------------------------------------------------------------

/// Sessions sort after this in their user's partition; their ids are time-ordered (UUIDv7),
/// so a user's sessions read backwards are newest first.
pub const SESSION_PREFIX: &str = "SESSION#";

pub fn session(user_id: &str, session_id: &str) -> Key {
    Key::new(user(user_id).pk, format!("{SESSION_PREFIX}{session_id}"))
}

pub fn refresh_token(hash: &str) -> Key {
    Key::new(format!("REFRESH#{hash}"), "REFRESH")
}

// ---- account tokens ----------------------------------------------------------------------

pub const TOKEN_PREFIX: &str = "TOKEN#";

pub fn account_token(hash: &str) -> Key {
    Key::new(format!("{TOKEN_PREFIX}{hash}"), "TOKEN")
}

// ---- second factors ----------------------------------------------------------------------

/// A user's TOTP factor and its recovery codes (in the user's partition, apart from sessions).
pub fn totp_factor(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "MFA#TOTP")
}

/// A sign-in challenge waiting for a second factor, by the hash of its token.
pub fn mfa_challenge(hash: &str) -> Key {
    Key::new(format!("MFA_CHALLENGE#{hash}"), "MFA_CHALLENGE")
}

// ---- social sign-in ----------------------------------------------------------------------

/// Identities sort after this in their user's partition.
pub const IDENTITY_PREFIX: &str = "IDENTITY#";

/// Which user a provider's account signs in as: one item per provider account, so it belongs to
/// one user.
pub fn identity(provider: &str, subject: &str) -> Key {
    Key::new(format!("{IDENTITY_PREFIX}{provider}#{subject}"), "IDENTITY")
}

/// The same identity in its user's partition, for listing a user's identities.
pub fn user_identity(user_id: &str, provider: &str, subject: &str) -> Key {
    Key::new(
        user(user_id).pk,
        format!("{IDENTITY_PREFIX}{provider}#{subject}"),
    )
}

/// A sign-in under way at a provider, by the hash of its `state`.
pub fn oauth_state(hash: &str) -> Key {
    Key::new(format!("OAUTH_STATE#{hash}"), "OAUTH_STATE")
}

/// A finished sign-in waiting for the page to take its tokens, by the hash of its code.
pub fn oauth_grant(hash: &str) -> Key {
    Key::new(format!("OAUTH_GRANT#{hash}"), "OAUTH_GRANT")
}

// ---- passkeys ----------------------------------------------------------------------------

/// Passkeys sort after this in their user's partition.
pub const PASSKEY_PREFIX: &str = "PASSKEY#";

/// Which user a credential is registered to (by the hash of its id): one item per credential,
/// so it belongs to one user.
pub fn passkey(id: &str) -> Key {
    Key::new(format!("{PASSKEY_PREFIX}{id}"), "PASSKEY")
}

/// The passkey itself, in its user's partition.
pub fn user_passkey(user_id: &str, id: &str) -> Key {
    Key::new(user(user_id).pk, format!("{PASSKEY_PREFIX}{id}"))
}

/// A passkey ceremony between its options and its verification, by the hash of its id.
pub fn passkey_ceremony(hash: &str) -> Key {
    Key::new(format!("PASSKEY_CEREMONY#{hash}"), "PASSKEY_CEREMONY")
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

/// One shard of the posts with a status, newest first (GSI1).
pub fn posts_with_status(status: PostStatus, shard: u32) -> String {
    format!("STATUS#{status}#{shard}")
}

/// An author's visible posts (GSI2).
pub fn posts_by_author(author_id: &str) -> String {
    format!("AUTHOR#{author_id}")
}

/// An author's posts with a status (GSI3).
pub fn posts_by_author_with_status(author_id: &str, status: PostStatus) -> String {
    format!("AUTHOR#{author_id}#{status}")
}

/// One shard of the tag entries with a status (GSI1).
pub fn tagged(tag: &Tag, status: PostStatus, shard: u32) -> String {
    format!("TAG#{}#{status}#{shard}", tag.as_str())
}

/// Tag entries with a status by one author (GSI2).
pub fn tagged_by_author(tag: &Tag, status: PostStatus, author_id: &str) -> String {
    format!("TAG#{}#{status}#AUTHOR#{author_id}", tag.as_str())
}

/// Sort key of the status and tag listings (GSI1, and GSI2 of tag entries): the post's feed
/// time, then its id.
pub fn post_feed_sort(post: &Post) -> String {
    time_sort_key(post.feed_time(), &post.id)
}

/// Sort key of the author listings (GSI2, GSI3 of the post item): creation time, then id.
pub fn post_author_sort(post: &Post) -> String {
    time_sort_key(post.created_at, &post.id)
}

/// `post_feed_sort` of a listed post: where a listing by feed time stands after it.
pub fn summary_feed_sort(summary: &PostSummary) -> String {
    time_sort_key(summary.feed_time(), &summary.id)
}

/// `post_author_sort` of a listed post.
pub fn summary_author_sort(summary: &PostSummary) -> String {
    time_sort_key(summary.created_at, &summary.id)
}

// ---- outbox ------------------------------------------------------------------------------

/// Jobs waiting for their queue (GSI1, oldest first).
pub const OUTBOX: &str = "OUTBOX";
/// The outbox's index partitions (`OUTBOX#<n>` on GSI1), a job in the one its id picks: the
/// reconciliation reads each, and no partition takes every job's write and delete. Fixed: a
/// row in a partition no longer read would wait forever.
pub const OUTBOX_SHARDS: u32 = 16;
/// Outbox rows that could not be read (GSI1, oldest first).
pub const OUTBOX_DEAD: &str = "OUTBOX_DEAD";

pub fn outbox_job(job_id: &str) -> Key {
    Key::new(format!("{OUTBOX}#{job_id}"), OUTBOX)
}

pub fn outbox_dead(job_id: &str) -> Key {
    Key::new(format!("{OUTBOX_DEAD}#{job_id}"), OUTBOX_DEAD)
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

/// Sort key of the lead listing (GSI1): creation time, then the id.
pub fn lead_list_sort(lead: &Lead) -> String {
    time_sort_key(lead.created_at, &lead.id)
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

/// Sort key of every audit index (GSI1-3), newest last: 15-digit time (an instant before the
/// epoch counts as the epoch), then the id.
pub fn audit_sort(event: &AuditEvent) -> String {
    audit_time_sort(event.at, &event.id)
}

/// The lowest audit sort key of an event at or after `at`: where a `since` bound starts.
pub fn audit_sort_from(at: i64) -> String {
    audit_time_sort(at, "")
}

fn audit_time_sort(at: i64, id: &str) -> String {
    format!("{:015}#{id}", at.max(0))
}

// ---- metrics -----------------------------------------------------------------------------

/// One shard of a dashboard counter; the sort key is the bucket (a date or `total`).
pub fn counter_shard(name: &str, shard: u32) -> String {
    format!("COUNTER#{name}#{shard}")
}

pub fn counter(name: &str, shard: u32, bucket: &str) -> Key {
    Key::new(counter_shard(name, shard), bucket)
}

/// The outbox index partition of a job.
pub fn outbox_shard(shard: u32) -> String {
    format!("{OUTBOX}#{shard}")
}

/// Marks a stream change counted (so a redelivery is not).
pub fn counted(change_id: &str) -> Key {
    Key::new(format!("COUNTED#{change_id}"), "COUNTED")
}

/// Marks a user active on a day (counted once).
pub fn active_marker(day: &str, user_id: &str) -> Key {
    Key::new(format!("ACTIVE#{day}#{user_id}"), "ACTIVE")
}

/// The day an active-user marker's key names.
pub fn active_marker_day(pk: &str, sk: &str) -> Option<String> {
    let (day, _user) = pk.strip_prefix("ACTIVE#")?.split_once('#')?;
    (sk == "ACTIVE").then(|| day.to_owned())
}

/// The partition of the metrics job's snapshots; the sort key is the bucket.
pub const SNAPSHOTS: &str = "SNAPSHOT";

/// The snapshot of one bucket (epoch ms, zero-padded so sort order is time order).
pub fn snapshot(bucket: i64) -> Key {
    Key::new(SNAPSHOTS, format!("{bucket:015}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AuditAction, AuditOutcome, DisplayName, NewPost, PostChanges, PostContent, PostTitle,
    };

    fn post(id: &str, created_at: i64) -> Post {
        Post {
            id: id.into(),
            author_id: "a".into(),
            title: PostTitle::parse("t").unwrap(),
            content: PostContent::parse("c".into()).unwrap(),
            status: PostStatus::Draft,
            tags: vec![],
            published_at: None,
            created_at,
            updated_at: created_at,
            version: 1,
            author_deleted: false,
        }
    }

    fn event(id: &str, at: i64) -> AuditEvent {
        AuditEvent {
            id: id.into(),
            ..AuditEvent::new(AuditAction::Login, AuditOutcome::Success, at)
        }
    }

    #[test]
    fn post_sort_keys_order_by_time_then_id() {
        assert!(post_feed_sort(&post("b", 9)) < post_feed_sort(&post("a", 10)));
        assert!(post_author_sort(&post("a", 10)) < post_author_sort(&post("b", 10)));
    }

    #[test]
    fn a_listed_post_sorts_as_the_post() {
        let new = NewPost {
            title: PostTitle::parse("t").unwrap(),
            content: PostContent::parse("c".into()).unwrap(),
            status: None,
            tags: None,
        };
        let published = Post::new("a", new, 10).edited(
            PostChanges {
                status: Some(PostStatus::Published),
                ..Default::default()
            },
            20,
        );
        let summary = PostSummary::of(&published);
        assert_eq!(summary_feed_sort(&summary), post_feed_sort(&published));
        assert_eq!(summary_author_sort(&summary), post_author_sort(&published));
        assert_ne!(post_feed_sort(&published), post_author_sort(&published));
    }

    #[test]
    fn audit_sort_keys_order_by_time_then_id() {
        assert!(audit_sort(&event("b", 999)) < audit_sort(&event("a", 1000)));
        assert!(audit_sort(&event("a", 1000)) < audit_sort(&event("b", 1000)));
        assert!(audit_sort_from(1000) <= audit_sort(&event("a", 1000)));
        assert!(audit_sort_from(1001) > audit_sort(&event("z", 1000)));
    }

    /// Stored items carry these strings: they must never change.
    #[test]
    fn sort_keys_keep_their_stored_form() {
        let published = Post {
            status: PostStatus::Published,
            published_at: Some(1_700_000_000_123),
            ..post("p1", 1_600_000_000_000)
        };
        assert_eq!(post_feed_sort(&published), "1700000000123#p1");
        assert_eq!(post_author_sort(&published), "1600000000000#p1");
        assert_eq!(post_feed_sort(&post("p2", 5)), "0000000000005#p2");
        let summary = PostSummary::of(&published);
        assert_eq!(summary_feed_sort(&summary), "1700000000123#p1");
        assert_eq!(summary_author_sort(&summary), "1600000000000#p1");

        assert_eq!(audit_sort(&event("e1", 42)), "000000000000042#e1");
        assert_eq!(audit_sort(&event("e1", -5)), "000000000000000#e1");
        assert_eq!(audit_sort_from(42), "000000000000042#");

        let lead = Lead {
            id: "l1".into(),
            created_at: 7,
            ..Lead::new("+15550100".into(), "web".into(), None, None, 7)
        };
        assert_eq!(lead_list_sort(&lead), "0000000000007#l1");

        let user = User {
            id: "u1".into(),
            name: DisplayName::parse("Ada LOVELACE").unwrap(),
            ..User::new(
                Email::parse("ada@example.com").unwrap(),
                DisplayName::parse("x").unwrap(),
                String::new(),
                1,
            )
        };
        assert_eq!(user_name_sort(&user), "ada lovelace#u1");
    }

    /// Index partitions carry the shard an id hashes to: the hash must never change (audit
    /// events are stored with it too).
    #[test]
    fn shards_keep_their_stored_form() {
        let id = "0b9f6a1e-3c1d-4c8e-9d57-2f4f8a6c1b20";
        let shards: Vec<u32> = [1, 2, 3, 4, 8].map(|n| shard_of(id, n)).to_vec();
        assert_eq!(shards, [0, 1, 1, 1, 5]);
        assert_eq!(shard_of("u1", 3), 1);
        assert_eq!(shard_of("u1", 0), 0, "no shard count reads as one");
        assert_eq!(ListingShards::new(3).of(id), 1);
        assert_eq!(ListingShards::new(0).count(), 1);

        let tag = Tag::parse("rust").unwrap();
        assert_eq!(users(2), "USERS#2");
        assert_eq!(users_with_role(Role::Admin, 0), "USERS#admin#0");
        assert_eq!(
            posts_with_status(PostStatus::Published, 3),
            "STATUS#published#3"
        );
        assert_eq!(tagged(&tag, PostStatus::Draft, 1), "TAG#rust#draft#1");
        assert_eq!(
            tagged_by_author(&tag, PostStatus::Draft, "a"),
            "TAG#rust#draft#AUTHOR#a"
        );
    }

    #[test]
    fn ids_spread_over_every_shard() {
        let shards = ListingShards::new(4);
        let mut counts = [0; 4];
        for i in 0..400u128 {
            let id =
                uuid::Uuid::from_u128(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
            counts[shards.of(&id.to_string()) as usize] += 1;
        }
        assert!(counts.iter().all(|&n| n > 50), "{counts:?}");
    }
}
