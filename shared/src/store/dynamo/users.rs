use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem};

use super::item::{Item, get_n, get_opt_n, get_s, key, n, s};
use super::query::{Filter, IndexQuery};
use super::schema::{GSI1, GSI2, GSI3};
use super::{
    Cancelled, DynamoStore, cancellation, cancellation_codes, condition_failed, put_if_absent,
};
use crate::domain::{DisplayName, Email, Role, User};
use crate::store::{Page, Position, StoreError, UserQuery, UserStore};

pub(super) fn user_pk(id: &str) -> String {
    format!("USER#{id}")
}

const PROFILE: &str = "PROFILE";

fn email_marker_key(email: &Email) -> Item {
    key(format!("EMAIL#{email}"), "EMAIL")
}

fn user_to_item(user: &User) -> Item {
    let mut item = key(user_pk(&user.id), PROFILE);
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
        (
            "sessionsValidAfter".to_owned(),
            n(user.sessions_valid_after),
        ),
    ]);
    match user.deleted_at {
        Some(deleted_at) => {
            item.insert("deletedAt".to_owned(), n(deleted_at));
        }
        // Only active users are listed: the index entries are sparse.
        None => item.extend([
            (GSI1.partition_key.to_owned(), s("USERS")),
            (GSI1.sort_key.to_owned(), s(user.email.as_str())),
            (
                GSI2.partition_key.to_owned(),
                s(format!("USERS#{}", user.role)),
            ),
            (GSI2.sort_key.to_owned(), s(user.email.as_str())),
            (GSI3.partition_key.to_owned(), s("USERS")),
            (GSI3.sort_key.to_owned(), s(user.name_key())),
        ]),
    }
    item
}

fn profile_key(id: &str) -> Item {
    key(user_pk(id), PROFILE)
}

/// Puts `next` over the stored user if its version is still `expected`.
fn put_if_version(
    table: &str,
    next: &User,
    expected: u64,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(user_to_item(next)))
        .condition_expression("#version = :expected AND attribute_not_exists(#deletedAt)")
        .expression_attribute_names("#version", "version")
        .expression_attribute_names("#deletedAt", "deletedAt")
        .expression_attribute_values(":expected", n(expected))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Releases an e-mail marker, if it still belongs to this user.
fn release_email(
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
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

fn claim_email(table: &str, email: &Email, user_id: &str) -> Result<TransactWriteItem, StoreError> {
    let mut marker = email_marker_key(email);
    marker.insert("userId".to_owned(), s(user_id));
    put_if_absent(table, marker)
}

impl DynamoStore {
    /// Runs a user write; a failed condition on item `email_claim_at` means the e-mail is taken,
    /// on any other item that the user changed meanwhile.
    async fn write_user(
        &self,
        items: Vec<TransactWriteItem>,
        email_claim_at: Option<usize>,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(e) = result else {
            return Ok(());
        };
        let Some(codes) = cancellation_codes(&e) else {
            return Err(e.into());
        };
        let failed = |i: usize| codes.get(i).is_some_and(|c| c == "ConditionalCheckFailed");
        if email_claim_at.is_some_and(failed) && !failed(0) {
            Err(StoreError::EmailTaken)
        } else {
            Err(StoreError::Conflict)
        }
    }

    fn users_query(&self, query: &UserQuery, phase: u8) -> IndexQuery {
        let prefix = query.prefix.clone();
        let table_key: Box<dyn Fn(&str) -> Item + Send + Sync> = Box::new(profile_key);
        if phase == 0 {
            let (index, partition) = match query.role {
                Some(role) => (GSI2, format!("USERS#{role}")),
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

fn user_from_item(item: &Item) -> Result<User, StoreError> {
    let invalid = |e: crate::domain::Invalid| StoreError::Backend(e.message);
    Ok(User {
        id: get_s(item, "id")?,
        email: Email::parse(get_s(item, "email")?).map_err(invalid)?,
        name: DisplayName::parse(get_s(item, "name")?).map_err(invalid)?,
        role: Role::parse(get_s(item, "role")?).map_err(invalid)?,
        password_hash: get_s(item, "passwordHash")?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
        sessions_valid_after: get_opt_n(item, "sessionsValidAfter")?.unwrap_or(0),
        deleted_at: get_opt_n(item, "deletedAt")?,
    })
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut marker = email_marker_key(&user.email);
        marker.insert("userId".to_owned(), s(&user.id));
        let items = vec![
            put_if_absent(&self.table, user_to_item(user))?,
            put_if_absent(&self.table, marker)?,
        ];
        for attempt in 0..5u64 {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) => match cancellation(&e) {
                    Some(Cancelled::Condition) => return Err(StoreError::EmailTaken),
                    Some(Cancelled::Contention) if attempt < 4 => {
                        tokio::time::sleep(Duration::from_millis(20 * (attempt + 1))).await;
                    }
                    _ => return Err(e.into()),
                },
            }
        }
        Err(StoreError::Conflict)
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

    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(profile_key(id)))
            .update_expression(
                "SET #role = :role, #updatedAt = :now, #rolePartition = :rolePartition ADD #version :one",
            )
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#deletedAt)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#deletedAt", "deletedAt")
            .expression_attribute_names("#rolePartition", GSI2.partition_key)
            .expression_attribute_values(":rolePartition", s(format!("USERS#{role}")))
            .expression_attribute_values(":role", s(role.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => user_from_item(output.attributes().ok_or(StoreError::NotFound)?),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn invalidate_sessions(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(profile_key(id)))
            .update_expression("SET #after = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#after", "sessionsValidAfter")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn update_user(&self, previous: &User, next: &User) -> Result<(), StoreError> {
        let mut items = vec![put_if_version(&self.table, next, previous.version)?];
        let mut claim_at = None;
        if previous.email != next.email {
            items.push(release_email(&self.table, &previous.email, &previous.id)?);
            items.push(claim_email(&self.table, &next.email, &next.id)?);
            claim_at = Some(2);
        }
        self.write_user(items, claim_at).await
    }

    async fn delete_user(&self, user: &User, at: i64) -> Result<User, StoreError> {
        let deleted = User {
            deleted_at: Some(at),
            sessions_valid_after: at,
            updated_at: at,
            version: user.version + 1,
            ..user.clone()
        };
        let items = vec![
            put_if_version(&self.table, &deleted, user.version)?,
            release_email(&self.table, &user.email, &user.id)?,
        ];
        self.write_user(items, None).await?;
        Ok(deleted)
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
            let (items, more_here) = self
                .query_index(&self.users_query(query, phase), start, limit - users.len())
                .await?;
            for item in &items {
                users.push(user_from_item(item)?);
            }
            if users.len() == limit {
                let more = more_here || phase < last_phase;
                let next = users
                    .last()
                    .filter(|_| more)
                    .map(|user| Position::of_user(user, phase));
                return Ok(Page { items: users, next });
            }
        }
        Ok(Page {
            items: users,
            next: None,
        })
    }
}
