//! Sessions (`USER#<id>` / `SESSION#<sid>`) and their refresh tokens (`REFRESH#<hash>`), both
//! removed by TTL once expired. A user's sessions are listed from their partition, newest first
//! (session ids are time-ordered).
//!
//! Who writes a session item: its start (whole item, only if absent); a refresh (expiry and
//! last use, only while not ended); a request's last-use note (only while not ended, at most
//! once a minute); a second factor's step-up (level and methods, only while not ended); an
//! ending (`revokedAt`, once); "log out other sessions" (the kept session's
//! generation, only while live). No write but the start creates the item, so none brings back a
//! session that expired away.

use async_trait::async_trait;

use super::TableStore;
use super::paging::IndexQuery;
use super::role_held::role_still_held;
use super::users::{sessions_ended, user_from_item};
use crate::clock::now_ms;
use crate::domain::{Authentication, User};
use crate::store::keys;
use crate::store::table::schema::{TABLE, TTL_ATTRIBUTE};
use crate::store::table::{
    Condition, Item, Put, Read, Returns, TableError, Update, Value, get_n, get_opt_n, get_opt_s,
    get_s, get_strings, item, ttl_from_ms,
};
use crate::store::{
    Page, Position, RefreshRecord, RoleHeld, Session, SessionOrigin, SessionStore, StoreError,
    Successor,
};

fn amr_value(authentication: &Authentication) -> Value {
    Value::L(
        authentication
            .amr_names()
            .into_iter()
            .map(Value::from)
            .collect(),
    )
}

fn session_to_item(session: &Session) -> Item {
    let mut item = item(
        &keys::session(&session.user_id, &session.id),
        [
            ("type", "session".into()),
            ("id", (&session.id).into()),
            ("userId", (&session.user_id).into()),
            ("generation", session.generation.into()),
            ("createdAt", session.created_at.into()),
            ("expiresAt", session.expires_at.into()),
            ("lastUsedAt", session.last_used_at.into()),
            ("aal", session.authentication.aal.as_str().into()),
            ("amr", amr_value(&session.authentication)),
            (TTL_ATTRIBUTE, ttl_from_ms(session.expires_at)),
        ],
    );
    if let Some(revoked_at) = session.revoked_at {
        item.insert("revokedAt".to_owned(), revoked_at.into());
    }
    if let Some(ip) = session.origin.ip {
        item.insert("ip".to_owned(), ip.to_string().into());
    }
    if let Some(user_agent) = &session.origin.user_agent {
        item.insert("userAgent".to_owned(), user_agent.into());
    }
    item
}

/// A session as stored. One started before last use, level and origin were recorded reads as
/// last used when it started, a password sign-in, from nowhere known.
fn session_from_item(item: &Item) -> Result<Session, StoreError> {
    let created_at = get_n(item, "createdAt")?;
    let aal = get_opt_s(item, "aal")?;
    let authentication = Authentication::from_stored(aal.as_deref(), &get_strings(item, "amr")?)
        .map_err(super::corrupt)?;
    Ok(Session {
        id: get_s(item, "id")?,
        user_id: get_s(item, "userId")?,
        generation: get_opt_n(item, "generation")?.unwrap_or(0),
        created_at,
        expires_at: get_n(item, "expiresAt")?,
        revoked_at: get_opt_n(item, "revokedAt")?,
        last_used_at: get_opt_n(item, "lastUsedAt")?.unwrap_or(created_at),
        authentication,
        origin: SessionOrigin {
            ip: get_opt_s(item, "ip")?.and_then(|ip| ip.parse().ok()),
            user_agent: get_opt_s(item, "userAgent")?,
        },
    })
}

/// The stored session is live at `now` for a user of session generation `generation`: the
/// store's side of `Session::is_live_for` (with the expiry that reads check), for filters and
/// conditions. A session stored without a generation is of generation 0, as it reads.
fn live(generation: u64, now: i64) -> Condition {
    let same_generation = match generation {
        0 => Condition::eq("generation", 0).or(Condition::absent("generation")),
        _ => Condition::eq("generation", generation),
    };
    Condition::absent("revokedAt")
        .and(Condition::gt("expiresAt", now))
        .and(same_generation)
}

