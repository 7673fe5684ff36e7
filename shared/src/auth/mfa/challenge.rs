//! The sign-in challenge: what the password step hands a user with an active factor instead of
//! tokens. An opaque 256-bit token, stored only as its SHA-256, good for five minutes, once,
//! and for `MAX_CHALLENGE_FAILURES` wrong codes at most (each answer is counted before its code
//! is checked, so answers sent at once cannot pass that).

use crate::auth::RefreshToken;
use crate::domain::{AuthMethod, User};
use crate::store::MfaChallenge;

pub const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;
/// Wrong codes a challenge takes before it dies and the password is asked for again. Every
/// one also counts against the account's lock, as a wrong password does.
pub const MAX_CHALLENGE_FAILURES: u32 = 5;
/// Longest text taken as a challenge (a token is 43 characters): anything longer names none.
pub const MAX_CHALLENGE_CHARS: usize = 64;

/// A new challenge for `user`, whose first step was proven by `first`: the token to hand out,
/// and what to store.
pub fn new_challenge(user: &User, first: AuthMethod, now: i64) -> (String, MfaChallenge) {
    let token = RefreshToken::generate();
    let challenge = MfaChallenge {
        hash: token.hash(),
        user_id: user.id.clone(),
        generation: user.session_generation,
        created_at: now,
        expires_at: now + CHALLENGE_TTL_MS,
        failures: 0,
        spent_at: None,
        first,
    };
    (token.expose(), challenge)
}

/// The stored hash of a challenge as a client sent it; `None` if it cannot be one of ours.
pub fn challenge_hash(raw: &str) -> Option<String> {
    if raw.len() > MAX_CHALLENGE_CHARS {
        return None;
    }
    RefreshToken::parse(raw).map(|token| token.hash())
}

impl MfaChallenge {
    /// Whether `user` may still answer it at `now`: unspent, unexpired, not failed out, for
    /// this user in the session generation the password was checked in.
    pub fn answerable_by(&self, user: &User, now: i64) -> bool {
        self.spent_at.is_none()
            && now < self.expires_at
            && self.failures < MAX_CHALLENGE_FAILURES
            && self.user_id == user.id
            && user.is_active()
            && self.generation == user.session_generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DisplayName, Email};

    fn user() -> User {
        User::new(
            Email::parse("ada@example.com").unwrap(),
            DisplayName::parse("Ada").unwrap(),
            "hash".into(),
            0,
        )
    }

    #[test]
    fn a_challenge_is_stored_hashed_and_answerable_once_for_five_minutes() {
        let user = user();
        let (token, challenge) = new_challenge(&user, AuthMethod::Password, 1_000);
        assert_eq!(
            challenge_hash(&token).as_deref(),
            Some(challenge.hash.as_str())
        );
        assert_ne!(token, challenge.hash);
        assert_eq!(challenge_hash("not a challenge"), None);
        assert_eq!(challenge_hash(&"A".repeat(10_000)), None);
        assert!(challenge.answerable_by(&user, 1_000 + CHALLENGE_TTL_MS - 1));
        assert!(!challenge.answerable_by(&user, 1_000 + CHALLENGE_TTL_MS));
        let spent = MfaChallenge {
            spent_at: Some(2_000),
            ..challenge.clone()
        };
        assert!(!spent.answerable_by(&user, 2_000));
        let failed = MfaChallenge {
            failures: MAX_CHALLENGE_FAILURES,
            ..challenge.clone()
        };
        assert!(!failed.answerable_by(&user, 2_000));
        let mut signed_out = user.clone();
        signed_out.session_generation += 1;
        assert!(!challenge.answerable_by(&signed_out, 2_000));
    }
}
