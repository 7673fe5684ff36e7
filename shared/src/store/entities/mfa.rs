//! Second factors: a user's TOTP factor with its recovery codes (`USER#<id>` / `MFA#TOTP`,
//! one item, in no index) and sign-in challenges (`MFA_CHALLENGE#<hash>`, removed by TTL).
//!
//! Who writes the factor item: an enrolment (whole item, only while none is active); its
//! activation (state, first step, recovery codes: only while that enrolment is pending); a code
//! or recovery code spent (`lastStep` raised, or one `rc<n>` removed: only while that
//! enrolment is active and the proof unspent); a regeneration (every `rc<n>`, only while that
//! enrolment is active); a removal (only with an unspent proof on that enrolment, or an admin's
//! reset of whatever is there); the account's deletion (whatever is there). The secret is stored
//! sealed; no attribute holds it in clear.

use async_trait::async_trait;

use super::TableStore;
use super::effects::effect_actions;
use super::role_held::role_still_held;
use crate::domain::AuthMethod;
use crate::store::keys;
use crate::store::table::schema::TTL_ATTRIBUTE;
use crate::store::table::{
    Action, Condition, Delete, Item, Put, Returns, TableError, Update, get_n, get_opt_n, get_opt_s,
    get_s, item, ttl_from_ms,
};
use crate::store::{
    Effects, FactorProof, FactorRemoval, FactorState, MfaChallenge, MfaStore, RecoveryCodes,
    RoleHeld, SealedSecret, StoreError, TotpFactor,
};

const PENDING: &str = "pending";
const ACTIVE: &str = "active";
/// Challenges stay a day past their expiry before TTL removes them, so a late answer still
/// finds them (and is told they expired) rather than nothing.
const CHALLENGE_KEPT_MS: i64 = 24 * 3600 * 1000;

fn slot_attribute(slot: usize) -> String {
    format!("rc{slot}")
}

fn factor_to_item(factor: &TotpFactor) -> Item {
    let mut item = item(
        &keys::totp_factor(&factor.user_id),
        [
            ("type", "totp_factor".into()),
            ("userId", (&factor.user_id).into()),
            ("enrolment", (&factor.enrolment).into()),
            ("secretKid", (&factor.secret.kid).into()),
            ("secret", (&factor.secret.sealed).into()),
            ("createdAt", factor.created_at.into()),
        ],
    );
    match &factor.state {
        FactorState::Pending { expires_at } => {
            item.insert("status".into(), PENDING.into());
            item.insert("expiresAt".into(), (*expires_at).into());
            item.insert(TTL_ATTRIBUTE.into(), ttl_from_ms(*expires_at));
        }
        FactorState::Active {
            activated_at,
            last_step,
            recovery,
        } => {
            item.insert("status".into(), ACTIVE.into());
            item.insert("activatedAt".into(), (*activated_at).into());
            item.insert("lastStep".into(), (*last_step).into());
            for (name, value) in recovery_attributes(recovery) {
                item.insert(name, value);
            }
        }
    }
    item
}

/// `recoveryKid`, `recoveryIssued` and one `rc<n>` per unused code.
fn recovery_attributes(recovery: &RecoveryCodes) -> Vec<(String, crate::store::table::Value)> {
    let mut attributes = vec![
        ("recoveryKid".to_owned(), (&recovery.kid).into()),
        ("recoveryIssued".to_owned(), recovery.slots.len().into()),
    ];
    for (slot, hash) in recovery.slots.iter().enumerate() {
        if let Some(hash) = hash {
            attributes.push((slot_attribute(slot), hash.into()));
        }
    }
    attributes
}

