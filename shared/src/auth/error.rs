use crate::BoxError;
use crate::store::StoreError;

/// Why authentication or a token operation failed. The HTTP layer maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("send `Authorization: Bearer <access token>`")]
    MissingToken,
    #[error("the access token is invalid")]
    InvalidToken,
    #[error("the access token has expired")]
    TokenExpired,
    #[error("the session has ended; log in again")]
    SessionEnded,
    /// `REQUIRE_EMAIL_VERIFICATION` is on and the account's address is not verified yet.
    #[error("verify your e-mail address first: follow the link we mailed you")]
    EmailNotVerified,
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    #[error("this refresh token was already used; the session has been revoked")]
    RefreshTokenReused { user_id: String },
    /// Every password-hashing worker is busy and the queue is full.
    #[error("too many sign-ins at once; retry in a moment")]
    Busy,
    #[error("signing a token")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("hashing a password")]
    Hashing(#[source] BoxError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
