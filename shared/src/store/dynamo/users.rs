use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};

use super::item::{Item, get_n, get_opt_n, get_s, key, n, s};
use super::{Cancelled, DynamoStore, cancellation};
use crate::domain::{DisplayName, Email, Role, User};
use crate::store::{StoreError, UserStore};

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
    if let Some(deleted_at) = user.deleted_at {
        item.insert("deletedAt".to_owned(), n(deleted_at));
    }
    item
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

fn put_if_absent(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", "PK")
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
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
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(id), PROFILE)))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(user_from_item).transpose()
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let marker = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(email_marker_key(email)))
            .consistent_read(true)
            .send()
            .await?;
        let Some(marker) = marker.item() else {
            return Ok(None);
        };
        let user = self.get_user(&get_s(marker, "userId")?).await?;
        Ok(user.filter(User::is_active))
    }

    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(id), PROFILE)))
            .update_expression("SET #role = :role, #updatedAt = :now ADD #version :one")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#deletedAt)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#deletedAt", "deletedAt")
            .expression_attribute_values(":role", s(role.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => user_from_item(output.attributes().ok_or(StoreError::NotFound)?),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn invalidate_sessions(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(id), PROFILE)))
            .update_expression("SET #after = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#after", "sessionsValidAfter")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }
}
