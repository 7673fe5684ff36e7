//! Users. Every path writes only the attributes it owns and bumps `version`:
//! profile edit (name, e-mail, role; conditioned on the version read), role set by `promote`,
//! "log out everywhere" and password change (session generation), deletion.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, ReturnValue, TransactWriteItem, Update,
};

use super::accounts::effect_items;
use super::item::{Item, corrupt, get_n, get_opt_n, get_s, key, n, s};
use super::metrics::counter_updates;
use super::query::{Filter, IndexQuery, TableKey};
use super::retry::WriteError;
use super::schema::{GSI1, GSI2, GSI3};
use super::{DynamoStore, put_if_absent};
use crate::domain::{DisplayName, Email, Role, User};
use crate::metrics::counts;
use crate::store::{AccountToken, RoleHeld};
use crate::store::{Effects, Page, Position, StoreError, TokenPurpose, UserQuery, UserStore};

pub(super) fn user_pk(id: &str) -> String {
    format!("USER#{id}")
}

const PROFILE: &str = "PROFILE";

fn email_marker_key(email: &Email) -> Item {
    key(format!("EMAIL#{email}"), "EMAIL")
}

pub(super) fn profile_key(id: &str) -> Item {
    key(user_pk(id), PROFILE)
}

fn role_partition(role: Role) -> String {
    format!("USERS#{role}")
}

fn user_to_item(user: &User) -> Item {
    let mut item = profile_key(&user.id);
    item.extend([
        ("type".to_owned(), s("user")),
        ("id".to_owned(), s(&user.id)),
        ("email".to_owned(), s(user.email.as_str())),
        ("name".to_owned(), s(user.name.as_str())),
        ("role".to_owned(), s(user.role.as_str())),
        ("passwordHash".to_owned(), s(&user.password_hash)),
        ("createdAt".to_owned(), n(user.created_at)),
        ("updatedAt".to_owned(), n(user.updated_at)),
        ("version".to_owned(), n(user.version)),
        ("sessionGeneration".to_owned(), n(user.session_generation)),
        (
            "emailVerified".to_owned(),
            AttributeValue::Bool(user.email_verified),
        ),
        // Only active users are listed: the index entries are sparse.
        (GSI1.partition_key.to_owned(), s("USERS")),
        (GSI1.sort_key.to_owned(), s(user.email.as_str())),
        (GSI2.partition_key.to_owned(), s(role_partition(user.role))),
        (GSI2.sort_key.to_owned(), s(user.email.as_str())),
        (GSI3.partition_key.to_owned(), s("USERS")),
        (GSI3.sort_key.to_owned(), s(user.name_key())),
    ]);
    item
}

fn user_from_item(item: &Item) -> Result<User, StoreError> {
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
        email_verified: matches!(item.get("emailVerified"), Some(AttributeValue::Bool(true))),
    })
}

/// A listed user, from its index entry (GSI1, GSI2 or GSI3). Entries project the public view
/// only (`schema::LISTED_ATTRIBUTES`), never the password hash or the session generation, so
/// those are left empty and zero: a listed user is for showing, never for checking a password
/// or a session. Only active users are indexed. `version` is read as it is projected anyway
/// (post and lead listings show theirs); the user listing itself needs none.
fn listed_user_from_item(item: &Item) -> Result<User, StoreError> {
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
        email_verified: matches!(item.get("emailVerified"), Some(AttributeValue::Bool(true))),
    })
}

/// Releases an e-mail marker, if it still belongs to this user.
pub(super) fn release_email(
    table: &str,
    email: &Email,
    user_id: &str,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(email_marker_key(email)))
        .condition_expression("#userId = :userId")
        .expression_attribute_names("#userId", "userId")
        .expression_attribute_values(":userId", s(user_id))
        .build()?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

pub(super) fn claim_email(
    table: &str,
    email: &Email,
    user_id: &str,
) -> Result<TransactWriteItem, StoreError> {
    let mut marker = email_marker_key(email);
    marker.insert("userId".to_owned(), s(user_id));
    put_if_absent(table, marker)
}

/// The profile edit: name, e-mail, role and their index keys, at `next.version`.
pub(super) fn profile_update(
    table: &str,
    previous: &User,
    next: &User,
) -> Result<Update, StoreError> {
    let builder =
        profile_update_builder(table, previous, next).condition_expression(PROFILE_CONDITION);
    let builder = if previous.email == next.email {
        builder.update_expression(PROFILE_SET)
    } else {
        // A new address cancels links mailed for the old one.
        builder
            .update_expression(format!("{PROFILE_SET} REMOVE #pending, #reset"))
            .expression_attribute_names("#pending", "pendingEmailToken")
            .expression_attribute_names("#reset", "resetToken")
    };
    Ok(builder.build()?)
}

