//! Role-only writes hold only while their actor still holds the role.

use crate::store::RoleHeld;
use crate::store::keys;
use crate::store::table::{Action, Check, Condition, Value};

/// A check that `held`'s actor is still active with one of its roles, for a write's
/// transaction.
pub(super) fn role_still_held(held: Option<&RoleHeld>) -> Option<Action> {
    let held = held?;
    let roles = held.roles.iter().map(|role| Value::from(role.as_str()));
    Some(Action::Check(Check {
        key: keys::user(&held.actor_id),
        condition: Condition::absent("deletedAt").and(Condition::one_of("role", roles)),
    }))
}