fn refresh_to_item(token: &RefreshRecord) -> Item {
    let mut item = item(
        &keys::refresh_token(&token.hash),
        [
            ("type", "refresh_token".into()),
            ("hash", (&token.hash).into()),
            ("userId", (&token.user_id).into()),
            ("sessionId", (&token.session_id).into()),
            ("createdAt", token.created_at.into()),
            ("expiresAt", token.expires_at.into()),
            (TTL_ATTRIBUTE, ttl_from_ms(token.expires_at)),
        ],
    );
    if let Some(spent_at) = token.spent_at {
        item.insert("spentAt".to_owned(), spent_at.into());
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
impl SessionStore for TableStore {
    async fn create_session(
        &self,
        session: &Session,
        token: &RefreshRecord,
    ) -> Result<(), StoreError> {
        let actions = vec![
            Put::if_absent(session_to_item(session)).into(),
            Put::if_absent(refresh_to_item(token)).into(),
        ];
        Ok(self.table.transact(actions).await?)
    }

    async fn get_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let item = self
            .get_consistent(&keys::session(user_id, session_id))
            .await?;
        let session = item.as_ref().map(session_from_item).transpose()?;
        Ok(session.filter(|session| session.expires_at > now_ms()))
    }

    async fn get_user_and_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<(Option<User>, Option<Session>), StoreError> {
        let keys = [keys::user(user_id), keys::session(user_id, session_id)];
        let items = self.table.get_each(&keys, Read::Consistent).await?;
        let [user, session] = <[Option<Item>; 2]>::try_from(items)
            .map_err(|_| StoreError::backend("a read of two keys did not answer two"))?;
        let user = user.as_ref().map(user_from_item).transpose()?;
        let session = session.as_ref().map(session_from_item).transpose()?;
        Ok((
            user,
            session.filter(|session| session.expires_at > now_ms()),
        ))
    }

    async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let item = self.get_consistent(&keys::refresh_token(hash)).await?;
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
        let spend = Update::new(keys::refresh_token(spent_hash))
            .set("spentAt", spent_at)
            .set("successorHash", &next.hash)
            .set("successorKid", kid)
            .when(Condition::item_exists().and(Condition::absent("spentAt")));
        let extend = Update::new(keys::session(&next.user_id, &next.session_id))
            .set("expiresAt", next.expires_at)
            .set("lastUsedAt", spent_at)
            .set(TTL_ATTRIBUTE, ttl_from_ms(next.expires_at))
            .when(Condition::item_exists().and(Condition::absent("revokedAt")));
        let actions = vec![
            spend.into(),
            extend.into(),
            Put::if_absent(refresh_to_item(next)).into(),
        ];
        Ok(self.table.transact(actions).await?)
    }

    async fn raise_session(
        &self,
        user_id: &str,
        session_id: &str,
        authentication: &Authentication,
    ) -> Result<(), StoreError> {
        let update = Update::new(keys::session(user_id, session_id))
            .set("aal", authentication.aal.as_str())
            .set("amr", amr_value(authentication))
            .when(Condition::item_exists().and(Condition::absent("revokedAt")));
        self.table.update(update, Returns::Nothing).await?;
        Ok(())
    }

    async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let update = Update::new(keys::session(user_id, session_id))
            .set_if_absent("revokedAt", at)
            .when(Condition::item_exists());
        match self.table.update(update, Returns::Nothing).await {
            // Revoking a session that no longer exists leaves nothing to do.
            Ok(_) | Err(TableError::ConditionFailed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_sessions(
        &self,
        user: &User,
        after: Option<&Position>,
        limit: usize,
        now: i64,
    ) -> Result<Page<Session>, StoreError> {
        let query = IndexQuery {
            index: TABLE,
            partition: keys::user(&user.id).pk,
            sort_prefix: Some(keys::SESSION_PREFIX.to_owned()),
            filter: Some(live(user.session_generation, now)),
            forward: false,
            table_key: Box::new(keys::user),
        };
        let start = after.map(|p| (p.sort.as_str(), p.id.as_str()));
        // Consistent: a session just started or ended shows as such in the next listing.
        let page = self
            .query_partition(&query, start, limit, Read::Consistent)
            .await?;
        let items = page
            .items
            .iter()
            .map(session_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = page
            .resume
            .map(|(sort, id)| Position { phase: 0, sort, id });
        Ok(Page { items, next })
    }

    async fn touch_session(
        &self,
        session: &Session,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        let stale = Condition::absent("lastUsedAt").or(Condition::lt("lastUsedAt", stale_before));
        let update = Update::new(keys::session(&session.user_id, &session.id))
            .set("lastUsedAt", now)
            .when(
                Condition::item_exists()
                    .and(live(session.generation, now))
                    .and(stale),
            );
        match self.table.update(update, Returns::Nothing).await {
            Ok(_) => Ok(true),
            Err(TableError::ConditionFailed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn end_session(
        &self,
        user: &User,
        session_id: &str,
        at: i64,
        held: Option<&RoleHeld>,
    ) -> Result<(), StoreError> {
        let end = Update::new(keys::session(&user.id, session_id))
            .set("revokedAt", at)
            .when(Condition::item_exists().and(live(user.session_generation, at)));
        let mut actions = vec![end.into()];
        actions.extend(role_still_held(held));
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(failed)) if failed.contains(&0) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn end_other_sessions(
        &self,
        user: &User,
        keep: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let generation = user.session_generation;
        let end_all =
            sessions_ended(&user.id, now).when(Condition::eq("sessionGeneration", generation));
        let carry_on = Update::new(keys::session(&user.id, keep))
            .set("generation", generation + 1)
            .when(Condition::item_exists().and(live(generation, now)));
        Ok(self
            .table
            .transact(vec![end_all.into(), carry_on.into()])
            .await?)
    }
}
