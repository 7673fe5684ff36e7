//! Account tokens (`TOKEN#<hash>`) and the outbox (`OUTBOX#<job id>`, listed oldest first on
//! GSI1 under `OUTBOX`).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::DynamoStore;
use super::item::{Item, get_n, get_s, key, n, s, ttl_from_ms};
use super::query::IndexQuery;
use super::retry::WriteError;
use super::schema::{GSI1, TTL_ATTRIBUTE};
use super::users::{claim_email, confirmed_email_update, profile_key, release_email};
use crate::domain::User;
use crate::jobs::Job;
use crate::store::{
    AccountStore, AccountToken, DeadOutboxRow, Effects, OutboxRow, OutboxStore, StoreError,
    TokenPurpose, UnreadableJob,
};

const OUTBOX: &str = "OUTBOX";

fn token_key(hash: &str) -> Item {
    key(format!("TOKEN#{hash}"), "TOKEN")
}

fn outbox_key(job_id: &str) -> Item {
    key(format!("OUTBOX#{job_id}"), OUTBOX)
}

fn token_item(token: &AccountToken) -> Item {
    let mut item = token_key(&token.hash);
    item.extend([
        ("type".to_owned(), s("account_token")),
        ("purpose".to_owned(), s(token.purpose.as_str())),
        ("userId".to_owned(), s(&token.user_id)),
        ("email".to_owned(), s(&token.email)),
        ("generation".to_owned(), n(token.generation)),
        ("createdAt".to_owned(), n(token.created_at)),
        ("expiresAt".to_owned(), n(token.expires_at)),
        (TTL_ATTRIBUTE.to_owned(), ttl_from_ms(token.expires_at)),
    ]);
    item
}

fn token_from_item(item: &Item) -> Result<Option<AccountToken>, StoreError> {
    let Some(purpose) = TokenPurpose::parse(&get_s(item, "purpose")?) else {
        return Ok(None);
    };
    // A token stored before tokens carried their generation is taken as ended.
    let Ok(generation) = get_n(item, "generation") else {
        return Ok(None);
    };
    let hash = get_s(item, "PK")?
        .strip_prefix("TOKEN#")
        .unwrap_or_default()
        .to_owned();
    Ok(Some(AccountToken {
        hash,
        purpose,
        user_id: get_s(item, "userId")?,
        email: get_s(item, "email")?,
        generation,
        created_at: get_n(item, "createdAt")?,
        expires_at: get_n(item, "expiresAt")?,
    }))
}

fn outbox_item(job: &Job) -> Item {
    let mut item = outbox_key(&job.id);
    item.extend([
        ("type".to_owned(), s("outbox")),
        ("id".to_owned(), s(&job.id)),
        ("job".to_owned(), s(job.to_json())),
        ("createdAt".to_owned(), n(job.created_at)),
        (GSI1.partition_key.to_owned(), s(OUTBOX)),
        (
            GSI1.sort_key.to_owned(),
            s(format!("{:013}#{}", job.created_at, job.id)),
        ),
    ]);
    item
}

fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The transaction items that write a change's token and outbox jobs.
pub(super) fn effect_items(
    table: &str,
    effects: &Effects,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut items = Vec::new();
    if let Some(token) = &effects.token {
        items.push(put(table, token_item(token))?);
    }
    for job in &effects.jobs {
        items.push(put(table, outbox_item(job))?);
    }
    Ok(items)
}

/// Deletes the token, if it is still there and unexpired.
fn spend_token(
    table: &str,
    token: &AccountToken,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(token_key(&token.hash)))
        .condition_expression("attribute_exists(#pk) AND #purpose = :purpose AND #expiresAt > :now")
        .expression_attribute_names("#pk", "PK")
        .expression_attribute_names("#purpose", "purpose")
        .expression_attribute_names("#expiresAt", "expiresAt")
        .expression_attribute_values(":purpose", s(token.purpose.as_str()))
        .expression_attribute_values(":now", n(now))
        .build()?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// An update of the token's user, conditioned on `STILL_ISSUED`.
fn user_update(
    token: &AccountToken,
    table: &str,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(table)
        .set_key(Some(profile_key(&token.user_id)))
        .expression_attribute_names("#pk", "PK")
        .expression_attribute_names("#deletedAt", "deletedAt")
        .expression_attribute_names("#email", "email")
        .expression_attribute_names("#generation", "sessionGeneration")
        .expression_attribute_values(":email", s(&token.email))
        .expression_attribute_values(":generation", n(token.generation))
}

/// The user is active with the token's address, and no event that ends sessions came since the
/// token was issued (or read, when issuing it): the rule for a verification or reset token.
const STILL_ISSUED: &str = "attribute_exists(#pk) AND attribute_not_exists(#deletedAt) \
     AND #email = :email AND #generation = :generation";

