//! Account tokens (`TOKEN#<hash>`): e-mail verification, password reset, address change and
//! sign-in by mail.
//! A token is written with the change that issues it (`effects::token_item`) and spent in the
//! transaction that acts on it.

use async_trait::async_trait;

use super::TableStore;
use super::effects::effect_actions;
use super::users::{active_user, claim_email, confirmed_email_update, release_email};
use super::ways_in::Revoked;
use crate::domain::{NO_PASSWORD, User};
use crate::store::keys;
use crate::store::table::schema::PARTITION_KEY;
use crate::store::table::{
    Action, Condition, Delete, Item, Returns, TableError, Update, get_n, get_opt_s, get_s,
};
use crate::store::{AccountStore, AccountToken, Effects, MailedCode, StoreError, TokenPurpose};

/// How many codes a sign-in token counts; `count_code_try` refuses once it holds this many
/// (the token's link still works: it cannot be guessed).
const TRIES: &str = "tries";

fn token_from_item(item: &Item) -> Result<Option<AccountToken>, StoreError> {
    let Some(purpose) = TokenPurpose::parse(&get_s(item, "purpose")?) else {
        return Ok(None);
    };
    // A token stored before tokens carried their generation is taken as ended.
    let Ok(generation) = get_n(item, "generation") else {
        return Ok(None);
    };
    let hash = get_s(item, PARTITION_KEY)?
        .strip_prefix(keys::TOKEN_PREFIX)
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
        code: match (get_opt_s(item, "codeKid")?, get_opt_s(item, "codeHash")?) {
            (Some(kid), Some(hash)) => Some(MailedCode { kid, hash }),
            _ => None,
        },
    }))
}

/// Deletes the token, if it is still there and unexpired.
/// A reset is tried again when a passkey was registered between its read and its write.
const RESET_ATTEMPTS: usize = 3;

fn spend_token(token: &AccountToken, now: i64) -> Action {
    Delete::new(keys::account_token(&token.hash))
        .when(
            Condition::item_exists()
                .and(Condition::eq("purpose", token.purpose.as_str()))
                .and(Condition::gt("expiresAt", now)),
        )
        .into()
}

/// An update of the token's user, if the user is active with the token's address, and no event
/// that ends sessions came since the token was issued (or read, when issuing it): the rule for
/// a verification or reset token.
fn still_issued(token: &AccountToken) -> Update {
    active_user(&token.user_id)
        .when(Condition::eq("email", &token.email))
        .when(Condition::eq("sessionGeneration", token.generation))
}

/// The attribute `name` (a time the last token of a kind was sent) is absent, or at or before
/// `cutoff`.
fn sent_before(name: &str, cutoff: i64) -> Condition {
    Condition::absent(name).or(Condition::le(name, cutoff))
}