const PROFILE_SET: &str = "SET #email = :email, #name = :name, #role = :role, #updatedAt = :now, \
     #version = :next, #gsi1sk = :email, #gsi2pk = :rolePartition, #gsi2sk = :email, \
     #gsi3sk = :nameKey, #verified = :verified";
const PROFILE_CONDITION: &str = "#version = :expected AND attribute_not_exists(#deletedAt)";

/// A profile edit that also spends the user's pending address-change token `token_hash`.
pub(super) fn confirmed_email_update(
    table: &str,
    previous: &User,
    next: &User,
    token: &AccountToken,
) -> Result<Update, StoreError> {
    Ok(profile_update_builder(table, previous, next)
        .update_expression(format!("{PROFILE_SET} REMOVE #pending, #reset"))
        .condition_expression(format!(
            "{PROFILE_CONDITION} AND #pending = :pending AND #generation = :generation"
        ))
        .expression_attribute_names("#pending", "pendingEmailToken")
        .expression_attribute_names("#reset", "resetToken")
        .expression_attribute_names("#generation", "sessionGeneration")
        .expression_attribute_values(":pending", s(&token.hash))
        .expression_attribute_values(":generation", n(token.generation))
        .build()?)
}

/// A check that `held`'s actor is still active with one of its roles, for a write's transaction.
pub(super) fn role_still_held(
    table: &str,
    held: Option<&RoleHeld>,
) -> Result<Option<TransactWriteItem>, StoreError> {
    let Some(held) = held else {
        return Ok(None);
    };
    let mut check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(profile_key(&held.actor_id)))
        .expression_attribute_names("#role", "role")
        .expression_attribute_names("#deletedAt", "deletedAt");
    let mut roles = Vec::new();
    for (i, role) in held.roles.iter().enumerate() {
        roles.push(format!(":role{i}"));
        check = check.expression_attribute_values(format!(":role{i}"), s(role.as_str()));
    }
    let check = check
        .condition_expression(format!(
            "attribute_not_exists(#deletedAt) AND #role IN ({})",
            roles.join(", ")
        ))
        .build()?;
    Ok(Some(
        TransactWriteItem::builder().condition_check(check).build(),
    ))
}

fn profile_update_builder(
    table: &str,
    previous: &User,
    next: &User,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(table)
        .set_key(Some(profile_key(&next.id)))
        .expression_attribute_names("#email", "email")
        .expression_attribute_names("#name", "name")
        .expression_attribute_names("#role", "role")
        .expression_attribute_names("#updatedAt", "updatedAt")
        .expression_attribute_names("#version", "version")
        .expression_attribute_names("#deletedAt", "deletedAt")
        .expression_attribute_names("#gsi1sk", GSI1.sort_key)
        .expression_attribute_names("#gsi2pk", GSI2.partition_key)
        .expression_attribute_names("#gsi2sk", GSI2.sort_key)
        .expression_attribute_names("#gsi3sk", GSI3.sort_key)
        .expression_attribute_values(":email", s(next.email.as_str()))
        .expression_attribute_values(":name", s(next.name.as_str()))
        .expression_attribute_values(":role", s(next.role.as_str()))
        .expression_attribute_values(":now", n(next.updated_at))
        .expression_attribute_values(":next", n(next.version))
        .expression_attribute_values(":expected", n(previous.version))
        .expression_attribute_values(":rolePartition", s(role_partition(next.role)))
        .expression_attribute_values(":nameKey", s(next.name_key()))
        .expression_attribute_names("#verified", "emailVerified")
        .expression_attribute_values(":verified", AttributeValue::Bool(next.email_verified))
}

