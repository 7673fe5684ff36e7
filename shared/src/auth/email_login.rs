//! Sign-in by mail (`EMAIL_LOGIN`): one mail carries a link (an account token, as for a reset)
//! and an eight-digit code for typing on another device. Either spends both. The code is stored
//! only as its hash keyed by the signing key set, so the table alone does not give it away,
//! and only a few of them are checked per mail.

use std::time::Duration;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::{KeySet, RefreshToken};
use crate::domain::{MAILED_CODE_DIGITS, MailedSignInCode, User};
use crate::store::{AccountToken, MailedCode, TokenPurpose};

/// How long a sign-in mail works.
pub const EMAIL_LOGIN_TTL: Duration = Duration::from_secs(15 * 60);
/// Codes checked per sign-in mail; the next mail starts afresh (and every wrong one also counts
/// toward the account's lock, like a wrong password).
pub const MAX_MAILED_CODE_TRIES: u32 = 5;

/// What one sign-in mail carries, and what is stored of it.
pub struct EmailLogin {
    /// The token of the link.
    pub token: String,
    /// The code, eight digits.
    pub code: String,
    pub record: AccountToken,
}

/// A new sign-in link and code for `user`, at their current address.
pub fn issue_email_login(keys: &KeySet, user: &User, now: i64) -> EmailLogin {
    let token = RefreshToken::generate();
    let code = random_code();
    let hash = token.hash();
    let (kid, key) = keys.mailed_code_key();
    let record = AccountToken {
        code: Some(MailedCode {
            kid: kid.to_owned(),
            hash: code_hash(&key, &hash, &code),
        }),
        hash,
        purpose: TokenPurpose::EmailLogin,
        user_id: user.id.clone(),
        email: user.email.as_str().to_owned(),
        generation: user.session_generation,
        created_at: now,
        expires_at: now + EMAIL_LOGIN_TTL.as_millis() as i64,
    };
    EmailLogin {
        token: token.expose(),
        code,
        record,
    }
}

/// Whether `code` is the one mailed with `token`: false when the token has none, or its key
/// has left the set.
pub fn mailed_code_matches(keys: &KeySet, token: &AccountToken, code: &MailedSignInCode) -> bool {
    let Some(stored) = &token.code else {
        return false;
    };
    let Some(key) = keys.mailed_code_key_of(&stored.kid) else {
        return false;
    };
    let hash = code_hash(&key, &token.hash, code.as_str());
    verify_slices_are_equal(hash.as_bytes(), stored.hash.as_bytes()).is_ok()
}

/// Bound to its token, so a code is good only with the mail it came in.
fn code_hash(key: &hmac::Key, token_hash: &str, code: &str) -> String {
    let mut context = hmac::Context::with_key(key);
    context.update(token_hash.as_bytes());
    context.update(b":");
    context.update(code.as_bytes());
    hex(context.sign().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Uniform over the eight-digit codes (rejection sampling, no modulo bias).
fn random_code() -> String {
    let space = 10u32.pow(MAILED_CODE_DIGITS as u32);
    let limit = u32::MAX - u32::MAX % space;
    let random = SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        random
            .fill(&mut bytes)
            .expect("the system random generator is available");
        let n = u32::from_be_bytes(bytes);
        if n < limit {
            return format!("{:0width$}", n % space, width = MAILED_CODE_DIGITS);
        }
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
    fn the_code_matches_only_its_own_mail_and_is_stored_hashed() {
        let keys = KeySet::generate();
        let first = issue_email_login(&keys, &user(), 1_000);
        let second = issue_email_login(&keys, &user(), 1_000);
        let code = MailedSignInCode::parse(&first.code).unwrap();
        assert_eq!(first.code.len(), 8);
        assert!(mailed_code_matches(&keys, &first.record, &code));
        assert!(!mailed_code_matches(&keys, &second.record, &code));
        let stored = first.record.code.as_ref().unwrap();
        assert!(!stored.hash.contains(&first.code));
        assert_ne!(first.record.hash, first.token);
        assert_eq!(first.record.expires_at, 1_000 + 15 * 60 * 1000);
        let other_keys = KeySet::generate();
        assert!(!mailed_code_matches(&other_keys, &first.record, &code));
    }

    #[test]
    fn codes_are_eight_digits_and_spread_out() {
        let codes: std::collections::HashSet<String> = (0..200).map(|_| random_code()).collect();
        assert!(codes.len() > 190);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 8 && c.chars().all(|d| d.is_ascii_digit()))
        );
    }
}