#[async_trait]
impl AccountStore for TableStore {
    async fn find_token(&self, hash: &str) -> Result<Option<AccountToken>, StoreError> {
        let Some(item) = self.get_consistent(&keys::account_token(hash)).await? else {
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
        let cutoff = now - min_gap_ms;
        let update = match token.purpose {
            TokenPurpose::VerifyEmail => still_issued(token)
                .set("verifySentAt", now)
                .when(Condition::absent("emailVerified").or(Condition::eq("emailVerified", false)))
                .when(sent_before("verifySentAt", cutoff)),
            TokenPurpose::ResetPassword => still_issued(token)
                .set("resetToken", &token.hash)
                .set("resetSentAt", now)
                .when(sent_before("resetSentAt", cutoff)),
            TokenPurpose::ChangeEmail => active_user(&token.user_id)
                .set("pendingEmailToken", &token.hash)
                .when(Condition::eq("sessionGeneration", token.generation)),
            TokenPurpose::EmailLogin => still_issued(token)
                .set("loginToken", &token.hash)
                .set("loginSentAt", now)
                .when(sent_before("loginSentAt", cutoff)),
        };
        let mut actions = vec![update.into()];
        actions.extend(effect_actions(effects));
        Ok(self.table.transact(actions).await?)
    }

    async fn verify_email(&self, token: &AccountToken, now: i64) -> Result<(), StoreError> {
        let update = still_issued(token)
            .set("emailVerified", true)
            .set("updatedAt", now)
            .add("version", 1);
        let actions = vec![spend_token(token, now), update.into()];
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(_)) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn change_email(
        &self,
        token: &AccountToken,
        previous: &User,
        next: &User,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut actions = vec![
            spend_token(token, next.updated_at),
            confirmed_email_update(previous, next, token, self.listing_shards).into(),
        ];
        // An admin may have set the address to this one meanwhile: then its marker is already
        // the user's (and a transaction may not touch one item twice).
        if previous.email != next.email {
            actions.push(release_email(&previous.email, &previous.id));
            actions.push(claim_email(&next.email, &next.id));
        }
        actions.extend(effect_actions(effects));
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(failed)) if failed.contains(&0) => {
                Err(StoreError::NotFound)
            }
            Err(TableError::ConditionFailed(failed)) if failed == [3] => {
                Err(StoreError::EmailTaken)
            }
            Err(TableError::ConditionFailed(_)) => {
                // The version moved, or a newer change request or an event that ends
                // sessions superseded this token.
                let stored = self.get_consistent(&keys::user(&previous.id)).await?;
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
            Err(e) => Err(e.into()),
        }
    }

    async fn find_email_login(&self, user_id: &str) -> Result<Option<AccountToken>, StoreError> {
        let Some(user) = self.get_consistent(&keys::user(user_id)).await? else {
            return Ok(None);
        };
        let Some(hash) = get_opt_s(&user, "loginToken")? else {
            return Ok(None);
        };
        Ok(self
            .find_token(&hash)
            .await?
            .filter(|t| t.purpose == TokenPurpose::EmailLogin && t.user_id == user_id))
    }

    async fn count_code_try(
        &self,
        token: &AccountToken,
        max_tries: u32,
        now: i64,
    ) -> Result<(), StoreError> {
        let update = Update::new(keys::account_token(&token.hash))
            .add(TRIES, 1)
            .when(Condition::item_exists())
            .when(Condition::eq("purpose", TokenPurpose::EmailLogin.as_str()))
            .when(Condition::gt("expiresAt", now))
            .when(Condition::absent(TRIES).or(Condition::lt(TRIES, max_tries)));
        self.table.update(update, Returns::Nothing).await?;
        Ok(())
    }

    async fn sign_in_by_email(
        &self,
        token: &AccountToken,
        proves_address: bool,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut update = still_issued(token)
            .when(Condition::eq("loginToken", &token.hash))
            .remove("loginToken");
        if proves_address {
            update = update
                .set("emailVerified", true)
                .set("passwordHash", NO_PASSWORD)
                .set("updatedAt", now)
                .add("version", 1)
                .add("sessionGeneration", 1);
        }
        let mut actions = vec![spend_token(token, now), update.into()];
        if proves_address {
            actions.push(Delete::new(keys::totp_factor(&token.user_id)).into());
        }
        actions.extend(effect_actions(effects));
        match self.table.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed(_)) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn reset_password(
        &self,
        token: &AccountToken,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        // A way in added while this runs changes a count: read again and retry.
        for _ in 0..RESET_ATTEMPTS {
            let revoked = Revoked::read(self, &token.user_id).await?;
            let update = still_issued(token)
                .when(Condition::eq("resetToken", &token.hash))
                .set("passwordHash", new_hash)
                .set("updatedAt", now)
                .add("version", 1)
                .add("sessionGeneration", 1)
                .remove("resetToken");
            let mut actions = vec![spend_token(token, now), revoked.counted(update).into()];
            actions.extend(revoked.actions.iter().cloned());
            actions.extend(effect_actions(effects));
            match self.table.transact(actions).await {
                Ok(()) => return Ok(()),
                Err(TableError::ConditionFailed(_)) => {
                    let now_held = Revoked::read(self, &token.user_id).await?;
                    if now_held.same_counts(&revoked) {
                        return Err(StoreError::NotFound);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict)
    }
}