fn factor_from_item(item: &Item) -> Result<TotpFactor, StoreError> {
    let state = match get_s(item, "status")?.as_str() {
        PENDING => FactorState::Pending {
            expires_at: get_n(item, "expiresAt")?,
        },
        ACTIVE => {
            let issued: usize = get_n(item, "recoveryIssued")?;
            FactorState::Active {
                activated_at: get_n(item, "activatedAt")?,
                last_step: get_n(item, "lastStep")?,
                recovery: RecoveryCodes {
                    kid: get_s(item, "recoveryKid")?,
                    slots: (0..issued)
                        .map(|slot| get_opt_s(item, &slot_attribute(slot)))
                        .collect::<Result<_, _>>()?,
                },
            }
        }
        other => {
            return Err(StoreError::backend(format!(
                "a factor in an unknown state `{other}`"
            )));
        }
    };
    Ok(TotpFactor {
        user_id: get_s(item, "userId")?,
        enrolment: get_s(item, "enrolment")?,
        secret: SealedSecret {
            kid: get_s(item, "secretKid")?,
            sealed: get_s(item, "secret")?,
        },
        created_at: get_n(item, "createdAt")?,
        state,
    })
}

/// The factor is the active enrolment `enrolment`.
fn active(enrolment: &str) -> Condition {
    Condition::eq("status", ACTIVE).and(Condition::eq("enrolment", enrolment))
}

/// The proof is still unspent on the item.
fn unspent(proof: &FactorProof) -> Condition {
    match proof {
        FactorProof::Step(step) => Condition::lt("lastStep", *step),
        FactorProof::Recovery { slot, hash } => Condition::eq(&slot_attribute(*slot), hash),
    }
}

fn challenge_to_item(challenge: &MfaChallenge) -> Item {
    let mut item = item(
        &keys::mfa_challenge(&challenge.hash),
        [
            ("type", "mfa_challenge".into()),
            ("userId", (&challenge.user_id).into()),
            ("generation", challenge.generation.into()),
            ("createdAt", challenge.created_at.into()),
            ("expiresAt", challenge.expires_at.into()),
            ("failures", challenge.failures.into()),
            ("first", challenge.first.as_str().into()),
            (
                TTL_ATTRIBUTE,
                ttl_from_ms(challenge.expires_at + CHALLENGE_KEPT_MS),
            ),
        ],
    );
    if let Some(spent_at) = challenge.spent_at {
        item.insert("spentAt".into(), spent_at.into());
    }
    item
}

fn challenge_from_item(hash: &str, item: &Item) -> Result<MfaChallenge, StoreError> {
    Ok(MfaChallenge {
        hash: hash.to_owned(),
        user_id: get_s(item, "userId")?,
        generation: get_n(item, "generation")?,
        created_at: get_n(item, "createdAt")?,
        expires_at: get_n(item, "expiresAt")?,
        failures: get_n(item, "failures")?,
        spent_at: get_opt_n(item, "spentAt")?,
        // Challenges stored before sign-in by mail followed a password.
        first: match get_opt_s(item, "first")? {
            Some(name) => AuthMethod::parse(&name).map_err(|_| StoreError::backend("first"))?,
            None => AuthMethod::Password,
        },
    })
}

/// The challenge can still be answered: unspent, below `max_failures`.
fn answerable(max_failures: u32) -> Condition {
    Condition::item_exists()
        .and(Condition::absent("spentAt"))
        .and(Condition::lt("failures", max_failures))
}

impl TableStore {
    /// One action on its own, or several (with effects) in one transaction.
    async fn write_all(&self, mut actions: Vec<Action>) -> Result<(), TableError> {
        if actions.len() > 1 {
            return self.table.transact(actions).await;
        }
        match actions.pop() {
            Some(Action::Put(put)) => self.table.put(put).await?,
            Some(Action::Update(update)) => {
                self.table.update(update, Returns::Nothing).await?;
            }
            Some(Action::Delete(delete)) => self.table.delete(delete).await?,
            Some(Action::Check(_)) | None => {}
        }
        Ok(())
    }
}

#[async_trait]
impl MfaStore for TableStore {
    async fn get_totp(&self, user_id: &str, now: i64) -> Result<Option<TotpFactor>, StoreError> {
        let Some(item) = self.get_consistent(&keys::totp_factor(user_id)).await? else {
            return Ok(None);
        };
        let factor = factor_from_item(&item)?;
        // TTL removes an expired enrolment late: until then it is no factor.
        Ok(match factor.state {
            FactorState::Pending { expires_at } if expires_at <= now => None,
            _ => Some(factor),
        })
    }

