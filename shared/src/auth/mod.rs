//! Authentication: password hashing, access tokens, refresh-token rotation, sessions.

mod access_token;
mod keys;
mod password_hash;
mod principal;
mod refresh_token;
mod sessions;

pub use access_token::{AccessClaims, issue_access_token, verify_access_token};
pub use keys::KeySet;
pub use password_hash::{hash_password, verify_password};
pub use principal::{Principal, authenticate, authenticate_optional};
pub use refresh_token::RefreshToken;
pub use sessions::{TokenPair, logout, refresh, start_session};