#[async_trait]
impl AccountStore for DynamoStore {
    async fn find_token(&self, hash: &str) -> Result<Option<AccountToken>, StoreError> {
        let Some(item) = self.get_consistent(token_key(hash)).await? else {
            return Ok(None);
        };
        let now = crate::clock::now_ms();
        Ok(token_from_item(&item)?.filter(|t| t.expires_at > now))
    }

    async fn issue_token(
        &self,
        effects: &Effects,
        min_gap_ms: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let token = effects
            .token
            .as_ref()
            .ok_or_else(|| StoreError::backend("issue_token without a token"))?;
        let update = match token.purpose {
            TokenPurpose::VerifyEmail => user_update(token, &self.table)
                .update_expression("SET #sent = :now")
                .condition_expression(format!(
                    "{STILL_ISSUED} AND (attribute_not_exists(#verified) OR #verified = :false) \
                     AND (attribute_not_exists(#sent) OR #sent <= :cutoff)"
                ))
                .expression_attribute_names("#sent", "verifySentAt")
                .expression_attribute_names("#verified", "emailVerified")
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":cutoff", n(now - min_gap_ms)),
            TokenPurpose::ResetPassword => user_update(token, &self.table)
                .update_expression("SET #reset = :hash, #sent = :now")
                .condition_expression(format!(
                    "{STILL_ISSUED} AND (attribute_not_exists(#sent) OR #sent <= :cutoff)"
                ))
                .expression_attribute_names("#reset", "resetToken")
                .expression_attribute_names("#sent", "resetSentAt")
                .expression_attribute_values(":hash", s(&token.hash))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":cutoff", n(now - min_gap_ms)),
            TokenPurpose::ChangeEmail => Update::builder()
                .table_name(&self.table)
                .set_key(Some(profile_key(&token.user_id)))
                .update_expression("SET #pending = :hash")
                .condition_expression(
                    "attribute_exists(#pk) AND attribute_not_exists(#deletedAt) \
                     AND #generation = :generation",
                )
                .expression_attribute_names("#pk", "PK")
                .expression_attribute_names("#deletedAt", "deletedAt")
                .expression_attribute_names("#pending", "pendingEmailToken")
                .expression_attribute_names("#generation", "sessionGeneration")
                .expression_attribute_values(":hash", s(&token.hash))
                .expression_attribute_values(":generation", n(token.generation)),
        };
        let mut items = vec![TransactWriteItem::builder().update(update.build()?).build()];
        items.extend(effect_items(&self.table, effects)?);
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)
    }

    async fn verify_email(&self, token: &AccountToken, now: i64) -> Result<(), StoreError> {
        let update = user_update(token, &self.table)
            .update_expression("SET #verified = :true, #updatedAt = :now ADD #version :one")
            .condition_expression(STILL_ISSUED)
            .expression_attribute_names("#verified", "emailVerified")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .build()?;
        let items = vec![
            spend_token(&self.table, token, now)?,
            TransactWriteItem::builder().update(update).build(),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition(_)) => Err(StoreError::NotFound),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn change_email(
        &self,
        token: &AccountToken,
        previous: &User,
        next: &User,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut items = vec![
            spend_token(&self.table, token, next.updated_at)?,
            TransactWriteItem::builder()
                .update(confirmed_email_update(&self.table, previous, next, token)?)
                .build(),
        ];
        // An admin may have set the address to this one meanwhile: then its marker is already
        // the user's (and a transaction may not touch one item twice).
        if previous.email != next.email {
            items.push(release_email(&self.table, &previous.email, &previous.id)?);
            items.push(claim_email(&self.table, &next.email, &next.id)?);
        }
        items.extend(effect_items(&self.table, effects)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition(failed)) if failed.contains(&0) => Err(StoreError::NotFound),
            Err(WriteError::Condition(failed)) if failed == [3] => Err(StoreError::EmailTaken),
            Err(WriteError::Condition(_)) => {
                // The version moved, or a newer change request or an event that ends
                // sessions superseded this token.
                let stored = self.get_consistent(profile_key(&previous.id)).await?;
                let still_good = stored.is_some_and(|item| {
                    get_s(&item, "pendingEmailToken").ok().as_deref() == Some(token.hash.as_str())
                        && get_n::<u64>(&item, "sessionGeneration").ok() == Some(token.generation)
                });
                Err(if still_good {
                    StoreError::Conflict
                } else {
                    StoreError::NotFound
                })
            }
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    async fn reset_password(
        &self,
        token: &AccountToken,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let update = user_update(token, &self.table)
            .update_expression(
                "SET #hash = :hash, #updatedAt = :now ADD #version :one, #generation :one \
                 REMOVE #reset",
            )
            .condition_expression(format!("{STILL_ISSUED} AND #reset = :token"))
            .expression_attribute_names("#hash", "passwordHash")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#reset", "resetToken")
            .expression_attribute_values(":hash", s(new_hash))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":token", s(&token.hash))
            .build()?;
        let mut items = vec![
            spend_token(&self.table, token, now)?,
            TransactWriteItem::builder().update(update).build(),
        ];
        items.extend(effect_items(&self.table, effects)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(WriteError::Condition(_)) => Err(StoreError::NotFound),
            Err(WriteError::Store(e)) => Err(e),
        }
    }
}

