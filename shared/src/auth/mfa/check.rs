//! Checking what a user typed against their factor: a code within the skew window and later
//! than the last one taken, or one of their unused recovery codes.

use super::keys::{MfaKeys, OpenError};
use super::provider::{MfaKeyError, MfaKeyProvider};
use super::recovery::find_recovery_code;
use super::totp::TotpSecret;
use crate::domain::{RecoveryCode, TotpCode};
use crate::store::{FactorProof, FactorState, TotpFactor};

/// What a user sent to prove their factor.
#[derive(Debug, Clone)]
pub enum Submitted {
    Code(TotpCode),
    RecoveryCode(RecoveryCode),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Right, and not spent yet: spend it with the store (conditionally, as a racing request
    /// may spend it first).
    Proven(FactorProof),
    /// The code of a step already taken (a code works once).
    Replayed,
    Wrong,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Keys(#[from] MfaKeyError),
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// The factor's secret, opened with the key that sealed it (refetching the key set once if
/// this instance has not seen that key yet).
pub async fn open_secret(
    keys: &MfaKeyProvider,
    factor: &TotpFactor,
) -> Result<TotpSecret, CheckError> {
    let set = keys.with_kid(&factor.secret.kid).await?;
    Ok(set.open(&factor.user_id, &factor.secret)?)
}

/// Checks `submitted` against `factor` at `now`. A pending factor takes only codes (its
/// recovery codes do not exist yet), of any step in the window.
pub async fn check(
    keys: &MfaKeyProvider,
    factor: &TotpFactor,
    submitted: &Submitted,
    now: i64,
) -> Result<Verdict, CheckError> {
    let last_step = match &factor.state {
        FactorState::Pending { .. } => None,
        FactorState::Active { last_step, .. } => Some(*last_step),
    };
    match submitted {
        Submitted::Code(code) => {
            let secret = open_secret(keys, factor).await?;
            Ok(match (secret.step_of(code, now), last_step) {
                (None, _) => Verdict::Wrong,
                (Some(step), Some(last)) if step <= last => Verdict::Replayed,
                (Some(step), _) => Verdict::Proven(FactorProof::Step(step)),
            })
        }
        Submitted::RecoveryCode(code) => {
            let FactorState::Active { recovery, .. } = &factor.state else {
                return Ok(Verdict::Wrong);
            };
            let set: std::sync::Arc<MfaKeys> = keys.with_kid(&recovery.kid).await?;
            Ok(
                match find_recovery_code(&set, &factor.user_id, recovery, code) {
                    Some((slot, hash)) => Verdict::Proven(FactorProof::Recovery { slot, hash }),
                    None => Verdict::Wrong,
                },
            )
        }
    }
}
