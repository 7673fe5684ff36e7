//! Authentication: password hashing, access tokens, refresh-token rotation, sessions.
//! Knows nothing of HTTP: the HTTP layer maps `AuthError` to responses.

mod access_token;
mod account_tokens;
mod error;
mod keys;
pub mod mfa;
mod password_hash;
mod principal;
mod refresh_token;
mod sessions;

pub use access_token::{AccessClaims, issue_access_token, verify_access_token};
pub use account_tokens::{
    RESET_PASSWORD_TTL, VERIFY_EMAIL_TTL, account_link, account_token_hash, issue_account_token,
};
pub use error::AuthError;
pub use keys::KeySet;
pub use password_hash::PasswordHasher;
pub use principal::Principal;
pub use refresh_token::RefreshToken;
pub use sessions::{IssuedAccess, IssuedTokens, Sessions, check_verified};
