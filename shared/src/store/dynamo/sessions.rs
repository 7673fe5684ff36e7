use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::item::{Item, get_n, get_opt_n, get_s, key, n, s, ttl_from_ms};
use super::retry::WriteError;
use super::schema::TTL_ATTRIBUTE;
use super::users::user_pk;
use super::{DynamoStore, put_if_absent};
use crate::clock::now_ms;
use crate::store::{RefreshRecord, Session, SessionStore, StoreError, Successor};

fn session_key(user_id: &str, session_id: &str) -> Item {
    key(user_pk(user_id), format!("SESSION#{session_id}"))
}

fn refresh_key(hash: &str) -> Item {
    key(format!("REFRESH#{hash}"), "REFRESH")
}

fn session_to_item(session: &Session) -> Item {
    let mut item = session_key(&session.user_id, &session.id);
    item.extend([
        ("type".to_owned(), s("session")),
        ("id".to_owned(), s(&session.id)),
        ("userId".to_owned(), s(&session.user_id)),
        ("generation".to_owned(), n(session.generation)),
        ("createdAt".to_owned(), n(session.created_at)),
        ("expiresAt".to_owned(), n(session.expires_at)),
        (TTL_ATTRIBUTE.to_owned(), ttl_from_ms(session.expires_at)),
    ]);
    if let Some(revoked_at) = session.revoked_at {
        item.insert("revokedAt".to_owned(), n(revoked_at));
    }
    item
}

fn session_from_item(item: &Item) -> Result<Session, StoreError> {
    Ok(Session {
        id: get_s(item, "id")?,
        user_id: get_s(item, "userId")?,
        generation: get_opt_n(item, "generation")?.unwrap_or(0),
        created_at: get_n(item, "createdAt")?,
        expires_at: get_n(item, "expiresAt")?,
        revoked_at: get_opt_n(item, "revokedAt")?,
    })
}

fn refresh_to_item(token: &RefreshRecord) -> Item {
    let mut item = refresh_key(&token.hash);
    item.extend([
        ("type".to_owned(), s("refresh_token")),
        ("hash".to_owned(), s(&token.hash)),
        ("userId".to_owned(), s(&token.user_id)),
        ("sessionId".to_owned(), s(&token.session_id)),
        ("createdAt".to_owned(), n(token.created_at)),
        ("expiresAt".to_owned(), n(token.expires_at)),
        (TTL_ATTRIBUTE.to_owned(), ttl_from_ms(token.expires_at)),
    ]);
    if let Some(spent_at) = token.spent_at {
        item.insert("spentAt".to_owned(), n(spent_at));
    }
    item
}

fn refresh_from_item(item: &Item) -> Result<RefreshRecord, StoreError> {
    Ok(RefreshRecord {
        hash: get_s(item, "hash")?,
        user_id: get_s(item, "userId")?,
        session_id: get_s(item, "sessionId")?,
        created_at: get_n(item, "createdAt")?,
        expires_at: get_n(item, "expiresAt")?,
        spent_at: get_opt_n(item, "spentAt")?,
        successor: match (get_s(item, "successorHash"), get_s(item, "successorKid")) {
            (Ok(hash), Ok(kid)) => Some(Successor { hash, kid }),
            _ => None,
        },
    })
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(
        &self,
        session: &Session,
        token: &RefreshRecord,
    ) -> Result<(), StoreError> {
        self.transact(vec![
            put_if_absent(&self.table, session_to_item(session))?,
            put_if_absent(&self.table, refresh_to_item(token))?,
        ])
        .await
        .map_err(WriteError::into_store_error)
    }

    async fn get_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let item = self
            .get_consistent(session_key(user_id, session_id))
            .await?;
        let session = item.as_ref().map(session_from_item).transpose()?;
        Ok(session.filter(|session| session.expires_at > now_ms()))
    }

    async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let item = self.get_consistent(refresh_key(hash)).await?;
        let token = item.as_ref().map(refresh_from_item).transpose()?;
        Ok(token.filter(|token| token.expires_at > now_ms()))
    }

    async fn rotate_refresh_token(
        &self,
        spent_hash: &str,
        spent_at: i64,
        next: &RefreshRecord,
        kid: &str,
    ) -> Result<(), StoreError> {
        let spend = Update::builder()
            .table_name(&self.table)
            .set_key(Some(refresh_key(spent_hash)))
            .update_expression("SET #spentAt = :now, #successorHash = :next, #successorKid = :kid")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#spentAt)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#spentAt", "spentAt")
            .expression_attribute_names("#successorHash", "successorHash")
            .expression_attribute_names("#successorKid", "successorKid")
            .expression_attribute_values(":now", n(spent_at))
            .expression_attribute_values(":next", s(&next.hash))
            .expression_attribute_values(":kid", s(kid))
            .build()?;
        let extend = Update::builder()
            .table_name(&self.table)
            .set_key(Some(session_key(&next.user_id, &next.session_id)))
            .update_expression("SET #expiresAt = :expiresAt, #ttl = :ttl")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#revokedAt)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#expiresAt", "expiresAt")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#revokedAt", "revokedAt")
            .expression_attribute_values(":expiresAt", n(next.expires_at))
            .expression_attribute_values(":ttl", ttl_from_ms(next.expires_at))
            .build()?;
        self.transact(vec![
            TransactWriteItem::builder().update(spend).build(),
            TransactWriteItem::builder().update(extend).build(),
            put_if_absent(&self.table, refresh_to_item(next))?,
        ])
        .await
        .map_err(WriteError::into_store_error)
    }

    async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(session_key(user_id, session_id)))
            .update_expression("SET #revokedAt = if_not_exists(#revokedAt, :at)")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#revokedAt", "revokedAt")
            .expression_attribute_values(":at", n(at));
        match self.update(request).await {
            // Revoking a session that no longer exists leaves nothing to do.
            Ok(_) | Err(WriteError::Condition(_)) => Ok(()),
            Err(WriteError::Store(e)) => Err(e),
        }
    }
}
