//! What a change writes besides itself: the account token it issues and the jobs that report
//! it (outbox rows), in the change's own transaction.

use crate::jobs::Job;
use crate::store::keys;
use crate::store::table::schema::{GSI1, TTL_ATTRIBUTE};
use crate::store::table::{Action, Item, Put, Value, item, ttl_from_ms};
use crate::store::{AccountToken, Effects};

pub(super) fn token_item(token: &AccountToken) -> Item {
    let mut item = item(
        &keys::account_token(&token.hash),
        [
            ("type", "account_token".into()),
            ("purpose", token.purpose.as_str().into()),
            ("userId", (&token.user_id).into()),
            ("email", (&token.email).into()),
            ("generation", token.generation.into()),
            ("createdAt", token.created_at.into()),
            ("expiresAt", token.expires_at.into()),
            (TTL_ATTRIBUTE, ttl_from_ms(token.expires_at)),
        ],
    );
    if let Some(code) = &token.code {
        item.insert("codeKid".into(), (&code.kid).into());
        item.insert("codeHash".into(), (&code.hash).into());
    }
    item
}

pub(super) fn outbox_item(job: &Job) -> Item {
    item(
        &keys::outbox_job(&job.id),
        [
            ("type", "outbox".into()),
            ("id", (&job.id).into()),
            ("job", Value::S(job.to_json())),
            ("createdAt", job.created_at.into()),
            (
                GSI1.partition_key,
                keys::outbox_shard(keys::shard_of(&job.id, keys::OUTBOX_SHARDS)).into(),
            ),
            (
                GSI1.sort_key,
                keys::time_sort_key(job.created_at, &job.id).into(),
            ),
        ],
    )
}

/// The actions that write a change's token and outbox jobs.
pub(super) fn effect_actions(effects: &Effects) -> Vec<Action> {
    let token = effects.token.iter().map(|t| Put::new(token_item(t)).into());
    let jobs = effects.jobs.iter().map(|j| Put::new(outbox_item(j)).into());
    token.chain(jobs).collect()
}
