//! The single table's definition. `template.yaml` declares the same table (a test compares them)
//! and `infra` creates it on an emulator from here (`dynamodb::create_table`).
//!
//! Key shapes:
//! | item            | PK                | SK                |
//! |-----------------|-------------------|-------------------|
//! | user            | `USER#<id>`       | `PROFILE`         |
//! | e-mail marker   | `EMAIL#<email>`   | `EMAIL`           |
//! | session         | `USER#<id>`       | `SESSION#<sid>`   |
//! | refresh token   | `REFRESH#<hash>`  | `REFRESH`         |
//! | post            | `POST#<id>`       | `POST`            |
//! | post tag entry  | `POST#<id>`       | `TAG#<tag>`       |
//! | account token   | `TOKEN#<hash>`    | `TOKEN`           |
//! | outbox job      | `OUTBOX#<job id>` | `OUTBOX`          |
//! | unreadable job  | `OUTBOX_DEAD#<id>`| `OUTBOX_DEAD`     |
//! | job record      | `JOB#<job id>`    | `JOB`             |
//! | lead            | `LEAD#<id>`       | `LEAD`            |
//! | limit counter   | `LIMIT#<key>`     | `LIMIT`           |
//! | login lock      | `LOGIN#<account>` | `LOCK`            |
//! | audit event     | `AUDIT#<id>`      | `AUDIT`           |
//!
//! Index entries (sparse: only active users and visible posts carry them). What a listing
//! filters on is in the index partition, so a query reads only what it returns:
//! | item       | GSI1 (PK / SK)                       | GSI2 (PK / SK)                                    | GSI3 (PK / SK)                           |
//! |------------|--------------------------------------|---------------------------------------------------|------------------------------------------|
//! | user       | `USERS#<shard>` / email              | `USERS#<role>#<shard>` / email                    | `USERS#<shard>` / name#id                |
//! | post       | `STATUS#<status>#<shard>` / feed time#id | `AUTHOR#<author>` / created#id                | `AUTHOR#<author>#<status>` / created#id  |
//! | outbox job | `OUTBOX` / created#id                | –                                                 | –                                        |
//! | unreadable | `OUTBOX_DEAD` / dead at#id           | –                                                 | –                                        |
//! | lead       | `LEADS` / created#id                 | –                                                 | –                                        |
//! | audit event| `AUDIT#<shard>` / at#id              | `AUDIT#ACTOR#<actor>` / at#id                     | `AUDIT#TARGET#<target>` / at#id          |
//! | tag entry  | `TAG#<tag>#<status>#<shard>` / feed time#id | `TAG#<tag>#<status>#AUTHOR#<author>` / feed time#id | –                               |
//!
//! Audit events spread over `AUDIT_SHARDS` partitions of GSI1 (by id), and every global listing
//! (users, users of a role, posts of a status, posts with a tag) over `LISTING_SHARDS`
//! partitions (`keys::ListingShards`, by id), so no one partition takes every write of its
//! kind; a listing reads every shard and merges them in its order. Listings that name a user
//! (an author's posts, an actor's events) are one partition each.
//!
//! A post's tag entries and its index entries hold the listing fields only (`LISTED_ATTRIBUTES`),
//! never the body: an edit writes the body once, and a page of listings stays small. The indexes
//! project those fields only: a user's index entries hold its public view, never its password
//! hash, session generation or account-token state (`NEVER_PROJECTED`). A write of those alone
//! (a reset or address-change request, a verification resend) rewrites no index entry; a
//! password change or "log out everywhere" still does, as it bumps `updatedAt` and `version`.

use super::ops::Index;

pub const PARTITION_KEY: &str = "PK";
pub const SORT_KEY: &str = "SK";
/// Epoch seconds after which DynamoDB may delete the item. Reads never trust it alone.
pub const TTL_ATTRIBUTE: &str = "ttl";

