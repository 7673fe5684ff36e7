//! Recovery codes: ten single-use codes handed out once, when a factor is activated (and again
//! when they are regenerated), for when the authenticator is lost. 50 random bits each.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::keys::MfaKeys;
use crate::domain::{RECOVERY_ALPHABET, RECOVERY_CODE_CHARS, RecoveryCode};
use crate::store::RecoveryCodes;

/// How many codes a set holds.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// A fresh set: the codes to show once, and what to store (their keyed hashes under the active
/// key).
pub fn new_recovery_codes(keys: &MfaKeys, user_id: &str) -> (Vec<RecoveryCode>, RecoveryCodes) {
    let random = SystemRandom::new();
    let codes: Vec<RecoveryCode> = (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_CHARS];
            random
                .fill(&mut bytes)
                .expect("the system random generator is available");
            let text: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
                .collect();
            RecoveryCode::parse(&text).expect("made of the alphabet")
        })
        .collect();
    let kid = keys.active_kid().to_owned();
    let slots = codes
        .iter()
        .map(|code| keys.recovery_hash(&kid, user_id, code))
        .collect();
    (codes, RecoveryCodes { kid, slots })
}

/// The unused slot `code` is in, with its stored hash; `None` if it is not one of them (or was
/// used). Every slot is compared, in constant time.
pub fn find_recovery_code(
    keys: &MfaKeys,
    user_id: &str,
    stored: &RecoveryCodes,
    code: &RecoveryCode,
) -> Option<(usize, String)> {
    let hash = keys.recovery_hash(&stored.kid, user_id, code)?;
    let mut found = None;
    for (slot, stored_hash) in stored.slots.iter().enumerate() {
        if let Some(stored_hash) = stored_hash
            && verify_slices_are_equal(stored_hash.as_bytes(), hash.as_bytes()).is_ok()
        {
            found = Some((slot, hash.clone()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_stored_only_as_hashes() {
        let keys = MfaKeys::generate();
        let (codes, stored) = new_recovery_codes(&keys, "u1");
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let distinct: std::collections::HashSet<_> = codes.iter().map(|c| c.as_str()).collect();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        assert_eq!(stored.remaining(), RECOVERY_CODE_COUNT);
        for (slot, code) in codes.iter().enumerate() {
            assert!(
                stored
                    .slots
                    .iter()
                    .flatten()
                    .all(|h| !h.contains(code.as_str()))
            );
            assert_eq!(
                find_recovery_code(&keys, "u1", &stored, code).map(|(s, _)| s),
                Some(slot)
            );
            assert_eq!(find_recovery_code(&keys, "u2", &stored, code), None);
        }
        let mut used = stored.clone();
        used.slots[3] = None;
        assert_eq!(find_recovery_code(&keys, "u1", &used, &codes[3]), None);
        assert_eq!(used.remaining(), RECOVERY_CODE_COUNT - 1);
    }
}
