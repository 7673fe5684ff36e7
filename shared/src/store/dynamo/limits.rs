//! Rate-limit counters (`LIMIT#<key>`) and login locks (`LOGIN#<account>`): conditional
//! updates, so every instance sees the same counts.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoStore;
use super::item::{Item, get_n, key, n, ttl_from_ms};
use super::retry::WriteError;
use super::schema::TTL_ATTRIBUTE;
use crate::store::{Counter, LimitStore, LoginState, StoreError};

fn counter_key(counter: &Counter) -> Item {
    key(format!("LIMIT#{}", counter.key), "LIMIT")
}

fn lock_key(account: &str) -> Item {
    key(format!("LOGIN#{account}"), "LOCK")
}

fn state_from_item(item: &Item) -> Result<LoginState, StoreError> {
    Ok(LoginState {
        version: get_n(item, "version")?,
        epoch: get_n(item, "epoch")?,
        locked_until: get_n(item, "lockedUntil")?,
        lockouts: get_n(item, "lockouts")?,
    })
}

#[async_trait]
impl LimitStore for DynamoStore {
    async fn take(&self, counter: &Counter, _now: i64) -> Result<Option<u32>, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(counter_key(counter)))
            .update_expression("SET #ttl = if_not_exists(#ttl, :ttl) ADD #count :one")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":ttl", ttl_from_ms(counter.window_end))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(counter.limit))
            .return_values(ReturnValue::UpdatedNew);
        match self.update(request).await {
            Ok(output) => {
                let counted = output.attributes().map(|item| get_n(item, "count"));
                counted
                    .transpose()?
                    .map(Some)
                    .ok_or_else(|| StoreError::backend("a counter update returned no count"))
            }
            Err(WriteError::Condition(_)) => Ok(None),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn give_back(&self, counter: &Counter) -> Result<(), StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(counter_key(counter)))
            .update_expression("ADD #count :minus_one")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0));
        match self.update(request).await {
            Ok(_) | Err(WriteError::Condition(_)) => Ok(()),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn login_state(&self, account: &str) -> Result<LoginState, StoreError> {
        match self.get_consistent(lock_key(account)).await? {
            Some(item) => state_from_item(&item),
            None => Ok(LoginState::default()),
        }
    }

    async fn lock_login(
        &self,
        account: &str,
        seen: &LoginState,
        until: i64,
        lockouts: u32,
        keep_until: i64,
    ) -> Result<bool, StoreError> {
        let mut item = lock_key(account);
        item.extend([
            ("version".to_owned(), n(seen.version + 1)),
            ("epoch".to_owned(), n(seen.epoch)),
            ("lockedUntil".to_owned(), n(until)),
            ("lockouts".to_owned(), n(lockouts)),
            (TTL_ATTRIBUTE.to_owned(), ttl_from_ms(keep_until)),
        ]);
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        request = if seen.version == 0 {
            request
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", "PK")
        } else {
            request
                .condition_expression("#version = :seen")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":seen", n(seen.version))
        };
        match self.put(request).await {
            Ok(()) => Ok(true),
            Err(WriteError::Condition(_)) => Ok(false),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn unlock_login(&self, account: &str, keep_until: i64) -> Result<LoginState, StoreError> {
        let zero = n(0);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(account)))
            .update_expression(
                "SET #version = if_not_exists(#version, :zero) + :one, \
                 #epoch = if_not_exists(#epoch, :zero) + :one, \
                 #lockedUntil = :zero, #lockouts = :zero, #ttl = :ttl",
            )
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#epoch", "epoch")
            .expression_attribute_names("#lockedUntil", "lockedUntil")
            .expression_attribute_names("#lockouts", "lockouts")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":zero", zero)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", ttl_from_ms(keep_until))
            .return_values(ReturnValue::AllOld);
        let output = self
            .update(request)
            .await
            .map_err(WriteError::into_store_error)?;
        match output.attributes() {
            Some(old) if old.contains_key("version") => state_from_item(old),
            _ => Ok(LoginState::default()),
        }
    }
}
