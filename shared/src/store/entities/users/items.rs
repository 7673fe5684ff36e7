//! The user item (`USER#<id>` / `PROFILE`) and its e-mail marker (`EMAIL#<email>` / `EMAIL`),
//! and the writes to them that other entities' transactions share (an address change spends
//! an account token in the same transaction as the profile edit).

use crate::domain::{DisplayName, Email, Role, User};
use crate::store::entities::corrupt;
use crate::store::keys::{self, ListingShards};
use crate::store::table::schema::{GSI1, GSI2, GSI3};
use crate::store::table::{
    Action, Condition, Delete, Item, Put, Update, get_bool, get_n, get_opt_n, get_s, item,
};
use crate::store::{AccountToken, StoreError};

/// The user's index partitions, in the shard its id maps to: every active user (GSI1 by
/// e-mail, GSI3 by name) and those of its role (GSI2).
pub(super) fn user_partitions(
    id: &str,
    role: Role,
    shards: ListingShards,
) -> [(&'static str, String); 3] {
    let shard = shards.of(id);
    [
        (GSI1.partition_key, keys::users(shard)),
        (GSI2.partition_key, keys::users_with_role(role, shard)),
        (GSI3.partition_key, keys::users(shard)),
    ]
}

pub(super) fn user_to_item(user: &User, shards: ListingShards) -> Item {
    let mut item = item(
        &keys::user(&user.id),
        [
            ("type", "user".into()),
            ("id", (&user.id).into()),
            ("email", user.email.as_str().into()),
            ("name", user.name.as_str().into()),
            ("role", user.role.as_str().into()),
            ("passwordHash", (&user.password_hash).into()),
            ("createdAt", user.created_at.into()),
            ("updatedAt", user.updated_at.into()),
            ("version", user.version.into()),
            ("sessionGeneration", user.session_generation.into()),
            ("emailVerified", user.email_verified.into()),
            // Only active users are listed: the index entries are sparse.
            (GSI1.sort_key, user.email.as_str().into()),
            (GSI2.sort_key, user.email.as_str().into()),
            (GSI3.sort_key, keys::user_name_sort(user).into()),
        ],
    );
    for (name, partition) in user_partitions(&user.id, user.role, shards) {
        item.insert(name.to_owned(), partition.into());
    }
    item
}

pub(in crate::store::entities) fn user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        id: get_s(item, "id")?,
        email: Email::parse(get_s(item, "email")?).map_err(corrupt)?,
        name: DisplayName::parse(get_s(item, "name")?).map_err(corrupt)?,
        role: Role::parse(get_s(item, "role")?).map_err(corrupt)?,
        password_hash: get_s(item, "passwordHash")?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
        session_generation: get_opt_n(item, "sessionGeneration")?.unwrap_or(0),
        deleted_at: get_opt_n(item, "deletedAt")?,
        email_verified: get_bool(item, "emailVerified"),
    })
}

/// A listed user, from its index entry (GSI1, GSI2 or GSI3). Entries project the public view
/// only (`schema::LISTED_ATTRIBUTES`), never the password hash or the session generation, so
/// those are left empty and zero: a listed user is for showing, never for checking a password
/// or a session. Only active users are indexed. `version` is read as it is projected anyway
/// (post and lead listings show theirs); the user listing itself needs none.
pub(super) fn listed_user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        id: get_s(item, "id")?,
        email: Email::parse(get_s(item, "email")?).map_err(corrupt)?,
        name: DisplayName::parse(get_s(item, "name")?).map_err(corrupt)?,
        role: Role::parse(get_s(item, "role")?).map_err(corrupt)?,
        password_hash: String::new(),
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
        session_generation: 0,
        deleted_at: None,
        email_verified: get_bool(item, "emailVerified"),
    })
}

/// Releases an e-mail marker, if it still belongs to this user.
pub(in crate::store::entities) fn release_email(email: &Email, user_id: &str) -> Action {
    Delete::new(keys::email_marker(email))
        .when(Condition::eq("userId", user_id))
        .into()
}

pub(in crate::store::entities) fn claim_email(email: &Email, user_id: &str) -> Action {
    Put::if_absent(item(
        &keys::email_marker(email),
        [("userId", user_id.into())],
    ))
    .into()
}

/// An update of the user's profile, if the user exists and is not deleted.
pub(in crate::store::entities) fn active_user(id: &str) -> Update {
    Update::new(keys::user(id)).when(Condition::item_exists().and(Condition::absent("deletedAt")))
}

/// Ends every session of an active user: bumps its session generation (and `version`).
pub(in crate::store::entities) fn sessions_ended(id: &str, now: i64) -> Update {
    active_user(id)
        .set("updatedAt", now)
        .add("sessionGeneration", 1)
        .add("version", 1)
}

/// Name, e-mail, role and their index keys, at `next.version`, if the stored version is still
/// `previous.version` and the user is not deleted.
fn profile_set(previous: &User, next: &User, shards: ListingShards) -> Update {
    let update = Update::new(keys::user(&next.id))
        .set("email", next.email.as_str())
        .set("name", next.name.as_str())
        .set("role", next.role.as_str())
        .set("updatedAt", next.updated_at)
        .set("version", next.version)
        .set(GSI1.sort_key, next.email.as_str())
        .set(GSI2.sort_key, next.email.as_str())
        .set(GSI3.sort_key, keys::user_name_sort(next))
        .set("emailVerified", next.email_verified)
        .when(Condition::eq("version", previous.version).and(Condition::absent("deletedAt")));
    user_partitions(&next.id, next.role, shards)
        .into_iter()
        .fold(update, |update, (name, partition)| {
            update.set(name, partition)
        })
}

/// The profile edit: name, e-mail, role and their index keys, at `next.version`.
pub(super) fn profile_update(previous: &User, next: &User, shards: ListingShards) -> Update {
    let update = profile_set(previous, next, shards);
    if previous.email == next.email {
        update
    } else {
        // A new address cancels links mailed for the old one.
        update.remove("pendingEmailToken").remove("resetToken")
    }
}

/// A profile edit that also spends the user's pending address-change token `token`.
pub(in crate::store::entities) fn confirmed_email_update(
    previous: &User,
    next: &User,
    token: &AccountToken,
    shards: ListingShards,
) -> Update {
    profile_set(previous, next, shards)
        .remove("pendingEmailToken")
        .remove("resetToken")
        .when(Condition::eq("pendingEmailToken", &token.hash))
        .when(Condition::eq("sessionGeneration", token.generation))
}
