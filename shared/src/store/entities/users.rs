//! Users. Every path writes only the attributes it owns and bumps `version`:
//! profile edit (name, e-mail, role; conditioned on the version read), role set by `promote`,
//! "log out everywhere" and password change (session generation), deletion.

mod items;

use async_trait::async_trait;

pub(super) use items::user_from_item;
pub(super) use items::{
    active_user, claim_email, confirmed_email_update, release_email, sessions_ended,
};
use items::{listed_user_from_item, profile_update, user_partitions, user_to_item};

use super::TableStore;
use super::effects::effect_actions;
use super::paging::{IndexQuery, TableKey};
use super::role_held::role_still_held;
use crate::domain::{Email, Role, User};
use crate::store::keys::{self, ListingShards};
use crate::store::table::schema::{GSI1, GSI2, GSI3};
use crate::store::table::{Action, Condition, Delete, Put, Returns, TableError, Update, get_s};
use crate::store::{Effects, Page, Position, RoleHeld};
use crate::store::{StoreError, TokenPurpose, UserQuery, UserStore};

impl TableStore {
    /// Applies an `active_user` update, returning the user as written; a failed condition means
    /// no active user.
    async fn run_user_update(&self, update: Update) -> Result<User, StoreError> {
        match self.table.update(update, Returns::New).await {
            Ok(item) => user_from_item(&item.ok_or(StoreError::NotFound)?),
            Err(TableError::ConditionFailed(_)) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}

/// The index query of a user listing's phase on one shard: by e-mail (0), then by name (1).
fn users_query(query: &UserQuery, phase: u8, shard: u32) -> IndexQuery {
    let prefix = query.prefix.clone();
    let table_key: TableKey = Box::new(keys::user);
    if phase == 0 {
        let (index, partition) = match query.role {
            Some(role) => (GSI2, keys::users_with_role(role, shard)),
            None => (GSI1, keys::users(shard)),
        };
        return IndexQuery {
            index,
            partition,
            sort_prefix: prefix,
            filter: None,
            forward: true,
            table_key,
        };
    }
    // By name: those whose e-mail starts with the prefix were listed in phase 0.
    let mut filter = Condition::begins_with("email", prefix.clone().unwrap_or_default()).not();
    if let Some(role) = query.role {
        filter = filter.and(Condition::eq("role", role.as_str()));
    }
    IndexQuery {
        index: GSI3,
        partition: keys::users(shard),
        sort_prefix: prefix,
        filter: Some(filter),
        forward: true,
        table_key,
    }
}

/// A user listing's phase, on every shard.
fn users_shards(query: &UserQuery, phase: u8, shards: ListingShards) -> Vec<IndexQuery> {
    shards
        .all()
        .map(|shard| users_query(query, phase, shard))
        .collect()
}

#[async_trait]
impl UserStore for TableStore {
    async fn create_user(&self, user: &User, effects: &Effects) -> Result<(), StoreError> {
        let mut item = user_to_item(user, self.listing_shards);
        if let Some(token) = effects
            .token
            .as_ref()
            .filter(|t| t.purpose == TokenPurpose::VerifyEmail)
        {
            item.insert("verifySentAt".to_owned(), token.created_at.into());
        }
        let mut actions = vec![
            Put::if_absent(item).into(),
            claim_email(&user.email, &user.id),
        ];
        actions.extend(effect_actions(effects));
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(_)) => Err(StoreError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let item = self.get_consistent(&keys::user(id)).await?;
        item.as_ref().map(user_from_item).transpose()
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let Some(marker) = self.get_consistent(&keys::email_marker(email)).await? else {
            return Ok(None);
        };
        let user = self.get_user(&get_s(&marker, "userId")?).await?;
        Ok(user.filter(User::is_active))
    }

    async fn update_profile(
        &self,
        previous: &User,
        next: &User,
        held: Option<&RoleHeld>,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut actions = vec![profile_update(previous, next, self.listing_shards).into()];
        if previous.email != next.email {
            actions.push(release_email(&previous.email, &previous.id));
            actions.push(claim_email(&next.email, &next.id));
        }
        actions.extend(role_still_held(held));
        actions.extend(effect_actions(effects));
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            // Only the claim (action 2) failing means the address belongs to someone else.
            Err(TableError::ConditionFailed(failed)) if failed == [2] => {
                Err(StoreError::EmailTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError> {
        let update = active_user(id)
            .set("role", role.as_str())
            .set("updatedAt", now)
            .add("version", 1);
        let update = user_partitions(id, role, self.listing_shards)
            .into_iter()
            .fold(update, |update, (name, partition)| {
                update.set(name, partition)
            });
        self.run_user_update(update).await
    }

    async fn end_all_sessions(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.run_user_update(sessions_ended(id, now))
            .await
            .map(|_| ())
    }

    async fn change_password(
        &self,
        user: &User,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<User, StoreError> {
        let update = active_user(&user.id)
            .when(Condition::eq("passwordHash", &user.password_hash))
            .when(Condition::eq("sessionGeneration", user.session_generation))
            .set("passwordHash", new_hash)
            .set("updatedAt", now)
            .add("sessionGeneration", 1)
            .add("version", 1);
        let mut actions = vec![update.into()];
        actions.extend(effect_actions(effects));
        self.table.transact(actions).await?;
        self.get_user(&user.id).await?.ok_or(StoreError::NotFound)
    }

    async fn delete_user(
        &self,
        user: &User,
        expected_version: Option<u64>,
        at: i64,
        effects: &Effects,
        held: Option<&RoleHeld>,
    ) -> Result<User, StoreError> {
        let mut update = active_user(&user.id)
            .set("deletedAt", at)
            .set("updatedAt", at)
            .add("sessionGeneration", 1)
            .add("version", 1);
        // Leaves every listing: the index entries are sparse.
        for index in [GSI1, GSI2, GSI3] {
            update = update.remove(index.partition_key).remove(index.sort_key);
        }
        if let Some(expected) = expected_version {
            update = update.when(Condition::eq("version", expected));
        }
        // The second factor (its sealed secret and recovery codes) goes with the account.
        let factor = Delete::new(keys::totp_factor(&user.id));
        let mut actions = vec![
            update.into(),
            release_email(&user.email, &user.id),
            Action::Delete(factor),
        ];
        actions.extend(role_still_held(held));
        actions.extend(effect_actions(effects));
        self.table.transact(actions).await?;
        self.get_user(&user.id).await?.ok_or(StoreError::NotFound)
    }

    async fn list_users(
        &self,
        query: &UserQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<User>, StoreError> {
        let last_phase = if query.prefix.is_some() { 1 } else { 0 };
        let first_phase = after.map_or(0, |p| p.phase);
        let mut users: Vec<User> = Vec::new();
        for phase in first_phase..=last_phase {
            let start = after
                .filter(|p| p.phase == phase)
                .map(|p| (p.sort.as_str(), p.id.as_str()));
            let shards = users_shards(query, phase, self.listing_shards);
            let page = self
                .query_shards(&shards, start, limit - users.len())
                .await?;
            for item in &page.items {
                users.push(listed_user_from_item(item)?);
            }
            // A full page, or a short one whose read cap was reached: resume where it stopped.
            let next = match page.resume {
                Some((sort, id)) => Some(Position { phase, sort, id }),
                None if users.len() == limit && phase < last_phase => {
                    users.last().map(|user| Position::of_user(user, phase))
                }
                None => None,
            };
            if next.is_some() || users.len() == limit {
                return Ok(Page { items: users, next });
            }
        }
        Ok(Page {
            items: users,
            next: None,
        })
    }
}
