//! Passkeys: the credential in its user's partition (`USER#<id>` / `PASSKEY#<hash>`), which
//! user a credential belongs to (`PASSKEY#<hash>`, so one credential is registered once), and
//! ceremonies between options and verification (`PASSKEY_CEREMONY#<hash>`, TTL). The user item
//! counts its passkeys (`passkeyCount`): the cap on registrations and the last-way-in rule
//! hold in the same write.

use async_trait::async_trait;

use super::TableStore;
use super::effects::effect_actions;
use super::users::active_user;
use super::ways_in::{PASSKEY_COUNT, WayIn, another_way_in};
use crate::store::keys;
use crate::store::table::schema::TTL_ATTRIBUTE;
use crate::store::table::{
    Action, Condition, Delete, Item, Put, Query, Returns, SortRange, TableError, Update, get_bool,
    get_n, get_opt_n, get_opt_s, get_s, item, ttl_from_ms,
};
use crate::store::{
    CeremonyKind, Effects, PasskeyCeremony, PasskeyStore, StoreError, StoredPasskey,
};

fn passkey_item(passkey: &StoredPasskey) -> Item {
    item(
        &keys::user_passkey(&passkey.user_id, &passkey.id),
        [
            ("type", "passkey".into()),
            ("userId", (&passkey.user_id).into()),
            ("passkeyId", (&passkey.id).into()),
            ("name", (&passkey.name).into()),
            ("credential", (&passkey.credential).into()),
            ("counter", passkey.counter.into()),
            ("backupEligible", passkey.backup_eligible.into()),
            ("backedUp", passkey.backed_up.into()),
            ("createdAt", passkey.created_at.into()),
            ("addedWithPassword", passkey.added_with_password.into()),
        ],
    )
}

fn passkey_from_item(item: &Item) -> Result<StoredPasskey, StoreError> {
    Ok(StoredPasskey {
        user_id: get_s(item, "userId")?,
        id: get_s(item, "passkeyId")?,
        name: get_s(item, "name")?,
        credential: get_s(item, "credential")?,
        counter: get_n(item, "counter")?,
        backup_eligible: get_bool(item, "backupEligible"),
        backed_up: get_bool(item, "backedUp"),
        created_at: get_n(item, "createdAt")?,
        last_used_at: get_opt_n(item, "lastUsedAt")?,
        added_with_password: get_bool(item, "addedWithPassword"),
    })
}

/// The passkey's item, if the user has it.
fn existing(user_id: &str, id: &str) -> Update {
    Update::new(keys::user_passkey(user_id, id)).when(Condition::item_exists())
}

#[async_trait]
impl PasskeyStore for TableStore {
    async fn find_passkey(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        self.get_consistent(&keys::user_passkey(user_id, id))
            .await?
            .map(|item| passkey_from_item(&item))
            .transpose()
    }

    async fn list_passkeys(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        let query = Query::table(keys::user(user_id).pk)
            .sort(SortRange::Prefix(keys::PASSKEY_PREFIX.to_owned()))
            .consistent();
        let page = self.table.query(&query).await?;
        page.items.iter().map(passkey_from_item).collect()
    }

    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        max: u32,
        generation: u64,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let owner = item(
            &keys::passkey(&passkey.id),
            [
                ("type", "passkey_owner".into()),
                ("userId", (&passkey.user_id).into()),
            ],
        );
        let below_cap = Condition::absent(PASSKEY_COUNT).or(Condition::lt(PASSKEY_COUNT, max));
        let mut actions: Vec<Action> = vec![
            Put::if_absent(owner).into(),
            Put::if_absent(passkey_item(passkey)).into(),
            active_user(&passkey.user_id)
                .add(PASSKEY_COUNT, 1)
                .when(below_cap)
                .when(Condition::eq("sessionGeneration", generation))
                .into(),
        ];
        actions.extend(effect_actions(effects));
        Ok(self.table.transact(actions).await?)
    }

    async fn record_passkey_use(&self, used: &StoredPasskey, at: i64) -> Result<(), StoreError> {
        let mut update = existing(&used.user_id, &used.id)
            .set("credential", &used.credential)
            .set("counter", used.counter)
            .set("backedUp", used.backed_up)
            .set("lastUsedAt", at);
        if used.counter > 0 {
            update = update.when(Condition::lt("counter", used.counter));
        }
        match self.table.update(update, Returns::Nothing).await {
            Ok(_) => Ok(()),
            Err(TableError::ConditionFailed(_)) => Err(StoreError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    async fn rename_passkey(&self, user_id: &str, id: &str, name: &str) -> Result<(), StoreError> {
        match self
            .table
            .update(existing(user_id, id).set("name", name), Returns::Nothing)
            .await
        {
            Ok(_) => Ok(()),
            Err(TableError::ConditionFailed(_)) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn remove_passkey(
        &self,
        user_id: &str,
        id: &str,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut actions: Vec<Action> = vec![
            Delete::new(keys::user_passkey(user_id, id))
                .when(Condition::item_exists())
                .into(),
            Delete::new(keys::passkey(id))
                .when(Condition::eq("userId", user_id))
                .into(),
            active_user(user_id)
                .add(PASSKEY_COUNT, -1)
                .when(another_way_in(WayIn::Passkey))
                .into(),
        ];
        actions.extend(effect_actions(effects));
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(failed)) if failed.contains(&0) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn create_ceremony(&self, ceremony: &PasskeyCeremony) -> Result<(), StoreError> {
        let mut item = item(
            &keys::passkey_ceremony(&ceremony.hash),
            [
                ("type", "passkey_ceremony".into()),
                ("kind", ceremony.kind.as_str().into()),
                ("state", (&ceremony.state).into()),
                ("expiresAt", ceremony.expires_at.into()),
                (TTL_ATTRIBUTE, ttl_from_ms(ceremony.expires_at)),
            ],
        );
        if let Some(user_id) = &ceremony.user_id {
            item.insert("userId".into(), user_id.into());
        }
        if let Some(session_id) = &ceremony.session_id {
            item.insert("sessionId".into(), session_id.into());
        }
        Ok(self.table.put(Put::if_absent(item)).await?)
    }

    async fn take_ceremony(
        &self,
        hash: &str,
        now: i64,
    ) -> Result<Option<PasskeyCeremony>, StoreError> {
        let condition = Condition::gt("expiresAt", now);
        let Some(item) = self.take(&keys::passkey_ceremony(hash), condition).await? else {
            return Ok(None);
        };
        let kind = match get_s(&item, "kind")?.as_str() {
            "registration" => CeremonyKind::Registration,
            "sign_in" => CeremonyKind::SignIn,
            other => {
                return Err(StoreError::backend(format!(
                    "unknown ceremony kind {other}"
                )));
            }
        };
        Ok(Some(PasskeyCeremony {
            hash: hash.to_owned(),
            kind,
            user_id: get_opt_s(&item, "userId")?,
            session_id: get_opt_s(&item, "sessionId")?,
            state: get_s(&item, "state")?,
            expires_at: get_n(&item, "expiresAt")?,
        }))
    }
}
