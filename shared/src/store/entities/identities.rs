//! Social sign-in: identities (`IDENTITY#<provider>#<subject>`, which user a provider's account
//! is, and the same in the user's partition for listing), sign-ins under way
//! (`OAUTH_STATE#<hash>`) and finished ones waiting for the page (`OAUTH_GRANT#<hash>`), both
//! removed by TTL. The user item counts its identities (`identityCount`), so that unlinking
//! the last way into an account is refused in the same write (`ways_in`).

use async_trait::async_trait;

use super::TableStore;
use super::effects::effect_actions;
use super::users::active_user;
use super::ways_in::{IDENTITY_COUNT, WayIn, another_way_in};
use crate::store::keys;
use crate::store::table::schema::TTL_ATTRIBUTE;
use crate::store::table::{
    Action, Condition, Delete, Item, Key, Put, Query, SortRange, TableError, get_bool, get_n,
    get_opt_s, get_s, item, ttl_from_ms,
};
use crate::store::{Effects, Identity, IdentityStore, OAuthState, SignInGrant, StoreError};

fn identity_item(key: Key, identity: &Identity) -> Item {
    let mut item = item(
        &key,
        [
            ("type", "identity".into()),
            ("provider", (&identity.provider).into()),
            ("subject", (&identity.subject).into()),
            ("userId", (&identity.user_id).into()),
            ("createdAt", identity.created_at.into()),
            ("addedWithPassword", identity.added_with_password.into()),
        ],
    );
    if let Some(email) = &identity.email {
        item.insert("email".into(), email.into());
    }
    item
}

fn identity_from_item(item: &Item) -> Result<Identity, StoreError> {
    Ok(Identity {
        provider: get_s(item, "provider")?,
        subject: get_s(item, "subject")?,
        user_id: get_s(item, "userId")?,
        email: get_opt_s(item, "email")?,
        created_at: get_n(item, "createdAt")?,
        added_with_password: get_bool(item, "addedWithPassword"),
    })
}

#[async_trait]
impl IdentityStore for TableStore {
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        self.get_consistent(&keys::identity(provider, subject))
            .await?
            .map(|item| identity_from_item(&item))
            .transpose()
    }

    async fn list_identities(&self, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let query = Query::table(keys::user(user_id).pk)
            .sort(SortRange::Prefix(keys::IDENTITY_PREFIX.to_owned()))
            .consistent();
        let page = self.table.query(&query).await?;
        page.items.iter().map(identity_from_item).collect()
    }

    async fn link_identity(
        &self,
        identity: &Identity,
        replacing: Option<&str>,
        generation: Option<u64>,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut free = Condition::item_absent();
        if let Some(stale) = replacing {
            free = free.or(Condition::eq("userId", stale));
        }
        let lookup = keys::identity(&identity.provider, &identity.subject);
        let listed = keys::user_identity(&identity.user_id, &identity.provider, &identity.subject);
        let mut user = active_user(&identity.user_id).add(IDENTITY_COUNT, 1);
        if let Some(generation) = generation {
            user = user.when(Condition::eq("sessionGeneration", generation));
        }
        let mut actions: Vec<Action> = vec![
            Put::new(identity_item(lookup, identity)).when(free).into(),
            Put::if_absent(identity_item(listed, identity)).into(),
            user.into(),
        ];
        actions.extend(effect_actions(effects));
        Ok(self.table.transact(actions).await?)
    }

    async fn unlink_identity(&self, identity: &Identity) -> Result<(), StoreError> {
        let lookup = keys::identity(&identity.provider, &identity.subject);
        let listed = keys::user_identity(&identity.user_id, &identity.provider, &identity.subject);
        let actions: Vec<Action> = vec![
            Delete::new(listed).when(Condition::item_exists()).into(),
            Delete::new(lookup)
                .when(Condition::eq("userId", &identity.user_id))
                .into(),
            active_user(&identity.user_id)
                .add(IDENTITY_COUNT, -1)
                .when(another_way_in(WayIn::Identity))
                .into(),
        ];
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(failed)) if failed.contains(&0) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn create_oauth_state(&self, state: &OAuthState) -> Result<(), StoreError> {
        let mut item = item(
            &keys::oauth_state(&state.hash),
            [
                ("type", "oauth_state".into()),
                ("provider", (&state.provider).into()),
                ("nonce", (&state.nonce).into()),
                ("verifier", (&state.verifier).into()),
                ("bindingHash", (&state.binding_hash).into()),
                ("returnTo", (&state.return_to).into()),
                ("expiresAt", state.expires_at.into()),
                (TTL_ATTRIBUTE, ttl_from_ms(state.expires_at)),
            ],
        );
        if let Some((user_id, session_id)) = &state.link {
            item.insert("linkUserId".into(), user_id.into());
            item.insert("linkSessionId".into(), session_id.into());
        }
        Ok(self.table.put(Put::if_absent(item)).await?)
    }

    async fn take_oauth_state(
        &self,
        hash: &str,
        binding_hash: &str,
        now: i64,
    ) -> Result<Option<OAuthState>, StoreError> {
        let condition =
            Condition::eq("bindingHash", binding_hash).and(Condition::gt("expiresAt", now));
        let Some(item) = self.take(&keys::oauth_state(hash), condition).await? else {
            return Ok(None);
        };
        let link = match (
            get_opt_s(&item, "linkUserId")?,
            get_opt_s(&item, "linkSessionId")?,
        ) {
            (Some(user), Some(session)) => Some((user, session)),
            _ => None,
        };
        Ok(Some(OAuthState {
            hash: hash.to_owned(),
            provider: get_s(&item, "provider")?,
            nonce: get_s(&item, "nonce")?,
            verifier: get_s(&item, "verifier")?,
            binding_hash: get_s(&item, "bindingHash")?,
            return_to: get_s(&item, "returnTo")?,
            link,
            expires_at: get_n(&item, "expiresAt")?,
        }))
    }

    async fn create_grant(&self, grant: &SignInGrant) -> Result<(), StoreError> {
        let item = item(
            &keys::oauth_grant(&grant.hash),
            [
                ("type", "oauth_grant".into()),
                ("userId", (&grant.user_id).into()),
                ("provider", (&grant.provider).into()),
                ("generation", grant.generation.into()),
                ("bindingHash", (&grant.binding_hash).into()),
                ("expiresAt", grant.expires_at.into()),
                (TTL_ATTRIBUTE, ttl_from_ms(grant.expires_at)),
            ],
        );
        let mut item = item;
        if let Some(session) = &grant.session_id {
            item.insert("sessionId".into(), session.into());
        }
        Ok(self.table.put(Put::if_absent(item)).await?)
    }

    async fn take_grant(
        &self,
        hash: &str,
        binding_hash: &str,
        now: i64,
    ) -> Result<Option<SignInGrant>, StoreError> {
        let condition =
            Condition::gt("expiresAt", now).and(Condition::eq("bindingHash", binding_hash));
        let Some(item) = self.take(&keys::oauth_grant(hash), condition).await? else {
            return Ok(None);
        };
        Ok(Some(SignInGrant {
            hash: hash.to_owned(),
            user_id: get_s(&item, "userId")?,
            provider: get_s(&item, "provider")?,
            session_id: get_opt_s(&item, "sessionId")?,
            binding_hash: get_s(&item, "bindingHash")?,
            generation: get_n(&item, "generation")?,
            expires_at: get_n(&item, "expiresAt")?,
        }))
    }
}