    async fn enrol_totp(&self, factor: &TotpFactor) -> Result<(), StoreError> {
        let put = Put::new(factor_to_item(factor)).when(Condition::ne("status", ACTIVE));
        Ok(self.table.put(put).await?)
    }

    async fn activate_totp(
        &self,
        user_id: &str,
        enrolment: &str,
        step: i64,
        recovery: &RecoveryCodes,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut update = Update::new(keys::totp_factor(user_id))
            .set("status", ACTIVE)
            .set("activatedAt", now)
            .set("lastStep", step)
            .remove("expiresAt")
            .remove(TTL_ATTRIBUTE)
            .when(
                Condition::eq("status", PENDING)
                    .and(Condition::eq("enrolment", enrolment))
                    .and(Condition::gt("expiresAt", now)),
            );
        for (name, value) in recovery_attributes(recovery) {
            update = update.set(&name, value);
        }
        let mut actions: Vec<Action> = vec![update.into()];
        actions.extend(effect_actions(effects));
        Ok(self.write_all(actions).await?)
    }

    async fn spend_proof(
        &self,
        user_id: &str,
        enrolment: &str,
        proof: &FactorProof,
        challenge: Option<&str>,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let spend = Update::new(keys::totp_factor(user_id));
        let spend = match proof {
            FactorProof::Step(step) => spend.set("lastStep", *step),
            FactorProof::Recovery { slot, .. } => spend.remove(&slot_attribute(*slot)),
        }
        .when(active(enrolment).and(unspent(proof)));
        let mut actions: Vec<Action> = vec![spend.into()];
        if let Some(hash) = challenge {
            // Its try was counted before the check: only unspent is asked here.
            let answered = Update::new(keys::mfa_challenge(hash))
                .set("spentAt", now)
                .when(Condition::item_exists().and(Condition::absent("spentAt")));
            actions.push(answered.into());
        }
        actions.extend(effect_actions(effects));
        Ok(self.write_all(actions).await?)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        enrolment: &str,
        recovery: &RecoveryCodes,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let mut update = Update::new(keys::totp_factor(user_id)).when(active(enrolment));
        for (name, value) in recovery_attributes(recovery) {
            update = update.set(&name, value);
        }
        let mut actions: Vec<Action> = vec![update.into()];
        actions.extend(effect_actions(effects));
        Ok(self.write_all(actions).await?)
    }

    async fn remove_totp(
        &self,
        user_id: &str,
        removal: FactorRemoval<'_>,
        held: Option<&RoleHeld>,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let condition = match removal {
            FactorRemoval::Proven { enrolment, proof } => active(enrolment).and(unspent(proof)),
            FactorRemoval::Pending { enrolment } => {
                Condition::eq("status", PENDING).and(Condition::eq("enrolment", enrolment))
            }
            FactorRemoval::Any => Condition::item_exists(),
        };
        let remove = Delete::new(keys::totp_factor(user_id)).when(condition);
        let mut actions: Vec<Action> = vec![remove.into()];
        actions.extend(role_still_held(held));
        actions.extend(effect_actions(effects));
        match self.write_all(actions).await {
            Err(TableError::ConditionFailed(failed))
                if matches!(removal, FactorRemoval::Any) && failed.contains(&0) =>
            {
                Err(StoreError::NotFound)
            }
            other => Ok(other?),
        }
    }

    async fn create_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        let put = Put::if_absent(challenge_to_item(challenge));
        Ok(self.table.put(put).await?)
    }

    async fn find_challenge(&self, hash: &str) -> Result<Option<MfaChallenge>, StoreError> {
        self.get_consistent(&keys::mfa_challenge(hash))
            .await?
            .map(|item| challenge_from_item(hash, &item))
            .transpose()
    }

    async fn count_challenge_try(&self, hash: &str, max_failures: u32) -> Result<(), StoreError> {
        let update = Update::new(keys::mfa_challenge(hash))
            .add("failures", 1)
            .when(answerable(max_failures));
        self.table.update(update, Returns::Nothing).await?;
        Ok(())
    }
}
