//! The ways into an account: its password, its linked providers (`identityCount` on the user
//! item) and its passkeys (`passkeyCount`). Removing a provider or a passkey is conditioned on
//! another way remaining, in the same write, so two removals at once never leave none.

use crate::domain::NO_PASSWORD;
use crate::store::table::Condition;

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
