//! Authentication: password hashing, access tokens, refresh-token rotation, sessions.
//! Knows nothing of HTTP: the HTTP layer maps `AuthError` to responses.

mod access_token;
mod account_tokens;
mod authentication_claims;
pub mod breached;
mod email_login;
mod error;
mod keys;
pub mod mfa;
pub mod oauth;
mod password_hash;
mod principal;
mod refresh_token;
mod sessions;
#[cfg(test)]
mod token_forgeries;
mod token_header;

pub use access_token::{AccessClaims, issue_access_token, verify_access_token};
pub use account_tokens::{
    RESET_PASSWORD_TTL, VERIFY_EMAIL_TTL, account_link, account_token_hash, issue_account_token,
};
pub use breached::{BreachedPasswords, Refusal};
pub use email_login::{
    EMAIL_LOGIN_TTL, EmailLogin, MAX_MAILED_CODE_TRIES, issue_email_login, mailed_code_matches,
};
pub use error::AuthError;
pub use keys::{KeySet, KeySetDocument, PrivateJwk, PublicJwk, SigningAlg};
pub use password_hash::PasswordHasher;
pub use principal::Principal;
pub use refresh_token::RefreshToken;
pub use sessions::{IssuedAccess, IssuedTokens, LAST_USED_RESOLUTION_MS, Sessions, check_verified};

/// SHA-256, base64url without padding: how a secret or an unbounded id is stored and keyed.
pub fn sha256_b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}