pub struct IndexDef {
    pub index: Index,
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

/// Overloaded indexes for listings; each access pattern documents its own key shape.
pub const INDEXES: &[IndexDef] = &[
    IndexDef {
        index: Index::Gsi1,
        name: "GSI1",
        partition_key: "GSI1PK",
        sort_key: "GSI1SK",
    },
    IndexDef {
        index: Index::Gsi2,
        name: "GSI2",
        partition_key: "GSI2PK",
        sort_key: "GSI2SK",
    },
    IndexDef {
        index: Index::Gsi3,
        name: "GSI3",
        partition_key: "GSI3PK",
        sort_key: "GSI3SK",
    },
];

/// The attributes every index projects besides keys: exactly the union of what the listings
/// read from an index entry (each group names its readers), nothing else. The names are shared
/// by every item type, and DynamoDB projects by name, so one list serves all three indexes.
///
/// Never a credential or account secret (`NEVER_PROJECTED`): an index entry is rewritten
/// whenever a projected attribute of its item changes, and is readable wherever the index is.
/// A listed user is the public view only (`users::listed_user_from_item`).
///
/// A new listed attribute must be added here and in template.yaml. An index's projection cannot
/// change in place: on a deployed table the index is deleted and created again (one index per
/// table update).
pub const LISTED_ATTRIBUTES: &[&str] = &[
    // user listing: the public view; email and role are also what its by-name phase filters on
    "email",
    "role",
    "emailVerified",
    // post listings (status, author, author and status, tag, tag and author): the summary
    "authorId",
    "title",
    "excerpt",
    "tags",
    "publishedAt",
    // lead listing
    "phone",
    "source",
    "message",
    // outbox and its dead letters (`job`; a dead letter's error is in `detail`)
    "job",
    // audit listings (every event, by actor, by target; filters on action and target)
    "action",
    "outcome",
    "actor",
    "target",
    "sourceIp",
    "userAgent",
    "requestId",
    "detail",
    // shared: `name` (users, leads), `status` (posts, leads), `version` (posts and leads show it;
    // the user listing needs none), the rest by (nearly) every listing
    "id",
    "name",
    "status",
    "createdAt",
    "updatedAt",
    "version",
];

/// Attributes no index may project: credentials, session state and account-token state. A
/// password change, "log out everywhere" or a reset request writes them; they must reach
/// neither an index entry nor its readers.
pub const NEVER_PROJECTED: &[&str] = &[
    "passwordHash",
    "sessionGeneration",
    "resetToken",
    "resetSentAt",
    "pendingEmailToken",
    "verifySentAt",
    "loginToken",
    "loginSentAt",
];

/// The table's own keys, to page through a table partition as through an index partition.
pub const TABLE: &IndexDef = &IndexDef {
    index: Index::Table,
    name: "table",
    partition_key: PARTITION_KEY,
    sort_key: SORT_KEY,
};

pub const GSI1: &IndexDef = &INDEXES[0];
pub const GSI2: &IndexDef = &INDEXES[1];
pub const GSI3: &IndexDef = &INDEXES[2];

/// Every key attribute of the table and its indexes; all are strings.
pub fn key_attributes() -> Vec<&'static str> {
    let mut names = vec![PARTITION_KEY, SORT_KEY];
    for index in INDEXES {
        names.extend([index.partition_key, index.sort_key]);
    }
    names
}

/// The definition of a secondary index (`None` for the table itself).
pub fn index_def(index: Index) -> Option<&'static IndexDef> {
    INDEXES.iter().find(|def| def.index == index)
}

/// The key attributes of `index` (the table's own for `Index::Table`).
pub fn key_names(index: Index) -> (&'static str, &'static str) {
    match index_def(index) {
        Some(def) => (def.partition_key, def.sort_key),
        None => (PARTITION_KEY, SORT_KEY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_secret_is_projected_and_nothing_twice() {
        for name in NEVER_PROJECTED {
            assert!(!LISTED_ATTRIBUTES.contains(name), "{name} is projected");
        }
        let mut names = LISTED_ATTRIBUTES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LISTED_ATTRIBUTES.len(), "listed twice");
        for key in key_attributes() {
            assert!(!LISTED_ATTRIBUTES.contains(&key), "{key} is a key");
        }
    }
}