/// Where unreadable outbox rows are kept, listed oldest first on GSI1 under `OUTBOX_DEAD`.
const OUTBOX_DEAD: &str = "OUTBOX_DEAD";

fn outbox_dead_key(job_id: &str) -> Item {
    key(format!("OUTBOX_DEAD#{job_id}"), OUTBOX_DEAD)
}

/// A dead letter keeps the row's text in `job` and the error in `detail`: both are projected
/// on GSI1, so the listing needs no schema change.
fn outbox_dead_item(dead: &DeadOutboxRow) -> Item {
    let mut item = outbox_dead_key(&dead.id);
    item.extend([
        ("type".to_owned(), s("outbox_dead")),
        ("id".to_owned(), s(&dead.id)),
        ("job".to_owned(), s(&dead.raw)),
        ("detail".to_owned(), s(&dead.error)),
        ("createdAt".to_owned(), n(dead.created_at)),
        ("updatedAt".to_owned(), n(dead.dead_at)),
        (GSI1.partition_key.to_owned(), s(OUTBOX_DEAD)),
        (
            GSI1.sort_key.to_owned(),
            s(format!("{:013}#{}", dead.dead_at, dead.id)),
        ),
    ]);
    item
}

/// An outbox item as listed: never fails, a row that does not read is reported as such. Its
/// id and time come from its keys (the listing's order), whatever its other attributes say.
fn outbox_row_from_item(item: &Item) -> Result<OutboxRow, StoreError> {
    let id = get_s(item, "PK")?
        .strip_prefix("OUTBOX#")
        .unwrap_or_default()
        .to_owned();
    let created_at = get_s(item, GSI1.sort_key)?
        .split_once('#')
        .and_then(|(at, _)| at.parse().ok())
        .or_else(|| get_n(item, "createdAt").ok())
        .unwrap_or(0);
    let job = match item.get("job") {
        Some(AttributeValue::S(raw)) => Job::from_json(raw).map_err(|error| UnreadableJob {
            raw: raw.clone(),
            error,
        }),
        other => Err(UnreadableJob {
            raw: other.map(|value| format!("{value:?}")).unwrap_or_default(),
            error: "missing or malformed `job`".to_owned(),
        }),
    };
    Ok(OutboxRow {
        id,
        created_at,
        job,
    })
}

impl DynamoStore {
    fn outbox_query(partition: &str, table_key: fn(&str) -> Item) -> IndexQuery {
        IndexQuery {
            index: GSI1,
            partition: partition.to_owned(),
            sort_prefix: None,
            filter: None,
            forward: true,
            table_key: Box::new(table_key),
        }
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn outbox_rows(
        &self,
        before: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let query = Self::outbox_query(OUTBOX, outbox_key);
        let after = after.map(|(at, id)| (format!("{at:013}#{id}"), id.to_owned()));
        let after = after
            .as_ref()
            .map(|(sort, id)| (sort.as_str(), id.as_str()));
        let page = self.query_index(&query, after, limit).await?;
        let mut rows = Vec::with_capacity(page.items.len());
        for item in &page.items {
            let row = outbox_row_from_item(item)?;
            // Oldest first: the rest were written later still.
            if row.created_at >= before {
                break;
            }
            rows.push(row);
        }
        Ok(rows)
    }

    async fn add_to_outbox(&self, jobs: &[Job]) -> Result<(), StoreError> {
        for job in jobs {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(outbox_item(job)))
                .send()
                .await?;
        }
        Ok(())
    }

    async fn remove_from_outbox(&self, job_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(outbox_key(job_id)))
            .send()
            .await?;
        Ok(())
    }

    async fn dead_letter_outbox(&self, dead: &DeadOutboxRow) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(outbox_key(&dead.id)))
            .build()?;
        let items = vec![
            put(&self.table, outbox_dead_item(dead))?,
            TransactWriteItem::builder().delete(delete).build(),
        ];
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)
    }

    async fn outbox_dead_letters(&self, limit: usize) -> Result<Vec<DeadOutboxRow>, StoreError> {
        let query = Self::outbox_query(OUTBOX_DEAD, outbox_dead_key);
        let page = self.query_index(&query, None, limit).await?;
        page.items
            .iter()
            .map(|item| {
                Ok(DeadOutboxRow {
                    id: get_s(item, "id")?,
                    raw: get_s(item, "job")?,
                    error: get_s(item, "detail")?,
                    created_at: get_n(item, "createdAt")?,
                    dead_at: get_n(item, "updatedAt")?,
                })
            })
            .collect()
    }
}
