//! Second factors: TOTP (RFC 6238) with recovery codes, the keys that keep them sealed at
//! rest, and the sign-in challenge that waits for them.

mod challenge;
mod check;
mod keys;
mod provider;
mod recovery;
mod totp;

pub use challenge::{
    CHALLENGE_TTL_MS, MAX_CHALLENGE_CHARS, MAX_CHALLENGE_FAILURES, challenge_hash, new_challenge,
};
pub use check::{CheckError, Submitted, Verdict, check, open_secret};
pub use keys::{MIN_KEY_CHARS, MfaKeys, OpenError};
pub use provider::{MfaKeyError, MfaKeyProvider};
pub use recovery::{RECOVERY_CODE_COUNT, find_recovery_code, new_recovery_codes};
pub use totp::{SKEW_STEPS, STEP_SECS, TotpSecret, provisioning_uri, step_at};

/// How long an enrolment waits for its first code before it is dropped.
pub const PENDING_ENROLMENT_TTL_MS: i64 = 30 * 60 * 1000;

/// A pending factor for `user_id` with `secret`, sealed under the active key: what an
/// enrolment stores.
pub fn new_enrolment(
    keys: &MfaKeys,
    user_id: &str,
    secret: &TotpSecret,
    now: i64,
) -> crate::store::TotpFactor {
    crate::store::TotpFactor {
        user_id: user_id.to_owned(),
        enrolment: uuid::Uuid::new_v4().to_string(),
        secret: keys.seal(user_id, secret),
        created_at: now,
        state: crate::store::FactorState::Pending {
            expires_at: now + PENDING_ENROLMENT_TTL_MS,
        },
    }
}