impl DynamoStore {
    /// An `UpdateItem` on an active user's profile, returning the user as written.
    fn update_active_user(&self, id: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(profile_key(id)))
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#deletedAt)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#deletedAt", "deletedAt")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
    }

    /// Runs an `update_active_user` request; a failed condition means no active user.
    async fn run_user_update(&self, request: UpdateItemFluentBuilder) -> Result<User, StoreError> {
        match self.update(request).await {
            Ok(output) => user_from_item(output.attributes().ok_or(StoreError::NotFound)?),
            Err(WriteError::Condition(_)) => Err(StoreError::NotFound),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    fn users_query(&self, query: &UserQuery, phase: u8) -> IndexQuery {
        let prefix = query.prefix.clone();
        let table_key: TableKey = Box::new(profile_key);
        if phase == 0 {
            let (index, partition) = match query.role {
                Some(role) => (GSI2, role_partition(role)),
                None => (GSI1, "USERS".to_owned()),
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
        let mut values = vec![(":q", s(prefix.clone().unwrap_or_default()))];
        let mut names = vec![("#email", "email")];
        let expression = match query.role {
            Some(role) => {
                names.push(("#role", "role"));
                values.push((":role", s(role.as_str())));
                "NOT begins_with(#email, :q) AND #role = :role"
            }
            None => "NOT begins_with(#email, :q)",
        };
        IndexQuery {
            index: GSI3,
            partition: "USERS".to_owned(),
            sort_prefix: prefix,
            filter: Some(Filter {
                expression,
                names,
                values,
            }),
            forward: true,
            table_key,
        }
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User, effects: &Effects) -> Result<(), StoreError> {
        let mut item = user_to_item(user);
        if let Some(token) = effects
            .token
            .as_ref()
            .filter(|t| t.purpose == TokenPurpose::VerifyEmail)
        {
            item.insert("verifySentAt".to_owned(), n(token.created_at));
        }
        let mut items = vec![
            put_if_absent(&self.table, item)?,
            claim_email(&self.table, &user.email, &user.id)?,
        ];
        items.extend(effect_items(&self.table, effects)?);
        items.extend(counter_updates(
            &self.table,
            self.counter_shards,
            &counts::user_created(user),
        )?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition(_)) => Err(StoreError::EmailTaken),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let item = self.get_consistent(profile_key(id)).await?;
        item.as_ref().map(user_from_item).transpose()
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let Some(marker) = self.get_consistent(email_marker_key(email)).await? else {
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
        let mut items = vec![
            TransactWriteItem::builder()
                .update(profile_update(&self.table, previous, next)?)
                .build(),
        ];
        if previous.email != next.email {
            items.push(release_email(&self.table, &previous.email, &previous.id)?);
            items.push(claim_email(&self.table, &next.email, &next.id)?);
        }
        items.extend(role_still_held(&self.table, held)?);
        items.extend(effect_items(&self.table, effects)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            // Only the claim (item 2) failing means the address belongs to someone else.
            Err(WriteError::Condition(failed)) if failed == [2] => Err(StoreError::EmailTaken),
            Err(e) => Err(e.into_store_error()),
        }
    }

    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError> {
        let request = self
            .update_active_user(id)
            .update_expression(
                "SET #role = :role, #updatedAt = :now, #rolePartition = :rolePartition \
                 ADD #version :one",
            )
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#rolePartition", GSI2.partition_key)
            .expression_attribute_values(":rolePartition", s(role_partition(role)))
            .expression_attribute_values(":role", s(role.as_str()))
            .expression_attribute_values(":now", n(now));
        self.run_user_update(request).await
    }

    async fn end_all_sessions(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let request = self
            .update_active_user(id)
            .update_expression("SET #updatedAt = :now ADD #generation :one, #version :one")
            .expression_attribute_names("#generation", "sessionGeneration")
            .expression_attribute_values(":now", n(now));
        self.run_user_update(request).await.map(|_| ())
    }

    async fn change_password(
        &self,
        user: &User,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<User, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(profile_key(&user.id)))
            .condition_expression(
                "attribute_exists(#pk) AND attribute_not_exists(#deletedAt) AND #hash = :verified \
                 AND #generation = :generation",
            )
            .update_expression(
                "SET #hash = :hash, #updatedAt = :now ADD #generation :one, #version :one",
            )
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#deletedAt", "deletedAt")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#hash", "passwordHash")
            .expression_attribute_names("#generation", "sessionGeneration")
            .expression_attribute_values(":verified", s(&user.password_hash))
            .expression_attribute_values(":generation", n(user.session_generation))
            .expression_attribute_values(":hash", s(new_hash))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .build()?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(effect_items(&self.table, effects)?);
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)?;
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
        let mut condition = "attribute_exists(#pk) AND attribute_not_exists(#deletedAt)".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(profile_key(&user.id)))
            .update_expression(
                "SET #deletedAt = :at, #updatedAt = :at ADD #generation :one, #version :one \
                 REMOVE #gsi1pk, #gsi1sk, #gsi2pk, #gsi2sk, #gsi3pk, #gsi3sk",
            )
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#deletedAt", "deletedAt")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#generation", "sessionGeneration")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":one", n(1));
        for (placeholder, name) in [
            ("#gsi1pk", GSI1.partition_key),
            ("#gsi1sk", GSI1.sort_key),
            ("#gsi2pk", GSI2.partition_key),
            ("#gsi2sk", GSI2.sort_key),
            ("#gsi3pk", GSI3.partition_key),
            ("#gsi3sk", GSI3.sort_key),
        ] {
            update = update.expression_attribute_names(placeholder, name);
        }
        if let Some(expected) = expected_version {
            condition.push_str(" AND #version = :expected");
            update = update.expression_attribute_values(":expected", n(expected));
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .update(update.condition_expression(condition).build()?)
                .build(),
            release_email(&self.table, &user.email, &user.id)?,
        ];
        items.extend(role_still_held(&self.table, held)?);
        items.extend(effect_items(&self.table, effects)?);
        items.extend(counter_updates(
            &self.table,
            self.counter_shards,
            &counts::user_deleted(),
        )?);
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)?;
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
            let page = self
                .query_index(&self.users_query(query, phase), start, limit - users.len())
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
