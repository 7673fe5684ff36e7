//! Single-use tokens mailed to a user (e-mail verification, password reset): 256 random bits,
//! stored only as their SHA-256, sent in a link's fragment so that a mail scanner following the
//! link cannot spend them (the page posts the token).

use std::time::Duration;

use super::RefreshToken;
use crate::domain::User;
use crate::store::{AccountToken, TokenPurpose};

pub const VERIFY_EMAIL_TTL: Duration = Duration::from_secs(24 * 3600);
pub const RESET_PASSWORD_TTL: Duration = Duration::from_secs(30 * 60);

/// A new token for `user`, mailed to `email` (their current address, or for an address change
/// the new one): what to mail, and what to store.
pub fn issue_account_token(
    purpose: TokenPurpose,
    user: &User,
    email: &str,
    now: i64,
) -> (String, AccountToken) {
    let token = RefreshToken::generate();
    let ttl = match purpose {
        TokenPurpose::VerifyEmail | TokenPurpose::ChangeEmail => VERIFY_EMAIL_TTL,
        TokenPurpose::ResetPassword => RESET_PASSWORD_TTL,
        TokenPurpose::EmailLogin => super::EMAIL_LOGIN_TTL,
    };
    let record = AccountToken {
        hash: token.hash(),
        purpose,
        user_id: user.id.clone(),
        email: email.to_owned(),
        generation: user.session_generation,
        created_at: now,
        expires_at: now + ttl.as_millis() as i64,
        code: None,
    };
    (token.expose(), record)
}

/// The stored hash of a token as a user sent it; `None` if it cannot be one of ours.
pub fn account_token_hash(raw: &str) -> Option<String> {
    RefreshToken::parse(raw).map(|t| t.hash())
}

/// The page link that carries `token` in its fragment.
pub fn account_link(base_url: &str, page: &str, token: &str) -> String {
    format!("{}/{page}#token={token}", base_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DisplayName, Email};

    #[test]
    fn tokens_are_stored_hashed_and_travel_in_the_fragment() {
        let user = User::new(
            Email::parse("ada@example.com").unwrap(),
            DisplayName::parse("Ada").unwrap(),
            "hash".into(),
            0,
        );
        let (raw, record) =
            issue_account_token(TokenPurpose::ResetPassword, &user, "ada@example.com", 1_000);
        assert_ne!(raw, record.hash);
        assert_eq!(
            account_token_hash(&raw).as_deref(),
            Some(record.hash.as_str())
        );
        assert_eq!(record.expires_at, 1_000 + 30 * 60 * 1000);
        assert_eq!(account_token_hash("not a token"), None);
        assert_eq!(
            account_link("https://app.example/", "reset-password", &raw),
            format!("https://app.example/reset-password#token={raw}")
        );
    }
}
