//! The ways into an account: its password, its linked providers (`identityCount` on the user
//! item) and its passkeys (`passkeyCount`). Removing a provider or a passkey is conditioned on
//! another way remaining, in the same write, so two removals at once never leave none.

use super::TableStore;
use crate::domain::NO_PASSWORD;
use crate::store::table::{Action, Condition, Delete, Update};
use crate::store::{IdentityStore, PasskeyStore, StoreError, keys};

pub(super) const IDENTITY_COUNT: &str = "identityCount";
pub(super) const PASSKEY_COUNT: &str = "passkeyCount";

#[derive(Clone, Copy)]
pub(super) enum WayIn {
    Identity,
    Passkey,
}

/// On the user item: one of `leaving`'s kind is going, and another way in stays.
pub(super) fn another_way_in(leaving: WayIn) -> Condition {
    let (same, other) = match leaving {
        WayIn::Identity => (IDENTITY_COUNT, PASSKEY_COUNT),
        WayIn::Passkey => (PASSKEY_COUNT, IDENTITY_COUNT),
    };
    Condition::ne("passwordHash", NO_PASSWORD)
        .or(Condition::gt(same, 1))
        .or(Condition::gt(other, 0))
}

/// What a password reset of a user takes away: the passkeys registered and the providers linked
/// from sessions the old password signed in (whoever knew it may not be the mailbox's owner,
/// who is taking the account back).
pub(super) struct Revoked {
    /// The deletes: both items of each.
    pub actions: Vec<Action>,
    passkeys: (i64, usize),
    identities: (i64, usize),
}

impl Revoked {
    pub(super) async fn read(store: &TableStore, user_id: &str) -> Result<Self, StoreError> {
        let passkeys = store.list_passkeys(user_id).await?;
        let identities = store.list_identities(user_id).await?;
        let mut actions: Vec<Action> = Vec::new();
        let revoked_passkeys = passkeys.iter().filter(|p| p.added_with_password);
        for passkey in revoked_passkeys.clone() {
            actions.push(Delete::new(keys::user_passkey(user_id, &passkey.id)).into());
            actions.push(owned_by(keys::passkey(&passkey.id), user_id));
        }
        let revoked_identities = identities.iter().filter(|i| i.added_with_password);
        for identity in revoked_identities.clone() {
            let (provider, subject) = (&identity.provider, &identity.subject);
            actions.push(Delete::new(keys::user_identity(user_id, provider, subject)).into());
            actions.push(owned_by(keys::identity(provider, subject), user_id));
        }
        Ok(Self {
            actions,
            passkeys: (revoked_passkeys.count() as i64, passkeys.len()),
            identities: (revoked_identities.count() as i64, identities.len()),
        })
    }

    /// `update` of the user item, conditioned on the counts read (so a way in added meanwhile
    /// is not left behind: the write then fails and is tried again) and taking the removed
    /// ones off them.
    pub(super) fn counted(&self, mut update: Update) -> Update {
        for (name, (removed, held)) in [
            (PASSKEY_COUNT, self.passkeys),
            (IDENTITY_COUNT, self.identities),
        ] {
            update = update.when(if held == 0 {
                Condition::absent(name).or(Condition::eq(name, 0))
            } else {
                Condition::eq(name, held)
            });
            if removed > 0 {
                update = update.add(name, -removed);
            }
        }
        update
    }

    /// Whether the counts are still those read.
    pub(super) fn same_counts(&self, other: &Self) -> bool {
        self.passkeys.1 == other.passkeys.1 && self.identities.1 == other.identities.1
    }
}

fn owned_by(key: crate::store::table::Key, user_id: &str) -> Action {
    Delete::new(key)
        .when(Condition::eq("userId", user_id))
        .into()
}
